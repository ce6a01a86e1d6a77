#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

// Redis key layout, shared by the Lua scripts (which spell the same names) and the C++
// adapters. Everything lives under the "et:" prefix.
namespace tracker::redis::keys {

inline constexpr std::string_view kStream = "et:stream";          // durable event buffer
inline constexpr std::string_view kStreamGroup = "flusher";       // its consumer group
inline constexpr std::string_view kBacklog = "et:backlog";        // events in the stream
inline constexpr std::string_view kInstance = "et:instance";      // this data set's random id
// Fields: domain::shape_field ("TYPE|comp|post|kw", '*' = any) and domain::minute_field.
inline constexpr std::string_view kLiveTotals = "et:totals:live";   // TYPE|comp|post|kw, '*' = any
inline constexpr std::string_view kLiveMinutes = "et:minutes:live"; // TYPE|comp|post|kw|minute_ms
inline constexpr std::string_view kSnapshots = "et:snapshots";      // ids of snapshots not yet dropped
// The minutes (minute_ms) that et:minutes:live has fields for, so that a read of a range
// looks up only those; a snapshot renames it with the minute hash.
inline constexpr std::string_view kLiveMinuteIndex = "et:minute-index:live";

// Hourly rankings: posts by event type (et:top:TYPE:hour_ms) and searched keywords
// (et:kw:hour_ms), and a change counter per ranking hour, keyed by the ranking's key.
inline constexpr std::string_view kRankingVersions = "et:rankings:versions";
inline constexpr std::string_view kKeywordRanking = "keywords";
inline std::string ranking_hour(std::string_view ranking, std::int64_t hour_ms) {
  if (ranking == kKeywordRanking) return "et:kw:" + std::to_string(hour_ms);
  return "et:top:" + std::string(ranking) + ":" + std::to_string(hour_ms);
}

inline std::string snapshot_totals(std::string_view flush_id) {
  return "et:totals:snap:" + std::string(flush_id);
}
inline std::string snapshot_minutes(std::string_view flush_id) {
  return "et:minutes:snap:" + std::string(flush_id);
}
inline std::string snapshot_minute_index(std::string_view flush_id) {
  return "et:minute-index:snap:" + std::string(flush_id);
}
// Written by the ingest script under names the server makes: events per type and minute
// (a counter), unique users per type and UTC day (YYYY-MM-DD, a HyperLogLog), and a post's
// standing likes (the minutes they count in; `post` is '' for a like without one).
inline std::string minute_count(std::string_view type, std::int64_t minute_ms) {
  return "et:rt:" + std::string(type) + ":" + std::to_string(minute_ms);
}
inline std::string unique_users(std::string_view type, std::string_view day) {
  return "et:uu:" + std::string(type) + ":" + std::string(day);
}
inline std::string standing_likes(std::int64_t component_id, std::string_view post) {
  return "et:liked:" + std::to_string(component_id) + ":" + std::string(post);
}
// + a client eventId: the id first stored under it (the ingest script makes this name).
inline constexpr std::string_view kDedupPrefix = "et:dedup:";
inline std::string dedup(std::string_view client_event_id) {
  return std::string(kDedupPrefix) + std::string(client_event_id);
}
inline std::string recent_keywords(std::int64_t user_id) {
  return "et:recent:" + std::to_string(user_id);
}
// A cached hashtag search result (up to `limit` posts) and the lock of its rebuild.
inline std::string search_result(std::size_t limit, std::string_view keyword) {
  return "et:search:" + std::to_string(limit) + ":" + std::string(keyword);
}
inline std::string search_lock(std::size_t limit, std::string_view keyword) {
  return "et:search-lock:" + std::to_string(limit) + ":" + std::string(keyword);
}

// A rate limit's token bucket (lua/rate_limit.lua): its TAT, expiring once the bucket is full.
inline std::string rate_bucket(std::string_view bucket) { return "et:rl:" + std::string(bucket); }

}  // namespace tracker::redis::keys
