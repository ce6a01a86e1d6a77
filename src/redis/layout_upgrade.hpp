#pragma once
#include "redis/commands.hpp"
#include "redis/shards.hpp"

#include <cstddef>

namespace tracker::redis {

// Moves what a server of the layout before shards left in a single Redis under untagged
// names (keys::legacy) into the shards, so that nothing is lost: the stream with its
// consumer group and its entries not yet flushed, the backlog counter, the live counters
// and the snapshots not yet dropped go to shard 0, whose flusher and readers then find
// them (RENAME keeps a stream's consumer group; PostgreSQL's marks of that time belong to
// shard 0, sql/013_shard_watermarks.sql). Per-event keys (minute counts, unique users,
// rankings and their versions, standing likes, client eventIds) go to shard 0 as well, a
// user's recent keywords to the user's shard. With one shard that is exactly where the
// new layout keeps them; with more, standing likes and client eventIds seen before the
// upgrade are found only for users of shard 0 (docs/DESIGN.md, "Shards").
//
// Each move is a RENAMENX: several servers starting at once move each key once, and a
// key whose new name exists already is left alone and reported. Single Redis only (a
// Redis Cluster deployment starts with the new layout). Returns the keys moved.
asio::awaitable<std::size_t> upgrade_layout(Commands& redis, const Shards& shards, milliseconds timeout);

}  // namespace tracker::redis
