#include "http/statistics_routes.hpp"

#include "domain/time_format.hpp"
#include "http/query.hpp"
#include "http/series_answer.hpp"

#include <boost/json.hpp>

#include <charconv>

namespace tracker::http {

namespace json = boost::json;
using boost::asio::awaitable;

namespace {

// A statistics handler reads only the query parameters.
template <class Body>
Handler statistics_handler(Body body) {
  return [body](const Request& request, const PathParams&) -> awaitable<Response> {
    co_return co_await body(valid_query_params(request));
  };
}

json::array ranked_json(const std::vector<ports::Ranked>& ranked, std::string_view member_name, bool numeric) {
  json::array out;
  for (const auto& item : ranked) {
    json::object entry;
    std::int64_t id = 0;
    auto [end, error] = std::from_chars(item.member.data(), item.member.data() + item.member.size(), id);
    if (numeric && error == std::errc{}) entry[member_name] = id;
    else entry[member_name] = item.member;
    entry["count"] = item.score;
    out.push_back(std::move(entry));
  }
  return out;
}

bool is_day(std::string_view text) {
  return text.size() == 10 && domain::parse_rfc3339_ms(std::string(text) + "T00:00:00Z").has_value();
}

}  // namespace

void add_statistics_routes(Router& router, app::StatisticsService& statistics) {
  using beast_http::verb;

  router.add(verb::get, "/api/statistics", Access::read, statistics_handler([&statistics](domain::QueryParams params) -> awaitable<Response> {
    auto query = domain::parse_count_query(params);
    if (auto* error = std::get_if<domain::FieldError>(&query)) co_return invalid(*error);
    std::int64_t count = co_await statistics.count(std::get<domain::CountQuery>(query));
    co_return json_response(Status::ok, json::object{{"count", count}});
  }));

  router.add(verb::get, "/api/statistics/series", Access::read, statistics_handler([&statistics](domain::QueryParams params) -> awaitable<Response> {
    auto parsed = domain::parse_series_query(params, app::system_now_ms());
    if (auto* error = std::get_if<domain::FieldError>(&parsed)) co_return invalid(*error);
    const auto& query = std::get<domain::SeriesQuery>(parsed);
    auto points = co_await statistics.series(query);
    co_return json_text_response(Status::ok, series_answer(query, points));
  }));

  router.add(verb::get, "/api/statistics/top-posts", Access::read, statistics_handler([&statistics](domain::QueryParams params) -> awaitable<Response> {
    if (auto error = domain::reject_unknown(params, {"eventType", "window", "limit"})) co_return invalid(*error);
    auto type = domain::parse_event_type(params.count("eventType") ? params["eventType"] : "LIKE");
    if (!type || (*type != domain::EventType::Like && *type != domain::EventType::PageView &&
                  *type != domain::EventType::Click)) {
      co_return invalid({"INVALID_VALUE", "eventType must be LIKE, PAGE_VIEW or CLICK", "eventType"});
    }
    auto window = domain::parse_window(params);
    if (auto* error = std::get_if<domain::FieldError>(&window)) co_return invalid(*error);
    auto limit = domain::parse_limit(params, 10, 100);
    if (auto* error = std::get_if<domain::FieldError>(&limit)) co_return invalid(*error);
    auto standing = co_await statistics.top_posts(*type, std::get<domain::Window>(window), std::get<std::size_t>(limit));
    co_return json_response(Status::ok, json::object{{"eventType", domain::to_string(*type)},
                                                     {"window", domain::to_string(std::get<domain::Window>(window))},
                                                     {"asOf", domain::format_rfc3339_ms(standing.as_of_ms)},
                                                     {"posts", ranked_json(standing.members, "postId", true)}});
  }));

  router.add(verb::get, "/api/statistics/keywords", Access::read, statistics_handler([&statistics](domain::QueryParams params) -> awaitable<Response> {
    if (auto error = domain::reject_unknown(params, {"window", "limit"})) co_return invalid(*error);
    auto window = domain::parse_window(params);
    if (auto* error = std::get_if<domain::FieldError>(&window)) co_return invalid(*error);
    auto limit = domain::parse_limit(params, 10, 100);
    if (auto* error = std::get_if<domain::FieldError>(&limit)) co_return invalid(*error);
    auto standing = co_await statistics.top_keywords(std::get<domain::Window>(window), std::get<std::size_t>(limit));
    co_return json_response(Status::ok, json::object{{"window", domain::to_string(std::get<domain::Window>(window))},
                                                     {"asOf", domain::format_rfc3339_ms(standing.as_of_ms)},
                                                     {"keywords", ranked_json(standing.members, "keyword", false)}});
  }));

  router.add(verb::get, "/api/statistics/unique-users", Access::read, statistics_handler([&statistics](domain::QueryParams params) -> awaitable<Response> {
    if (auto error = domain::reject_unknown(params, {"eventType", "date"})) co_return invalid(*error);
    auto type = domain::parse_event_type(params["eventType"]);
    if (!type) co_return invalid({"INVALID_VALUE", "eventType is required and must be a known event type", "eventType"});
    std::string day = params.count("date") ? params["date"] : domain::format_rfc3339_ms(app::system_now_ms()).substr(0, 10);
    if (!is_day(day)) co_return invalid({"INVALID_VALUE", "date must be YYYY-MM-DD", "date"});
    std::int64_t users = co_await statistics.unique_users(*type, day);
    // HyperLogLog in Redis: standard error 0.81 %, kept 40 days.
    co_return json_response(Status::ok, json::object{{"eventType", domain::to_string(*type)},
                                                     {"date", day},
                                                     {"uniqueUsers", users},
                                                     {"approximate", true},
                                                     {"standardError", 0.0081}});
  }));

  router.add(verb::get, "/api/statistics/summary", Access::read, statistics_handler([&statistics](domain::QueryParams params) -> awaitable<Response> {
    if (auto error = domain::reject_unknown(params, {})) co_return invalid(*error);
    auto summary = co_await statistics.summary();
    json::object totals, last_minute;
    std::int64_t all = 0, minute_all = 0;
    for (const auto& [type, count] : summary.totals) {
      totals[type] = count;
      all += count;
    }
    for (const auto& [type, count] : summary.last_minute) {
      last_minute[type] = count;
      minute_all += count;
    }
    co_return json_response(Status::ok, json::object{{"totals", std::move(totals)},
                                                     {"total", all},
                                                     {"lastMinute", std::move(last_minute)},
                                                     {"lastMinuteTotal", minute_all},
                                                     {"pendingPersistence", summary.backlog}});
  }));
}

}  // namespace tracker::http
