#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

// Redis key layout, shared by the Lua scripts (which get every name they touch through
// KEYS or ARGV, made here) and the C++ adapters. Everything lives under the "et:" prefix.
//
// The data is spread over N logical shards (redis/shards.hpp picks an event's shard).
// Every key written per event carries its shard's hash tag "{<shard>}": Redis Cluster
// puts all keys of one tag in one slot, so one script call, which touches one shard's
// keys only, is routed by its first key and runs on one node. Keys that are read or
// written one per command (search cache, rate-limit buckets, et:instance) carry no shard.
namespace tracker::redis::keys {

// "{<shard>}": the hash tag of a shard's keys.
inline std::string shard_tag(std::uint32_t shard) {
  std::string tag = "{";  // appended, not "{" + ...: GCC 12 warns (-Wrestrict) on that falsely
  tag += std::to_string(shard);
  tag += '}';
  return tag;
}
inline std::string tagged(std::string_view tag, std::string_view name) {
  std::string key = "et:";
  key += tag;
  key += ':';
  key += name;
  return key;
}

// Per shard: the durable event buffer, its consumer group and its length in events.
inline std::string stream(std::string_view tag) { return tagged(tag, "stream"); }
inline constexpr std::string_view kStreamGroup = "flusher";
inline std::string backlog(std::string_view tag) { return tagged(tag, "backlog"); }
inline constexpr std::string_view kInstance = "et:instance";  // this data set's random id
// The name of a data set's backlog in PostgreSQL ("et:stream@<instance id>"), which keeps
// a mark per (that name, shard).
inline constexpr std::string_view kBacklogSource = "et:stream";

// Per shard, live counters. Fields: domain::shape_field ("TYPE|comp|post|kw", '*' = any)
// and domain::minute_field (TYPE|comp|post|kw|minute_ms).
inline std::string live_totals(std::string_view tag) { return tagged(tag, "totals:live"); }
inline std::string live_minutes(std::string_view tag) { return tagged(tag, "minutes:live"); }
// The minutes (minute_ms) that the live minute hash has fields for, so that a read of a
// range looks up only those; a snapshot renames it with the minute hash.
inline std::string live_minute_index(std::string_view tag) { return tagged(tag, "minute-index:live"); }
// Ids of the shard's snapshots not yet dropped (flush ids name their shard: unique over all).
inline std::string snapshots(std::string_view tag) { return tagged(tag, "snapshots"); }
// A snapshot's keys are these prefixes + its flush id.
inline std::string snapshot_totals_prefix(std::string_view tag) { return tagged(tag, "totals:snap:"); }
inline std::string snapshot_minutes_prefix(std::string_view tag) { return tagged(tag, "minutes:snap:"); }
inline std::string snapshot_minute_index_prefix(std::string_view tag) { return tagged(tag, "minute-index:snap:"); }
inline std::string snapshot_totals(std::string_view tag, std::string_view flush_id) {
  return snapshot_totals_prefix(tag) + std::string(flush_id);
}
inline std::string snapshot_minutes(std::string_view tag, std::string_view flush_id) {
  return snapshot_minutes_prefix(tag) + std::string(flush_id);
}
inline std::string snapshot_minute_index(std::string_view tag, std::string_view flush_id) {
  return snapshot_minute_index_prefix(tag) + std::string(flush_id);
}

// Per shard, hourly rankings: posts by event type (et:{s}:top:TYPE:hour_ms) and searched
// keywords (et:{s}:kw:hour_ms), and a change counter per ranking hour, keyed by the
// ranking's key.
inline std::string ranking_versions(std::string_view tag) { return tagged(tag, "rankings:versions"); }
inline constexpr std::string_view kKeywordRanking = "keywords";
inline std::string ranking_hour_field(std::string_view ranking, std::int64_t hour_ms) {
  if (ranking == kKeywordRanking) return "kw:" + std::to_string(hour_ms);
  return "top:" + std::string(ranking) + ":" + std::to_string(hour_ms);
}
inline std::string ranking_hour(std::string_view tag, std::string_view ranking, std::int64_t hour_ms) {
  return tagged(tag, ranking_hour_field(ranking, hour_ms));
}

// Written by the ingest script under names the server makes: events per type and minute
// (a counter), unique users per type and UTC day (YYYY-MM-DD, a HyperLogLog; users are
// disjoint across shards), and a post's standing likes in the shard (the minutes they
// count in; `post` is '' for a like without one).
inline std::string minute_count(std::string_view tag, std::string_view type, std::int64_t minute_ms) {
  return tagged(tag, "rt:" + std::string(type) + ":" + std::to_string(minute_ms));
}
inline std::string unique_users(std::string_view tag, std::string_view type, std::string_view day) {
  return tagged(tag, "uu:" + std::string(type) + ":" + std::string(day));
}
inline std::string standing_likes(std::string_view tag, std::int64_t component_id, std::string_view post) {
  return tagged(tag, "liked:" + std::to_string(component_id) + ":" + std::string(post));
}
// + a client eventId: the id first stored under it (the ingest script makes this name).
inline std::string dedup_prefix(std::string_view tag) { return tagged(tag, "dedup:"); }
inline std::string dedup(std::string_view tag, std::string_view client_event_id) {
  return dedup_prefix(tag) + std::string(client_event_id);
}
// In the user's shard (shards::of_user), where every server finds it.
inline std::string recent_keywords(std::string_view tag, std::int64_t user_id) {
  return tagged(tag, "recent:" + std::to_string(user_id));
}

// A cached hashtag search result (up to `limit` posts) and the lock of its rebuild: one
// hash tag for both, as lua/store_search.lua touches both.
inline std::string search_result(std::size_t limit, std::string_view keyword) {
  return "et:search:{" + std::to_string(limit) + ":" + std::string(keyword) + "}";
}
inline std::string search_lock(std::size_t limit, std::string_view keyword) {
  return "et:search-lock:{" + std::to_string(limit) + ":" + std::string(keyword) + "}";
}

// A rate limit's token bucket (lua/rate_limit.lua): its TAT, expiring once the bucket is full.
// All buckets share one hash tag: the limiter decides a loop turn's requests, with all of
// their buckets, in one script call, which a Redis Cluster allows only within one slot.
inline std::string rate_bucket(std::string_view bucket) { return "et:rl:{rl}:" + std::string(bucket); }

// The names before shards (one data set, no tags). A server on a single Redis moves what
// it finds under them into its shards at start (redis/layout_upgrade.hpp).
namespace legacy {
inline constexpr std::string_view kStream = "et:stream";
inline constexpr std::string_view kBacklog = "et:backlog";
inline constexpr std::string_view kLiveTotals = "et:totals:live";
inline constexpr std::string_view kLiveMinutes = "et:minutes:live";
inline constexpr std::string_view kLiveMinuteIndex = "et:minute-index:live";
inline constexpr std::string_view kSnapshots = "et:snapshots";
inline constexpr std::string_view kRankingVersions = "et:rankings:versions";
inline constexpr std::string_view kSnapshotTotalsPrefix = "et:totals:snap:";
inline constexpr std::string_view kSnapshotMinutesPrefix = "et:minutes:snap:";
inline constexpr std::string_view kSnapshotMinuteIndexPrefix = "et:minute-index:snap:";
// Set while an upgrade is under way, so that one interrupted is finished at the next start.
inline constexpr std::string_view kUpgradeUnderWay = "et:layout-upgrade";
// Per-event keys "et:<kind>:..." of these kinds.
inline constexpr std::string_view kPerEventKinds[] = {"rt", "uu", "liked", "dedup", "recent", "top", "kw"};
}  // namespace legacy

}  // namespace tracker::redis::keys
