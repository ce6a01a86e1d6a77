#include "redis/hourly_rankings.hpp"

#include "ports/errors.hpp"
#include "redis/keys.hpp"

#include <algorithm>
#include <charconv>
#include <unordered_map>
#include <cmath>
#include <optional>

namespace tracker::redis {

namespace {

// The ranking hour a key of keys::ranking_hour() names; nullopt for anything else. Keys
// written before shards (no "{<shard>}:" after "et:") are understood too.
std::optional<ports::RankingHour> parse_ranking_key(std::string_view key) {
  if (!key.starts_with("et:")) return std::nullopt;
  key.remove_prefix(3);
  if (key.starts_with('{')) {
    auto end = key.find("}:");
    if (end == std::string_view::npos) return std::nullopt;
    key.remove_prefix(end + 2);
  }
  std::string ranking;
  std::string_view hour;
  if (key.starts_with("kw:")) {
    ranking = keys::kKeywordRanking;
    hour = key.substr(3);
  } else if (key.starts_with("top:")) {
    std::string_view rest = key.substr(4);
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

HourlyRankings::HourlyRankings(std::shared_ptr<Commands> connection, milliseconds timeout, Shards shards)
    : connection_(std::move(connection)), timeout_(timeout), shards_(std::move(shards)) {}

asio::awaitable<std::vector<ports::RankingHourVersion>> HourlyRankings::versions() {
  std::vector<ports::RankingHourVersion> versions;
  for (const std::string& tag : shards_.tags()) {
    std::string versions_key = keys::ranking_versions(tag);
    const std::string_view command[] = {"HGETALL", versions_key};
    Reply reply = co_await connection_->execute(command, timeout_);
    for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
      auto hour = parse_ranking_key(reply.elements[i].text);
      if (!hour) continue;
      const std::int64_t version = reply.elements[i + 1].as_int();
      auto known = std::find_if(versions.begin(), versions.end(), [&](const auto& v) { return v.hour == *hour; });
      if (known == versions.end()) versions.push_back({std::move(*hour), version});
      else known->version += version;
    }
  }
  co_return versions;
}

asio::awaitable<std::vector<std::vector<domain::Ranked>>> HourlyRankings::members(
    std::span<const ports::RankingHour> hours) {
  std::vector<std::vector<domain::Ranked>> all;
  all.reserve(hours.size());
  for (const ports::RankingHour& hour : hours) {
    std::vector<domain::Ranked> members;
    std::unordered_map<std::string, std::size_t> at;  // member -> its place in `members`
    for (const std::string& tag : shards_.tags()) {
      std::string key = keys::ranking_hour(tag, hour.ranking, hour.hour_ms);
      const std::string_view command[] = {"ZRANGE", key, "0", "-1", "WITHSCORES"};
      Reply reply = co_await connection_->execute(command, timeout_);
      for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
        // Scores are sums of +1/-1 increments, so always whole numbers.
        const std::string& text = reply.elements[i + 1].text;
        double score = 0;
        auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), score);
        if (error != std::errc{} || end != text.data() + text.size() || !std::isfinite(score)) {
          throw ports::StoreRejected("redis: a ranking score is not a number: '" + text.substr(0, 64) + "'");
        }
        const auto count = static_cast<std::int64_t>(std::llround(score));
        auto [place, added] = at.try_emplace(reply.elements[i].text, members.size());
        if (added) members.push_back({std::move(reply.elements[i].text), count});
        else members[place->second].score += count;
      }
    }
    all.push_back(std::move(members));
  }
  co_return all;
}

asio::awaitable<void> HourlyRankings::forget(std::span<const ports::RankingHour> hours) {
  if (hours.empty()) co_return;
  for (const std::string& tag : shards_.tags()) {
    std::vector<std::string> fields;
    fields.reserve(hours.size());
    for (const auto& hour : hours) fields.push_back(keys::ranking_hour(tag, hour.ranking, hour.hour_ms));
    std::string versions_key = keys::ranking_versions(tag);
    std::vector<std::string_view> command{"HDEL", versions_key};
    command.insert(command.end(), fields.begin(), fields.end());
    co_await connection_->execute(command, timeout_);
  }
}

}  // namespace tracker::redis
