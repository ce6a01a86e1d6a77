#include "redis/layout_upgrade.hpp"

#include "redis/keys.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <iterator>

namespace tracker::redis {

namespace {

// RENAMENX; true when moved. A key whose new name is taken stays, and is reported.
asio::awaitable<bool> move(Commands& redis, const std::string& from, const std::string& to, milliseconds timeout) {
  const std::string_view exists[] = {"EXISTS", from};
  if ((co_await redis.execute(exists, timeout)).as_int() == 0) co_return false;
  const std::string_view rename[] = {"RENAMENX", from, to};
  if ((co_await redis.execute(rename, timeout)).as_int() == 1) co_return true;
  spdlog::error("layout upgrade: {} stays where it is: {} exists already (see docs/DESIGN.md, \"Shards\")", from, to);
  co_return false;
}

// "et:<rest>" -> "et:<tag>:<rest>".
std::string in_shard(std::string_view tag, std::string_view legacy_key) {
  return keys::tagged(tag, legacy_key.substr(3));
}

}  // namespace

asio::awaitable<std::size_t> upgrade_layout(Commands& redis, const Shards& shards, milliseconds timeout) {
  const std::string& first = shards.tag(0);
  // A data set of the old layout always has et:stream and et:backlog (never deleted); the
  // marker stays from the start of an upgrade to its end. Neither: nothing to scan for.
  const std::string_view probe[] = {"EXISTS",
                                    keys::legacy::kStream,
                                    keys::legacy::kBacklog,
                                    keys::legacy::kLiveTotals,
                                    keys::legacy::kSnapshots,
                                    keys::legacy::kRankingVersions,
                                    keys::legacy::kUpgradeUnderWay};
  if ((co_await redis.execute(probe, timeout)).as_int() == 0) co_return 0;
  const std::string_view begin[] = {"SET", keys::legacy::kUpgradeUnderWay, "1"};
  co_await redis.execute(begin, timeout);
  std::size_t moved = 0;
  // Snapshots: their hashes before the list of ids, so that a reader never finds an id
  // whose hashes are not there.
  const std::string legacy_snapshots(keys::legacy::kSnapshots);
  const std::string_view list[] = {"ZRANGE", legacy_snapshots, "0", "-1"};
  for (const Reply& id : (co_await redis.execute(list, timeout)).elements) {
    const std::string& flush_id = id.text;
    moved += co_await move(redis, std::string(keys::legacy::kSnapshotTotalsPrefix) + flush_id,
                           keys::snapshot_totals(first, flush_id), timeout);
    moved += co_await move(redis, std::string(keys::legacy::kSnapshotMinutesPrefix) + flush_id,
                           keys::snapshot_minutes(first, flush_id), timeout);
    moved += co_await move(redis, std::string(keys::legacy::kSnapshotMinuteIndexPrefix) + flush_id,
                           keys::snapshot_minute_index(first, flush_id), timeout);
  }
  const std::pair<std::string_view, std::string> fixed[] = {
      {keys::legacy::kSnapshots, keys::snapshots(first)},
      {keys::legacy::kStream, keys::stream(first)},
      {keys::legacy::kBacklog, keys::backlog(first)},
      {keys::legacy::kLiveTotals, keys::live_totals(first)},
      {keys::legacy::kLiveMinutes, keys::live_minutes(first)},
      {keys::legacy::kLiveMinuteIndex, keys::live_minute_index(first)},
  };
  for (const auto& [from, to] : fixed) moved += co_await move(redis, std::string(from), to, timeout);

  // Ranking versions are keyed by the ranking's key, which moves too.
  const std::string legacy_versions(keys::legacy::kRankingVersions);
  const std::string_view versions[] = {"HGETALL", legacy_versions};
  Reply old_versions = co_await redis.execute(versions, timeout);
  if (!old_versions.elements.empty()) {
    const std::string versions_key = keys::ranking_versions(first);
    for (std::size_t i = 0; i + 1 < old_versions.elements.size(); i += 2) {
      const std::string field = in_shard(first, old_versions.elements[i].text);
      const std::string_view add[] = {"HINCRBY", versions_key, field, old_versions.elements[i + 1].text};
      co_await redis.execute(add, timeout);
    }
    const std::string_view drop[] = {"DEL", legacy_versions};
    co_await redis.execute(drop, timeout);
    ++moved;
  }

  // One pass over the keys of the old layout ("et:<kind>:...", no '{' after "et:").
  std::string cursor = "0";
  do {
    const std::string_view scan[] = {"SCAN", cursor, "MATCH", "et:[^{]*", "COUNT", "1000"};
    Reply page = co_await redis.execute(scan, timeout);
    if (page.elements.size() != 2) break;
    cursor = page.elements[0].text;
    for (const Reply& key : page.elements[1].elements) {
      const std::string_view name = key.text;
      const std::string_view rest = name.substr(3);
      const auto colon = rest.find(':');
      if (colon == std::string_view::npos) continue;
      const std::string_view kind = rest.substr(0, colon);
      if (std::find(std::begin(keys::legacy::kPerEventKinds), std::end(keys::legacy::kPerEventKinds), kind) ==
          std::end(keys::legacy::kPerEventKinds)) {
        continue;
      }
      std::string_view tag = first;
      if (kind == "recent") {
        std::int64_t user = 0;
        const std::string_view digits = rest.substr(colon + 1);
        auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), user);
        if (error == std::errc{} && end == digits.data() + digits.size()) tag = shards.tag(shards.of_user(user));
      }
      moved += co_await move(redis, key.text, in_shard(tag, name), timeout);
    }
  } while (cursor != "0");
  const std::string_view done[] = {"DEL", keys::legacy::kUpgradeUnderWay};
  co_await redis.execute(done, timeout);
  if (moved > 0) spdlog::info("layout upgrade: moved {} keys of the layout before shards", moved);
  co_return moved;
}

}  // namespace tracker::redis
