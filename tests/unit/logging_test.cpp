#include "metrics/logging.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

namespace {

using namespace tracker::metrics;

TEST(LoggingTest, EscapesWhatAJsonStringCannotHoldAndKeepsUtf8) {
  std::string out;
  append_json_escaped(out, std::string("a\"b\\c\nd\te\x01\x7f", 12) + "\xC3\xA9");
  EXPECT_EQ(out, "a\\\"b\\\\c\\nd\\te\\u0001\\u007f\\u0000\xC3\xA9");
}

TEST(LoggingTest, JsonFormatWritesOneParsableObjectPerLine) {
  std::ostringstream lines;
  auto previous = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>("json-test", std::make_shared<spdlog::sinks::ostream_sink_mt>(lines));
  spdlog::set_default_logger(logger);
  configure_logging("info", LogFormat::Json);
  spdlog::info("request \"{}\" failed:\n{}", "/api/x?q=\"", "line two");
  spdlog::debug("below the level");
  spdlog::set_default_logger(previous);

  std::string text = lines.str();
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  auto line = boost::json::parse(text).as_object();
  EXPECT_EQ(line.at("level").as_string(), "info");
  EXPECT_EQ(line.at("message").as_string(), "request \"/api/x?q=\"\" failed:\nline two");
  std::string time(line.at("time").as_string());
  ASSERT_EQ(time.size(), 24u) << time;
  EXPECT_EQ(time[10], 'T');
  EXPECT_EQ(time.back(), 'Z');
  EXPECT_TRUE(line.at("thread").is_int64());
}

TEST(LoggingTest, FieldsGoUnderFieldsInJsonAndAfterTheMessageInText) {
  std::ostringstream lines;
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(
      std::make_shared<spdlog::logger>("fields-test", std::make_shared<spdlog::sinks::ostream_sink_mt>(lines)));
  const LogField fields[] = {{"target", "/a?b=\"c\""}, {"status", "202", true}};
  configure_logging("info", LogFormat::Json);
  log_with_fields("access", fields);
  spdlog::info("no fields");
  configure_logging("info", LogFormat::Text);
  spdlog::set_pattern("%v");
  log_with_fields("access", fields);
  spdlog::set_default_logger(previous);

  std::istringstream in(lines.str());
  std::string first, second, third;
  std::getline(in, first);
  std::getline(in, second);
  std::getline(in, third);
  auto with = boost::json::parse(first).as_object();
  EXPECT_EQ(with.at("message").as_string(), "access");
  EXPECT_EQ(with.at("fields").at("target").as_string(), "/a?b=\"c\"");
  EXPECT_EQ(with.at("fields").at("status").as_int64(), 202);
  EXPECT_FALSE(boost::json::parse(second).as_object().contains("fields"));
  EXPECT_EQ(third, "access target=/a?b=\"c\" status=202");
}

TEST(LoggingTest, OnlyTextAndJsonAreFormats) {
  EXPECT_EQ(parse_log_format("text"), LogFormat::Text);
  EXPECT_EQ(parse_log_format("json"), LogFormat::Json);
  EXPECT_THROW(parse_log_format("JSON "), std::invalid_argument);
}

}  // namespace
