#include "app/statistics_service.hpp"

#include "domain/time_format.hpp"
#include "ports/errors.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <numeric>

namespace tracker::app {

namespace asio = boost::asio;
using domain::kMinuteMs;

StatisticsService::StatisticsService(ports::CounterArchive& archive, ports::LiveCounters& live,
                                     ports::Trends& trends, const RankingBoard& rankings,
                                     StatisticsOptions options, Clock clock, SteadyClock steady_clock)
    : archive_(archive),
      live_(live),
      trends_(trends),
      rankings_(rankings),
      options_(options),
      clock_(std::move(clock)),
      steady_clock_(std::move(steady_clock)) {}

// Whether Redis was read within max_read_span of the PostgreSQL read's start: the start of
// this request's read, or of the original read for a reused reading.
bool StatisticsService::within_span(std::chrono::steady_clock::time_point started,
                                    const ports::ArchiveReading& archived) const {
  auto read_started = std::min(started, archived.read_started.value_or(started));
  return steady_clock_() - read_started <= options_.max_read_span;
}

// values[live_to_value[i]] += live value i, for the live part and every snapshot that the
// PostgreSQL reading does not already contain.
asio::awaitable<std::vector<std::int64_t>> StatisticsService::merge(const ports::ArchiveReading& archived,
                                                                    const ports::LiveReading& live,
                                                                    const std::vector<std::size_t>& live_to_value) {
  std::vector<std::int64_t> values = archived.values;
  auto add = [&](const std::vector<std::int64_t>& part) {
    for (std::size_t i = 0; i < part.size() && i < live_to_value.size(); ++i) values[live_to_value[i]] += part[i];
  };
  add(live.live);
  std::vector<std::string> candidates;
  for (const auto& snapshot : live.snapshots) {
    if (std::any_of(snapshot.values.begin(), snapshot.values.end(), [](std::int64_t v) { return v != 0; })) {
      candidates.push_back(snapshot.flush_id);
    }
  }
  std::vector<std::string> applied = co_await archive_.applied_in(archived.snapshot, candidates);
  for (const auto& snapshot : live.snapshots) {
    if (std::find(applied.begin(), applied.end(), snapshot.flush_id) == applied.end()) add(snapshot.values);
  }
  co_return values;
}

asio::awaitable<std::vector<std::int64_t>> StatisticsService::exact_totals(std::vector<ports::CounterKey> keys) {
  std::vector<std::size_t> identity(keys.size());
  std::iota(identity.begin(), identity.end(), 0);
  for (int attempt = 1;; ++attempt) {
    auto started = steady_clock_();
    auto archived = co_await archive_.totals(keys);
    // Snapshots already in this reading add nothing: Redis need not look them up.
    const std::vector<std::string> skip = archive_.known_applied(archived.snapshot);
    auto live = co_await live_.totals(keys, skip);
    if (within_span(started, archived)) {
      co_return co_await merge(archived, live, identity);
    }
    if (attempt == options_.max_attempts) throw ports::StoreTimeout("statistics read took too long");
  }
}

asio::awaitable<std::vector<std::int64_t>> StatisticsService::exact_buckets(const ports::CounterKey& key,
                                                                            std::int64_t from_ms, std::int64_t to_ms,
                                                                            std::int64_t width_ms) {
  // No bucket: nothing to read (and nothing to divide by). The domain's ranges are never
  // empty; this keeps the readers safe from any other caller.
  if (width_ms <= 0 || to_ms <= from_ms) co_return std::vector<std::int64_t>{};
  // Redis is read over the whole range, in the same buckets: most of its minutes are the
  // last day's, but an UNLIKE takes back a like in that like's minute, however old (the
  // read script looks up only the minutes each hash lists, so a long range costs nothing).
  std::vector<std::size_t> identity(static_cast<std::size_t>((to_ms - from_ms + width_ms - 1) / width_ms));
  std::iota(identity.begin(), identity.end(), 0);
  for (int attempt = 1;; ++attempt) {
    auto started = steady_clock_();
    auto archived = co_await archive_.buckets(key, from_ms, to_ms, width_ms);
    const std::vector<std::string> skip = archive_.known_applied(archived.snapshot);
    auto live = co_await live_.buckets(key, from_ms, to_ms, width_ms, skip);
    if (within_span(started, archived)) {
      co_return co_await merge(archived, live, identity);
    }
    if (attempt == options_.max_attempts) throw ports::StoreTimeout("statistics read took too long");
  }
}

asio::awaitable<std::int64_t> StatisticsService::count(const domain::CountQuery& query) {
  ports::CounterKey key = domain::shape_of(query.filter);
  std::int64_t total = 0;
  if (!query.range) {
    std::vector<ports::CounterKey> keys{key};
    auto totals = co_await exact_totals(std::move(keys));
    total = totals.front();
  } else {
    // One bucket as wide as the range (whole minutes: see domain::CountQuery).
    const auto [from, to] = *query.range;
    auto buckets = co_await exact_buckets(key, from, to, to - from);
    total = buckets.empty() ? 0 : buckets.front();
  }
  // Not clamped at zero: no bucket goes below zero (an UNLIKE takes back only a standing
  // like, in its minute; lua/ingest.lua), and a count must equal the series' sum.
  co_return total;
}

asio::awaitable<std::vector<SeriesPoint>> StatisticsService::series(const domain::SeriesQuery& query) {
  std::int64_t width = domain::interval_ms(query.interval);
  auto values = co_await exact_buckets(domain::shape_of(query.filter), query.from_ms, query.to_ms, width);
  std::vector<SeriesPoint> points;
  points.reserve(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    points.push_back({query.from_ms + static_cast<std::int64_t>(i) * width, values[i]});
  }
  co_return points;
}

asio::awaitable<Standing> StatisticsService::standing(std::string_view ranking, domain::Window window,
                                                      std::size_t limit) {
  auto waited = std::chrono::steady_clock::now();
  for (;;) {
    if (auto standing = rankings_.top(ranking, window, limit)) co_return std::move(*standing);
    // Only right after start-up: the board has not finished its first refresh.
    if (std::chrono::steady_clock::now() - waited >= options_.ranking_wait) {
      throw ports::StoreUnavailable("the rankings are still being computed; retry shortly");
    }
    asio::steady_timer pause(co_await asio::this_coro::executor, std::chrono::milliseconds(20));
    co_await pause.async_wait(asio::use_awaitable);
  }
}

asio::awaitable<Standing> StatisticsService::top_posts(domain::EventType type, domain::Window window,
                                                       std::size_t limit) {
  co_return co_await standing(domain::to_string(type), window, limit);
}

asio::awaitable<Standing> StatisticsService::top_keywords(domain::Window window, std::size_t limit) {
  co_return co_await standing("keywords", window, limit);
}

asio::awaitable<std::int64_t> StatisticsService::unique_users(domain::EventType type, const std::string& day) {
  co_return co_await trends_.unique_users(std::string(domain::to_string(type)), day);
}

asio::awaitable<Summary> StatisticsService::summary() {
  std::vector<ports::CounterKey> keys;
  std::vector<std::string> types;
  for (domain::EventType type : domain::kAllEventTypes) {
    types.emplace_back(domain::to_string(type));
    keys.push_back({types.back(), 0, 0, ""});
  }
  Summary summary;
  auto totals = co_await exact_totals(keys);
  std::int64_t now = clock_();
  // The last complete minute: the current one is still filling.
  auto last_minute = co_await trends_.events_in_minute(types, domain::bucket_start(now, kMinuteMs) - kMinuteMs);
  for (std::size_t i = 0; i < types.size(); ++i) {
    summary.totals.emplace_back(types[i], totals[i]);
    summary.last_minute.emplace_back(types[i], i < last_minute.size() ? last_minute[i] : 0);
  }
  summary.backlog = co_await trends_.backlog();
  co_return summary;
}

}  // namespace tracker::app
