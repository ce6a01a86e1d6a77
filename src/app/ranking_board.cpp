#include "app/ranking_board.hpp"

#include "domain/time_format.hpp"

#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <set>

namespace tracker::app {

namespace asio = boost::asio;
using domain::kHourMs;

namespace {
constexpr std::array<domain::Window, 3> kWindowOrder = {domain::Window::Hour, domain::Window::Day,
                                                        domain::Window::Week};
constexpr std::array<std::int64_t, 3> kWholeHours = {1, 24, 168};

std::size_t window_index(domain::Window window) {
  return static_cast<std::size_t>(std::find(kWindowOrder.begin(), kWindowOrder.end(), window) - kWindowOrder.begin());
}
}  // namespace

RankingBoard::RankingBoard(ports::HourlyRankings& source, RankingBoardOptions options,
                           metrics::Registry& metrics, Clock clock)
    : source_(source),
      options_(options),
      clock_(std::move(clock)),
      refreshes_(metrics.counter("tracker_ranking_refreshes_total", "Refreshes of the window rankings")),
      hours_fetched_(metrics.counter("tracker_ranking_hourly_reads_total",
                                     "Hourly rankings read again because their version changed")),
      task_("rankings: refresh", options_.refresh_interval,
            metrics.counter("tracker_ranking_refresh_failures_total",
                            "Refreshes of the window rankings that failed (retried at the next interval)")) {
  for (std::string_view name : kRankings) rankings_.emplace(std::string(name), Ranking{});
}

bool RankingBoard::in_whole_hours(std::size_t window, std::int64_t hour_ms) const {
  return hour_ms < current_hour_ && hour_ms >= current_hour_ - kWholeHours[window] * kHourMs;
}

void RankingBoard::rebuild_sums(Ranking& ranking) const {
  for (std::size_t w = 0; w < kWindows; ++w) {
    ranking.whole_hours[w].clear();
    for (const auto& [hour_ms, hour] : ranking.hours) {
      if (in_whole_hours(w, hour_ms)) ranking.whole_hours[w].add(hour.members);
    }
  }
}

void RankingBoard::change_hour(Ranking& ranking, std::int64_t hour_ms, Hour fresh) {
  Hour& kept = ranking.hours[hour_ms];
  for (std::size_t w = 0; w < kWindows; ++w) {
    if (!in_whole_hours(w, hour_ms)) continue;
    ranking.whole_hours[w].subtract(kept.members);
    ranking.whole_hours[w].add(fresh.members);
  }
  kept = std::move(fresh);
}

asio::awaitable<void> RankingBoard::refresh() {
  std::int64_t now = clock_();
  std::int64_t current = domain::bucket_start(now, kHourMs);
  std::int64_t oldest = current - kWholeHours.back() * kHourMs;

  std::vector<ports::RankingHourVersion> versions = co_await source_.versions();
  std::vector<ports::RankingHour> outdated;
  std::vector<ports::RankingHour> wanted;
  std::vector<std::int64_t> wanted_versions;
  std::set<std::pair<std::string_view, std::int64_t>> present;
  for (const auto& [hour, version] : versions) {
    auto ranking = rankings_.find(hour.ranking);
    if (ranking == rankings_.end()) continue;
    if (hour.hour_ms < oldest) {
      outdated.push_back(hour);
      continue;
    }
    if (hour.hour_ms > current) continue;  // a few minutes ahead: read once it is current
    present.emplace(ranking->first, hour.hour_ms);
    auto kept = ranking->second.hours.find(hour.hour_ms);
    if (kept == ranking->second.hours.end() || kept->second.version != version) {
      wanted.push_back(hour);
      wanted_versions.push_back(version);
    }
  }
  co_await source_.forget(outdated);
  // The versions were read first: a change made after that is seen at the next refresh.
  std::vector<std::vector<domain::Ranked>> fetched = co_await source_.members(wanted);
  hours_fetched_.inc(wanted.size());

  bool window_moved = current != current_hour_;
  current_hour_ = current;
  for (auto& [name, ranking] : rankings_) {
    // Hours that left every window, or whose ranking is gone from Redis, are dropped.
    bool dropped = false;
    for (auto it = ranking.hours.begin(); it != ranking.hours.end();) {
      if (it->first < oldest || !present.contains({name, it->first})) {
        it = ranking.hours.erase(it);
        dropped = true;
      } else {
        ++it;
      }
    }
    if (window_moved || dropped) rebuild_sums(ranking);
  }
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    Ranking& ranking = rankings_.find(wanted[i].ranking)->second;
    change_hour(ranking, wanted[i].hour_ms, Hour{wanted_versions[i], std::move(fetched[i])});
  }

  auto published = std::make_shared<Published>();
  published->as_of_ms = now;
  for (auto& [name, ranking] : rankings_) {
    auto current_hour = ranking.hours.find(current);
    std::span<const domain::Ranked> partial;
    if (current_hour != ranking.hours.end()) partial = current_hour->second.members;
    for (std::size_t w = 0; w < kWindows; ++w) {
      published->standings.emplace(std::make_pair(name, w), ranking.whole_hours[w].best_with(partial, options_.max_limit));
    }
  }
  {
    std::lock_guard lock(published_mutex_);
    published_ = std::move(published);
  }
  refreshes_.inc();
}

asio::awaitable<void> RankingBoard::run() {
  co_await task_.run([this] { return refresh(); });
}

void RankingBoard::stop() { task_.stop(); }

std::optional<Standing> RankingBoard::top(std::string_view ranking, domain::Window window, std::size_t limit) const {
  std::shared_ptr<const Published> published;
  {
    std::lock_guard lock(published_mutex_);
    published = published_;
  }
  if (!published) return std::nullopt;
  Standing standing;
  standing.as_of_ms = published->as_of_ms;
  auto found = published->standings.find(std::make_pair(std::string(ranking), window_index(window)));
  if (found != published->standings.end()) {
    const auto& members = found->second;
    standing.members.assign(members.begin(), members.begin() + static_cast<std::ptrdiff_t>(std::min(limit, members.size())));
  }
  return standing;
}

}  // namespace tracker::app
