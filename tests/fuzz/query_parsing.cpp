// Query parsing of the statistics, search and posts endpoints: a whole request target,
// decoded by Boost.URL as the server does (http::query_params), through every domain
// parser of query parameters. Each one answers a FieldError or a query within its rules.
#include "domain/post.hpp"
#include "domain/statistics_query.hpp"
#include "domain/time_format.hpp"
#include "fuzz_check.hpp"
#include "http/query.hpp"

#include <boost/url/parse.hpp>

#include <cstddef>
#include <cstdint>

namespace {

using namespace tracker::domain;
using tracker::fuzz::normal_form;
using tracker::fuzz::kNowMs;

void check_error(const FieldError& error) {
  FUZZ_CHECK(!error.code.empty());
  FUZZ_CHECK(!error.message.empty());
  FUZZ_CHECK(error.field.size() <= 64);
}

template <class T, class Check>
void check(const std::variant<T, FieldError>& result, Check check_value) {
  if (const auto* value = std::get_if<T>(&result)) check_value(*value);
  else check_error(std::get<FieldError>(result));
}

void check_filter(const CounterFilter& filter) {
  FUZZ_CHECK(!filter.component_id || *filter.component_id >= 1);
  FUZZ_CHECK(!filter.post_id || *filter.post_id >= 1);
  FUZZ_CHECK(!filter.keyword || filter.keyword->find_first_not_of(" \t") != std::string::npos);
}

void parse_all(const QueryParams& params) {
  check(parse_count_query(params), [](const CountQuery& query) {
    check_filter(query.filter);
    FUZZ_CHECK(query.filter.component_id);
    FUZZ_CHECK(!requires_post_id(query.filter.type) || query.filter.post_id);
    FUZZ_CHECK(!requires_keyword(query.filter.type) || query.filter.keyword);
    if (query.range) {
      constexpr std::int64_t minute = 60'000;
      FUZZ_CHECK(query.range->from_ms < query.range->to_ms);
      FUZZ_CHECK(query.range->from_ms % minute == 0 && query.range->to_ms % minute == 0);
      FUZZ_CHECK(query.range->from_ms >= kEarliestMs && query.range->to_ms <= kLatestMs + 1);
    }
  });
  check(parse_series_query(params, kNowMs), [](const SeriesQuery& query) {
    check_filter(query.filter);
    std::int64_t width = interval_ms(query.interval);
    FUZZ_CHECK(query.from_ms < query.to_ms);
    FUZZ_CHECK(query.from_ms % width == 0 && query.to_ms % width == 0);
    FUZZ_CHECK((query.to_ms - query.from_ms) / width <= static_cast<std::int64_t>(kMaxSeriesBuckets));
  });
  check(parse_window(params), [](Window window) {
    FUZZ_CHECK(window_hours(window, kNowMs).size() <= 169);
  });
  check(parse_limit(params, 10, 100), [](std::size_t limit) { FUZZ_CHECK(limit >= 1 && limit <= 100); });
  check(parse_search_query(params), [](const SearchQuery& query) {
    FUZZ_CHECK(query.limit >= 1 && query.limit <= kMaxSearchLimit);
    FUZZ_CHECK(!query.user_id || *query.user_id >= 1);
    FUZZ_CHECK(normal_form(query.keyword));
  });
  if (auto error = reject_unknown(params, {"eventType", "window", "limit", "date"})) check_error(*error);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto text = tracker::fuzz::as_text(data, size);
  auto target = boost::urls::parse_origin_form(text);
  if (!target) return -1;  // the router answers 400 BAD_TARGET

  tracker::http::Request request{tracker::http::beast_http::verb::get, text, 11};
  auto params = tracker::http::query_params(request);
  if (auto* error = std::get_if<tracker::domain::FieldError>(&params)) {
    check_error(*error);
  } else {
    // Only valid UTF-8 without control characters gets past the decoding.
    for (const auto& [name, value] : std::get<tracker::domain::QueryParams>(params)) {
      FUZZ_CHECK(tracker::fuzz::valid_utf8(name) && tracker::fuzz::valid_utf8(value));
    }
    parse_all(std::get<tracker::domain::QueryParams>(params));
  }

  // Path segments holding ids (/api/posts/{postId}, /api/search/recent/{userId}).
  for (auto segment : target->segments()) {
    if (auto id = parse_id(segment)) FUZZ_CHECK(*id >= 1);
  }
  return 0;
}
