#include "app/periodic_task.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

namespace {

namespace asio = boost::asio;
using tracker::app::PeriodicTask;

// Captures what spdlog's default logger writes while it lives.
class CapturedLog {
 public:
  CapturedLog() : previous_(spdlog::default_logger()) {
    auto logger = std::make_shared<spdlog::logger>("captured", std::make_shared<spdlog::sinks::ostream_sink_mt>(out_));
    logger->set_pattern("%l %v");
    logger->set_level(spdlog::level::info);
    spdlog::set_default_logger(logger);
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  std::string text() const { return out_.str(); }
  std::size_t count(const std::string& needle) const {
    std::size_t n = 0;
    std::string all = text();
    for (auto at = all.find(needle); at != std::string::npos; at = all.find(needle, at + 1)) ++n;
    return n;
  }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

// Rounds fail `failing` times, then succeed; the task stops after `rounds` rounds.
void run_rounds(PeriodicTask& task, int failing, int rounds) {
  asio::io_context io;
  int round = 0;
  asio::co_spawn(io, task.run([&]() -> asio::awaitable<void> {
    ++round;
    if (round >= rounds) task.stop();
    if (round <= failing) throw std::runtime_error("store down");
    co_return;
  }), asio::detached);
  io.run();
}

TEST(PeriodicTaskTest, LogsTheFirstFailureOfARunAndTheRecoveryNotEveryRound) {
  tracker::metrics::Registry metrics;
  auto& failures = metrics.counter("test_failures_total", "failed rounds");
  PeriodicTask task("keys: refresh", std::chrono::milliseconds(1), failures);
  CapturedLog log;
  run_rounds(task, 40, 45);
  EXPECT_EQ(failures.value(), 40u);
  // 40 failures within well under kFailureLogInterval: one line, not forty.
  EXPECT_EQ(log.count("keys: refresh failed (store down)"), 1u) << log.text();
  EXPECT_EQ(log.count("keys: refresh works again after 40 failed rounds"), 1u) << log.text();
}

TEST(PeriodicTaskTest, ANewRunOfFailuresIsLoggedAgain) {
  tracker::metrics::Registry metrics;
  auto& failures = metrics.counter("test_failures_total", "failed rounds");
  PeriodicTask task("rankings: refresh", std::chrono::milliseconds(1), failures);
  CapturedLog log;
  asio::io_context io;
  int round = 0;
  // Fails in rounds 1-3 and 6-7, succeeds otherwise, stops after round 9.
  asio::co_spawn(io, task.run([&]() -> asio::awaitable<void> {
    ++round;
    if (round >= 9) task.stop();
    if (round <= 3 || round == 6 || round == 7) throw std::runtime_error("timeout");
    co_return;
  }), asio::detached);
  io.run();
  EXPECT_EQ(failures.value(), 5u);
  EXPECT_EQ(log.count("rankings: refresh failed (timeout)"), 2u) << log.text();
  EXPECT_EQ(log.count("works again after 3 failed rounds"), 1u) << log.text();
  EXPECT_EQ(log.count("works again after 2 failed rounds"), 1u) << log.text();
}

}  // namespace
