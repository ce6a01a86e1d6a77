#include "redis/hourly_rankings.hpp"

#include "ports/errors.hpp"
#include "redis/keys.hpp"

#include <charconv>
#include <cmath>
#include <optional>

namespace tracker::redis {

namespace {

// The ranking hour a key of keys::ranking_hour() names; nullopt for anything else.
std::optional<ports::RankingHour> parse_ranking_key(std::string_view key) {
  std::string ranking;
  std::string_view hour;
  if (key.starts_with("et:kw:")) {
    ranking = keys::kKeywordRanking;
    hour = key.substr(6);
  } else if (key.starts_with("et:top:")) {
    std::string_view rest = key.substr(7);
    auto colon = rest.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    ranking = rest.substr(0, colon);
    hour = rest.substr(colon + 1);
  } else {
    return std::nullopt;
  }
  std::int64_t hour_ms = 0;
  auto [end, error] = std::from_chars(hour.data(), hour.data() + hour.size(), hour_ms);
  if (error != std::errc{} || end != hour.data() + hour.size()) return std::nullopt;
  return ports::RankingHour{std::move(ranking), hour_ms};
}

}  // namespace

HourlyRankings::HourlyRankings(std::shared_ptr<Commands> connection, milliseconds timeout)
    : connection_(std::move(connection)), timeout_(timeout) {}

asio::awaitable<std::vector<ports::RankingHourVersion>> HourlyRankings::versions() {
  const std::string_view command[] = {"HGETALL", keys::kRankingVersions};
  Reply reply = co_await connection_->execute(command, timeout_);
  std::vector<ports::RankingHourVersion> versions;
  versions.reserve(reply.elements.size() / 2);
  for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    auto hour = parse_ranking_key(reply.elements[i].text);
    if (hour) versions.push_back({std::move(*hour), reply.elements[i + 1].as_int()});
  }
  co_return versions;
}

asio::awaitable<std::vector<std::vector<domain::Ranked>>> HourlyRankings::members(
    std::span<const ports::RankingHour> hours) {
  std::vector<std::vector<domain::Ranked>> all;
  all.reserve(hours.size());
  for (const ports::RankingHour& hour : hours) {
    std::string key = keys::ranking_hour(hour.ranking, hour.hour_ms);
    const std::string_view command[] = {"ZRANGE", key, "0", "-1", "WITHSCORES"};
    Reply reply = co_await connection_->execute(command, timeout_);
    std::vector<domain::Ranked> members;
    members.reserve(reply.elements.size() / 2);
    for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
      // Scores are sums of +1/-1 increments, so always whole numbers.
      const std::string& text = reply.elements[i + 1].text;
      double score = 0;
      auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), score);
      if (error != std::errc{} || end != text.data() + text.size() || !std::isfinite(score)) {
        throw ports::StoreRejected("redis: a ranking score is not a number: '" + text.substr(0, 64) + "'");
      }
      members.push_back({std::move(reply.elements[i].text), static_cast<std::int64_t>(std::llround(score))});
    }
    all.push_back(std::move(members));
  }
  co_return all;
}

asio::awaitable<void> HourlyRankings::forget(std::span<const ports::RankingHour> hours) {
  if (hours.empty()) co_return;
  std::vector<std::string> fields;
  fields.reserve(hours.size());
  for (const auto& hour : hours) fields.push_back(keys::ranking_hour(hour.ranking, hour.hour_ms));
  std::vector<std::string_view> command{"HDEL", keys::kRankingVersions};
  command.insert(command.end(), fields.begin(), fields.end());
  co_await connection_->execute(command, timeout_);
}

}  // namespace tracker::redis
