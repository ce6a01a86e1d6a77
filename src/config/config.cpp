#include "config/config.hpp"

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace tracker::config {

namespace {

struct Option {
  std::string flag;  // --flag; environment variable TRACKER_FLAG (upper case, '-' -> '_')
  std::string help;
  std::function<void(Config&, const std::string&)> set;
  std::function<std::string(const Config&)> get;
  std::string range;  // "min..max" of a bounded number, for --help
};

template <class T>
struct Bounds {
  T min, max;
};

template <class T>
T parse_number(const std::string& name, const std::string& text) {
  T value{};
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size()) {
    throw std::invalid_argument("--" + name + ": '" + text + "' is not a valid number");
  }
  return value;
}

template <class T>
Option number_option(std::string flag, std::string help, T Config::*member, std::optional<Bounds<T>> bounds) {
  std::string range = bounds ? std::to_string(bounds->min) + ".." + std::to_string(bounds->max) : "";
  return {flag, std::move(help),
          [flag, member, bounds, range](Config& c, const std::string& v) {
            T value = parse_number<T>(flag, v);
            if (bounds && (value < bounds->min || value > bounds->max)) {
              throw std::invalid_argument("--" + flag + ": expected " + range + ", got " + v);
            }
            c.*member = value;
          },
          [member](const Config& c) { return std::to_string(c.*member); }, range};
}

template <class T>
Option number(std::string flag, std::string help, T Config::*member) {
  return number_option(std::move(flag), std::move(help), member, std::optional<Bounds<T>>{});
}

// A number that must lie within `bounds`; --help shows them.
template <class T>
Option number(std::string flag, std::string help, T Config::*member, Bounds<T> bounds) {
  return number_option(std::move(flag), std::move(help), member, std::optional<Bounds<T>>{bounds});
}

Option text(std::string flag, std::string help, std::string Config::*member) {
  return {flag, std::move(help), [member](Config& c, const std::string& v) { c.*member = v; },
          [member](const Config& c) { return c.*member; }, {}};
}

Option flag_bool(std::string flag, std::string help, bool Config::*member) {
  return {flag, std::move(help),
          [flag, member](Config& c, const std::string& v) {
            if (v == "1" || v == "true" || v == "on") c.*member = true;
            else if (v == "0" || v == "false" || v == "off") c.*member = false;
            else throw std::invalid_argument("--" + flag + ": expected true or false");
          },
          [member](const Config& c) { return std::string(c.*member ? "true" : "false"); }, {}};
}

Option rate_option(std::string flag, std::string help, domain::RateSpec Config::*member) {
  return {flag, std::move(help),
          [flag, member](Config& c, const std::string& v) {
            auto spec = domain::parse_rate_spec(v);
            if (!spec) {
              throw std::invalid_argument("--" + flag + ": expected RATE or RATE/BURST (requests per second, "
                                          "burst >= 1; 0 = off), got '" + v + "'");
            }
            c.*member = *spec;
          },
          [member](const Config& c) {
            const domain::RateSpec& spec = c.*member;
            if (spec.burst == 0) return std::string("0");
            std::ostringstream text;
            text << spec.per_second << '/' << spec.burst;
            return text.str();
          },
          {}};
}

// "addr[/prefix], ..." as http::TrustedProxies reads it; refused here, at start-up.
void check_networks(const std::string& list) {
  std::istringstream entries(list);
  std::string entry;
  while (std::getline(entries, entry, ',')) {
    entry.erase(0, entry.find_first_not_of(" \t"));
    entry.erase(entry.find_last_not_of(" \t") + 1);
    if (entry.empty()) continue;
    auto slash = entry.find('/');
    boost::system::error_code ec;
    auto address = boost::asio::ip::make_address(entry.substr(0, slash), ec);
    bool valid = !ec;
    if (valid && slash != std::string::npos) {
      std::string digits = entry.substr(slash + 1);
      // An IPv4-mapped IPv6 address counts as IPv4 (as in http::TrustedProxies).
      int most = address.is_v4() || address.to_v6().is_v4_mapped() ? 32 : 128;
      valid = !digits.empty() && digits.size() <= 3 && digits.find_first_not_of("0123456789") == std::string::npos &&
              std::stoi(digits) <= most;
    }
    if (!valid) {
      throw std::invalid_argument("--trusted-proxies: '" + entry + "' is not an address or CIDR range");
    }
  }
}

const std::vector<Option>& options() {
  static const std::vector<Option> all = {
      text("listen", "address to listen on", &Config::listen_address),
      number("port", "HTTP port", &Config::port),
      number("io-threads", "I/O threads (0 = one per core)", &Config::io_threads),
      number("max-connections", "open connections allowed", &Config::max_connections),
      number("max-connections-per-ip", "open connections allowed from one client address",
             &Config::max_connections_per_ip, Bounds<std::size_t>{1, 1'000'000}),
      number("request-memory-budget",
             "bytes all requests in flight may hold (bodies and their JSON arenas, 3x the body); "
             "past it 503; at least 6x --batch-body-limit",
             &Config::request_memory_budget, Bounds<std::size_t>{64 * 1024, std::size_t{1} << 40}),
      number("idle-timeout-ms", "keep-alive idle time before closing", &Config::idle_timeout_ms),
      number("read-timeout-ms", "time allowed to receive one request", &Config::read_timeout_ms),
      number("event-body-limit", "largest single-event body in bytes", &Config::event_body_limit),
      number("batch-body-limit", "largest batch body in bytes", &Config::batch_body_limit),
      number("shutdown-grace-ms", "time to finish in-flight requests on SIGTERM", &Config::shutdown_grace_ms),
      text("cors-origins", "origins (https://host[:port], comma list, * = any) whose pages may read statistics",
           &Config::cors_origins),
      text("cors-write-origins", "origins whose pages may send events (* = any)", &Config::cors_write_origins),
      number("cors-max-age-s", "seconds a browser may reuse a CORS preflight answer", &Config::cors_max_age_s,
             Bounds<std::int64_t>{0, 86'400}),
      text("redis-host", "Redis host", &Config::redis_host),
      number("redis-port", "Redis port", &Config::redis_port),
      text("redis-cluster", "seed nodes of a Redis Cluster, host:port[,host:port...]; when set, "
           "--redis-host and --redis-port are not used", &Config::redis_cluster),
      number("redis-timeout-ms", "timeout of each Redis command", &Config::redis_timeout_ms),
      number("redis-max-pending", "Redis commands in flight per connection", &Config::redis_max_pending),
      // Each statistics read costs one Redis call per shard, and each shard one flusher's
      // PostgreSQL connection per server: a few dozen at most are worth it.
      number("redis-shards", "logical Redis shards the data is spread over (the same on every server)",
             &Config::redis_shards, Bounds<std::size_t>{1, 256}),
      number("redis-wait-replicas", "replicas that must have each ingest call before it is acknowledged "
             "(WAIT; 0 = do not wait); 503 when fewer acknowledge in time",
             &Config::redis_wait_replicas, Bounds<std::size_t>{0, 5}),
      number("redis-wait-timeout-ms", "how long an ingest call waits for those replicas",
             &Config::redis_wait_timeout_ms, Bounds<std::int64_t>{1, 10'000}),
      text("redis-ingest", "lua (the ingest script, any Redis) or module (TRACKER.INGEST, the Redis module "
           "tracker_ingest.so loaded into every Redis of the deployment)",
           &Config::redis_ingest),
      text("pg-dsn", "PostgreSQL connection string", &Config::pg_dsn),
      number("pg-timeout-ms", "timeout of each PostgreSQL statement", &Config::pg_timeout_ms),
      number("pg-pool-size", "PostgreSQL connections per I/O thread", &Config::pg_pool_size,
             Bounds<std::size_t>{1, 1000}),
      number("pg-pool-waiters", "requests allowed to wait for a connection, per I/O thread", &Config::pg_pool_waiters),
      number("max-toggle-group", "like toggles per call of toggle_likes", &Config::max_toggle_group),
      number("max-toggle-groups", "calls of toggle_likes on their way at once, per I/O thread",
             &Config::max_toggle_groups),
      number("recent-keywords-ttl-s", "seconds a user's recent keywords live", &Config::recent_keywords_ttl_s),
      number("backlog-high-water", "unpersisted events before ingestion answers 503", &Config::backlog_high_water),
      number("ingest-groups-in-flight", "event groups on their way to Redis at once, per I/O thread",
             &Config::ingest_groups_in_flight, Bounds<std::size_t>{1, 64}),
      // The ingest script passes a call's unique users and minutes to one command each, and
      // Lua's unpack() takes at most about 8,000 values.
      number("ingest-group-limit", "events stored by one ingest script call, at most",
             &Config::ingest_group_limit, Bounds<std::size_t>{1, kMaxIngestGroup}),
      number("flush-interval-ms", "pause between flushes when idle", &Config::flush_interval_ms),
      number("counter-flush-interval-ms", "pause between counter snapshots", &Config::counter_flush_interval_ms),
      number("flush-batch-size", "events per flush transaction", &Config::flush_batch_size),
      flag_bool("flusher", "run the Redis-to-PostgreSQL flusher in this process", &Config::flusher_enabled),
      text("flusher-shards",
           "Redis shards this server flushes as its own, e.g. 0,1 (empty = all); it stands in for the others "
           "while their servers are down",
           &Config::flusher_shards),
      number("partition-retention-days", "drop event partitions older than this (0 = keep)", &Config::partition_retention_days),
      number("ranking-refresh-ms", "how often top posts / keywords are computed again (their most age)",
             &Config::ranking_refresh_ms, Bounds<std::int64_t>{10, 3'600'000}),
      number("search-cache-ttl-ms", "how long a cached search stays fresh, +-20 % (0 = no cache)",
             &Config::search_cache_ttl_ms, Bounds<std::int64_t>{0, 86'400'000}),
      number("search-ranking-lag-ms",
             "how often the search ranking takes in like-count changes (0 = another server does it)",
             &Config::search_ranking_lag_ms, Bounds<std::int64_t>{0, 3'600'000}),
      number("search-empty-ttl-ms", "the same for searches that found nothing", &Config::search_empty_ttl_ms),
      number("statistics-cache-ms", "how long exact counts reuse a PostgreSQL reading (0 = never)",
             &Config::statistics_cache_ms, Bounds<std::int64_t>{0, kMaxStatisticsCacheMs}),
      text("log-level", "trace, debug, info, warn, error", &Config::log_level),
      text("log-format", "text, or json (one object per line, for ELK or Loki)", &Config::log_format),
      number("access-log-sample", "log one request in N with its status, time and request id (0 = none)",
             &Config::access_log_sample),
      rate_option("rate-limit-ip", "write requests per second per client address (IPv6 by /64), RATE[/BURST]; 0 = off",
                  &Config::rate_limit_ip),
      rate_option("rate-limit-key", "write requests per second per write API key, RATE[/BURST]; 0 = off",
                  &Config::rate_limit_key),
      flag_bool("rate-limit-headers", "RateLimit-* headers on allowed write answers too (always on 429)",
                &Config::rate_limit_headers),
      text("rate-limit-store", "redis (limits hold across instances) or memory (per instance)",
           &Config::rate_limit_store),
      flag_bool("auth", "require API keys on write, read and admin routes (off: anyone may call them)",
                &Config::auth),
      number("key-refresh-ms", "how often the API keys are loaded again from PostgreSQL (a revocation's delay)",
             &Config::key_refresh_ms, Bounds<std::int64_t>{10, 4'000}),
      text("trusted-proxies", "addresses / CIDR ranges whose X-Forwarded-For names the client (comma-separated)",
           &Config::trusted_proxies),
  };
  return all;
}

std::string env_name(const std::string& flag) {
  std::string name = "TRACKER_";
  for (char c : flag) name.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(c)));
  return name;
}

const Option& find(const std::string& flag) {
  for (const auto& option : options()) {
    if (option.flag == flag) return option;
  }
  throw std::invalid_argument("unknown option --" + flag + " (see --help)");
}

// An origin as browsers send it: scheme://host[:port], nothing after (a trailing "/" is
// forgiven), or "*".
bool is_origin(std::string_view text) {
  if (text == "*") return true;
  if (!text.empty() && text.back() == '/') text.remove_suffix(1);
  std::size_t scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) return false;
  std::string_view host = text.substr(scheme_end + 3);
  if (host.empty()) return false;
  for (unsigned char c : text) {
    if (c <= 0x20 || c >= 0x7f || c == ',') return false;
  }
  return host.find_first_of("/?#@") == std::string_view::npos;
}

void check_origins(const std::string& flag, const std::string& list) {
  std::size_t start = 0;
  while (start <= list.size()) {
    std::size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    std::string item = list.substr(start, comma - start);
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (!item.empty() && !is_origin(item)) {
      throw std::invalid_argument("--" + flag + ": '" + item + "' is not an origin like https://shop.example:8443");
    }
    start = comma + 1;
  }
}

// Checks between settings.
void validate(const Config& config) {
  check_origins("cors-origins", config.cors_origins);
  check_origins("cors-write-origins", config.cors_write_origins);
  // A request holds its body and a JSON arena of twice its size (http::request_memory) and
  // gets at most half of what is free: the largest batch must fit into an idle budget.
  if (config.request_memory_budget / 6 < config.batch_body_limit) {
    throw std::invalid_argument("--request-memory-budget: expected at least 6 x --batch-body-limit = " +
                                std::to_string(6 * config.batch_body_limit));
  }
  if (config.redis_ingest != "lua" && config.redis_ingest != "module") {
    throw std::invalid_argument("--redis-ingest: expected lua or module");
  }
  if (config.rate_limit_store != "redis" && config.rate_limit_store != "memory") {
    throw std::invalid_argument("--rate-limit-store: expected redis or memory");
  }
  check_networks(config.trusted_proxies);
  own_flusher_shards(config);
  if (config.log_format != "text" && config.log_format != "json") {
    throw std::invalid_argument("--log-format: expected text or json");
  }
}

}  // namespace

bool load(Config& config, int argc, char** argv) {
  for (const auto& option : options()) {
    if (const char* value = std::getenv(env_name(option.flag).c_str())) option.set(config, value);
  }
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << "usage: event-tracker [--option=value ...] | --print-routes | keys create|list|revoke ... (keys help)\n";
      for (const auto& option : options()) {
        std::cout << "  --" << option.flag << " (" << env_name(option.flag) << ", default "
                  << option.get(Config{}) << (option.range.empty() ? "" : ", " + option.range)
                  << "): " << option.help << '\n';
      }
      return false;
    }
    if (arg == "--print-routes") {
      config.print_routes = true;
      continue;
    }
    if (!arg.starts_with("--")) throw std::invalid_argument("unexpected argument " + arg);
    auto equals = arg.find('=');
    std::string flag = arg.substr(2, equals == std::string::npos ? std::string::npos : equals - 2);
    std::string value;
    if (equals != std::string::npos) {
      value = arg.substr(equals + 1);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      throw std::invalid_argument("--" + flag + " needs a value");
    }
    find(flag).set(config, value);
  }
  validate(config);
  return true;
}

std::vector<std::size_t> own_flusher_shards(const Config& config) {
  std::vector<std::size_t> shards;
  std::istringstream items(config.flusher_shards);
  std::string item;
  while (std::getline(items, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (item.empty()) continue;
    std::size_t shard = 0;
    auto [end, error] = std::from_chars(item.data(), item.data() + item.size(), shard);
    if (error != std::errc{} || end != item.data() + item.size() || shard >= config.redis_shards) {
      throw std::invalid_argument("--flusher-shards: '" + item + "' is not a shard number below --redis-shards=" +
                                  std::to_string(config.redis_shards));
    }
    if (std::find(shards.begin(), shards.end(), shard) == shards.end()) shards.push_back(shard);
  }
  if (shards.empty()) {
    for (std::size_t shard = 0; shard < config.redis_shards; ++shard) shards.push_back(shard);
  }
  return shards;
}

std::string describe(const Config& config) {
  std::ostringstream out;
  for (const auto& option : options()) out << "  " << option.flag << " = " << option.get(config) << '\n';
  return out.str();
}

}  // namespace tracker::config
