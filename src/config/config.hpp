#pragma once
#include "domain/token_bucket.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace tracker::config {

using std::chrono::milliseconds;

// A reused statistics reading's age counts against the 1.5 s read span: this leaves at
// least half a second for the rest of the read.
inline constexpr std::int64_t kMaxStatisticsCacheMs = 1000;
inline constexpr std::size_t kMaxIngestGroup = 2000;

struct Config {
  // HTTP
  std::string listen_address = "0.0.0.0";
  std::uint16_t port = 8080;
  unsigned io_threads = 0;  // 0 = one per core
  std::size_t max_connections = 10'000;
  std::size_t max_connections_per_ip = 256;
  // With max_connections open, each holding up to 4 KiB of its own, the server stays
  // within 150 MB RSS (see README, "Limits").
  std::size_t request_memory_budget = 32 * 1024 * 1024;
  std::int64_t idle_timeout_ms = 60'000;
  std::int64_t read_timeout_ms = 10'000;
  std::size_t event_body_limit = 64 * 1024;
  std::size_t batch_body_limit = 4 * 1024 * 1024;
  std::int64_t shutdown_grace_ms = 10'000;
  // CORS: origins whose pages may call statistics and admin routes ("*": any), and
  // ingestion and the posts API; how long browsers reuse a preflight.
  std::string cors_origins;
  std::string cors_write_origins = "*";
  std::int64_t cors_max_age_s = 600;
  // Redis
  std::string redis_host = "127.0.0.1";
  std::uint16_t redis_port = 56379;
  // Seed nodes of a Redis Cluster ("host:port[,host:port...]"); empty: the one Redis above.
  std::string redis_cluster;
  std::int64_t redis_timeout_ms = 2'000;
  std::size_t redis_max_pending = 20'000;
  // Logical shards the Redis data is spread over (redis/shards.hpp). Every server of one
  // data set must use the same number; changing it needs the backlog drained first.
  std::size_t redis_shards = 1;
  // Replicas that must have each ingest call before it is acknowledged (WAIT); 0: none,
  // Redis's asynchronous replication as it is.
  std::size_t redis_wait_replicas = 0;
  std::int64_t redis_wait_timeout_ms = 500;
  // What stores ingested events: "lua" (the script lua/ingest.lua, any Redis) or "module"
  // (the same as the command TRACKER.INGEST of src/redis/module, loaded into Redis).
  std::string redis_ingest = "lua";
  // PostgreSQL
  std::string pg_dsn = "host=127.0.0.1 port=55432 user=tracker dbname=tracker";
  std::int64_t pg_timeout_ms = 5'000;
  std::size_t pg_pool_size = 4;       // per I/O thread
  std::size_t pg_pool_waiters = 256;  // per I/O thread; more get 503 at once
  // Like toggles (see postgres::PostRepository)
  std::size_t max_toggle_group = 256;   // toggles per call of toggle_likes
  std::size_t max_toggle_groups = 1;    // calls on their way at once, per I/O thread
  // Ingestion and persistence
  std::int64_t recent_keywords_ttl_s = 3'600;
  std::size_t backlog_high_water = 5'000'000;
  std::size_t ingest_groups_in_flight = 2;  // per I/O thread; see redis::EventStore
  std::size_t ingest_group_limit = 256;      // events per ingest script call, at most
  std::int64_t search_ranking_lag_ms = 1000; // upkeep interval of the search ranking (0 = not here)
  std::int64_t flush_interval_ms = 200;
  std::int64_t counter_flush_interval_ms = 1000;
  std::size_t flush_batch_size = 20'000;
  bool flusher_enabled = true;
  // The shards this server's flusher takes as its own ("" = all, else "0,3,..."); it
  // stands by for the others: takes one whose lock is free for a while at a time.
  std::string flusher_shards;
  std::int64_t partition_retention_days = 0;  // 0 = keep all
  // Hashtag search cache
  std::int64_t ranking_refresh_ms = 1000;     // how often window rankings are computed again
  std::int64_t search_cache_ttl_ms = 30'000;  // 0 = no caching (every search reads PostgreSQL)
  std::int64_t search_empty_ttl_ms = 5'000;
  // Statistics: how long a PostgreSQL reading is reused by exact counts (0 = never; at
  // most 1000, below the statistics read span of 1.5 s, see app/cached_counter_archive.hpp)
  std::int64_t statistics_cache_ms = 1000;
  std::string log_level = "info";
  std::string log_format = "text";  // or json: one object per line
  std::size_t access_log_sample = 0;  // log one request in N (0: none)
  // Rate limits on write routes (requests per second and burst; off by default), kept in
  // Redis (across instances) or in memory (per instance); see docs/OPERATIONS.md.
  domain::RateSpec rate_limit_ip;
  domain::RateSpec rate_limit_key;
  bool rate_limit_headers = false;  // RateLimit-* on allowed answers too
  std::string rate_limit_store = "redis";
  std::string trusted_proxies;  // addresses and CIDR ranges whose X-Forwarded-For is believed
  // API keys (http/auth.hpp): required on every route but the open ones; how often each
  // server loads them again (a revocation takes effect within one interval and a load).
  bool auth = true;
  std::int64_t key_refresh_ms = 2'000;
  // --print-routes: print "METHOD /path" for every route and exit (a command, not a setting).
  bool print_routes = false;
};

// Reads the environment (TRACKER_*) and then the command line (--name=value), which
// wins. Throws std::invalid_argument with a readable message on a bad value; returns
// false (after printing usage) when --help was given.
bool load(Config& config, int argc, char** argv);
std::string describe(const Config& config);
// The shards --flusher-shards names as this server's own (all when it names none).
std::vector<std::size_t> own_flusher_shards(const Config& config);  // one line per setting, for the start-up log

}  // namespace tracker::config
