// Wires the event tracker together: configuration, one worker per I/O thread (its own
// listener, Redis connection and services), the background flusher, and shutdown.
#include "app/batching_counter_archive.hpp"
#include "app/cached_counter_archive.hpp"
#include "app/ingest_service.hpp"
#include "app/key_ring.hpp"
#include "app/local_rate_limiter.hpp"
#include "app/post_service.hpp"
#include "app/ranking_board.hpp"
#include "app/search_ranking_upkeep.hpp"
#include "app/search_service.hpp"
#include "app/event_explorer.hpp"
#include "app/statistics_service.hpp"
#include "app/user_data.hpp"
#include "cli/keys_command.hpp"
#include "config/config.hpp"
#include "flush/flusher.hpp"
#include "http/auth.hpp"
#include "http/cors.hpp"
#include "http/explorer_routes.hpp"
#include "http/ingest_routes.hpp"
#include "http/ops_routes.hpp"
#include "http/post_routes.hpp"
#include "http/rate_limit.hpp"
#include "http/server.hpp"
#include "http/static_routes.hpp"
#include "http/statistics_routes.hpp"
#include "http/user_data_routes.hpp"
#include "metrics/logging.hpp"
#include "metrics/metrics.hpp"
#include "postgres/counter_archive.hpp"
#include "postgres/event_archive.hpp"
#include "postgres/health_probe.hpp"
#include "postgres/key_store.hpp"
#include "postgres/event_reader.hpp"
#include "postgres/pool.hpp"
#include "postgres/post_repository.hpp"
#include "postgres/ranking_upkeep.hpp"
#include "postgres/user_data_archive.hpp"
#include "redis/cluster.hpp"
#include "redis/cluster_slots.hpp"
#include "redis/connection.hpp"
#include "redis/counter_source.hpp"
#include "redis/event_backlog.hpp"
#include "redis/event_store.hpp"
#include "redis/health_probe.hpp"
#include "redis/hourly_rankings.hpp"
#include "redis/keys.hpp"
#include "redis/layout_upgrade.hpp"
#include "redis/rate_limiter.hpp"
#include "redis/search_cache.hpp"
#include "redis/statistics_reader.hpp"
#include "redis/user_data.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using namespace tracker;

namespace {

// How long the ranking board and the first requests wait for Redis at start-up.
constexpr std::chrono::milliseconds kFirstConnectWait{2000};

struct Worker {
  asio::io_context io{1};
  // Ingestion has a connection of its own: a command that times out resets its connection and
  // fails everything in flight on it, so a slow statistics or search read must not take
  // acknowledged-or-not ingest calls with it (nor an ingest timeout the reads).
  std::shared_ptr<redis::Client> ingest_redis;  // ingest calls, rate limits, the readiness probe
  std::shared_ptr<redis::Client> query_redis;   // statistics, search cache, user data erasure
  std::unique_ptr<redis::EventStore> event_store;
  std::unique_ptr<app::IngestService> ingest;
  std::unique_ptr<redis::HealthProbe> redis_probe;
  std::unique_ptr<postgres::Pool> pg_pool;
  std::unique_ptr<postgres::CounterArchive> counter_archive;
  std::unique_ptr<app::BatchingCounterArchive> batching_counter_archive;
  std::unique_ptr<app::CachedCounterArchive> cached_counter_archive;
  std::unique_ptr<redis::StatisticsReader> statistics_reader;
  std::unique_ptr<app::StatisticsService> statistics;
  std::unique_ptr<postgres::HealthProbe> pg_probe;
  std::unique_ptr<postgres::PostRepository> post_repository;
  std::unique_ptr<postgres::EventReader> event_reader;
  std::unique_ptr<app::EventExplorer> explorer;
  std::unique_ptr<postgres::UserDataArchive> user_data_archive;
  std::unique_ptr<redis::UnflushedUserData> unflushed_user_data;
  std::unique_ptr<app::UserDataService> user_data;
  std::unique_ptr<redis::SearchCache> search_cache;
  std::unique_ptr<app::PostService> posts;
  std::unique_ptr<app::SearchService> search;
  std::unique_ptr<postgres::RankingUpkeep> ranking_upkeep;
  std::unique_ptr<app::SearchRankingUpkeep> search_ranking_upkeep;  // on the first worker only
  std::unique_ptr<http::Cors> cors;
  std::unique_ptr<http::AuthGate> auth_gate;  // --auth=on
  std::unique_ptr<redis::RateLimiter> rate_limiter;  // --rate-limit-store=redis
  std::unique_ptr<http::RateLimitGate> rate_limit_gate;
  http::Router router;
  std::unique_ptr<http::Listener> listener;
  std::thread thread;
};

redis::ConnectionOptions redis_options(const config::Config& config) {
  redis::ConnectionOptions options;
  options.host = config.redis_host;
  options.port = config.redis_port;
  options.command_timeout = std::chrono::milliseconds(config.redis_timeout_ms);
  options.max_pending = config.redis_max_pending;
  return options;
}

std::vector<std::string> cluster_seeds(const config::Config& config) {
  if (config.redis_cluster.empty()) return {};
  try {
    return redis::cluster::parse_seeds(config.redis_cluster);
  } catch (const std::invalid_argument& error) {
    throw std::invalid_argument(std::string("--redis-cluster: ") + error.what());
  }
}

// One Redis, or a Redis Cluster when --redis-cluster names its seed nodes.
std::shared_ptr<redis::Client> redis_client(asio::any_io_executor executor, const config::Config& config,
                                            metrics::Registry& metrics) {
  return redis::make_client(std::move(executor), redis_options(config), cluster_seeds(config), metrics);
}

http::CorsPolicy cors_policy(const config::Config& config) {
  http::CorsPolicy policy;
  policy.read_origins = http::OriginList::parse(config.cors_origins);
  policy.write_origins = http::OriginList::parse(config.cors_write_origins);
  policy.max_age = std::chrono::seconds(config.cors_max_age_s);
  return policy;
}

postgres::ConnectionOptions pg_options(const config::Config& config) {
  postgres::ConnectionOptions options;
  options.dsn = config.pg_dsn;
  options.statement_timeout = std::chrono::milliseconds(config.pg_timeout_ms);
  return options;
}

redis::RateLimiterOptions rate_limiter_options(const config::Config& config) {
  redis::RateLimiterOptions options;
  options.timeout = std::chrono::milliseconds(config.redis_timeout_ms);
  options.max_group = config.ingest_group_limit;
  options.max_groups_in_flight = config.ingest_groups_in_flight;
  return options;
}

http::RateLimitOptions rate_limit_options(const config::Config& config) {
  http::RateLimitOptions options;
  options.per_address = domain::rate_limit(config.rate_limit_ip.per_second, config.rate_limit_ip.burst);
  options.per_key = domain::rate_limit(config.rate_limit_key.per_second, config.rate_limit_key.burst);
  options.headers_on_allowed = config.rate_limit_headers;
  return options;
}

// `local_limits`: the process's in-memory buckets, shared by all workers
// (--rate-limit-store=memory). `keys`: the process's API keys; none with --auth=off.
std::unique_ptr<Worker> make_worker(const config::Config& config,
                                    const http::ServerOptions& server_options,
                                    http::ServerState& server_state, const app::RankingBoard& rankings,
                                    app::LocalRateLimiter& local_limits, const app::KeyRing* keys,
                                    metrics::Registry& metrics) {
  auto worker = std::make_unique<Worker>();
  worker->ingest_redis = redis_client(worker->io.get_executor(), config, metrics);
  worker->query_redis = redis_client(worker->io.get_executor(), config, metrics);

  redis::EventStoreOptions store_options;
  store_options.recent_keywords_ttl = std::chrono::seconds(config.recent_keywords_ttl_s);
  store_options.backlog_high_water = config.backlog_high_water;
  store_options.max_groups_in_flight = config.ingest_groups_in_flight;
  store_options.max_group = config.ingest_group_limit;
  store_options.timeout = std::chrono::milliseconds(config.redis_timeout_ms);
  store_options.wait_replicas = config.redis_wait_replicas;
  store_options.wait_timeout = std::chrono::milliseconds(config.redis_wait_timeout_ms);
  store_options.engine = config.redis_ingest == "module" ? redis::IngestEngine::Module : redis::IngestEngine::Lua;
  const redis::Shards shards(static_cast<std::uint32_t>(config.redis_shards));
  worker->event_store = std::make_unique<redis::EventStore>(worker->ingest_redis, store_options, metrics, shards);
  worker->ingest = std::make_unique<app::IngestService>(*worker->event_store, metrics);
  worker->redis_probe = std::make_unique<redis::HealthProbe>(worker->ingest_redis);

  worker->pg_pool = std::make_unique<postgres::Pool>(worker->io.get_executor(), pg_options(config),
                                                    config.pg_pool_size, config.pg_pool_waiters, metrics);
  worker->counter_archive = std::make_unique<postgres::CounterArchive>(
      *worker->pg_pool, std::chrono::milliseconds(config.pg_timeout_ms));
  app::ArchiveCacheOptions archive_cache;
  archive_cache.max_age = std::chrono::milliseconds(config.statistics_cache_ms);
  worker->batching_counter_archive = std::make_unique<app::BatchingCounterArchive>(
      worker->io.get_executor(), *worker->counter_archive, metrics);
  worker->cached_counter_archive =
      std::make_unique<app::CachedCounterArchive>(*worker->batching_counter_archive, metrics, archive_cache);
  worker->statistics_reader =
      std::make_unique<redis::StatisticsReader>(worker->query_redis, metrics, std::chrono::milliseconds{1000}, shards);
  worker->statistics = std::make_unique<app::StatisticsService>(
      *worker->cached_counter_archive, *worker->statistics_reader, *worker->statistics_reader, rankings);
  worker->pg_probe = std::make_unique<postgres::HealthProbe>(*worker->pg_pool);

  worker->post_repository = std::make_unique<postgres::PostRepository>(
      worker->io.get_executor(), *worker->pg_pool, std::chrono::milliseconds(config.pg_timeout_ms), metrics,
      config.max_toggle_group, config.max_toggle_groups);
  worker->search_cache = std::make_unique<redis::SearchCache>(
      worker->query_redis, std::chrono::milliseconds(config.redis_timeout_ms), shards);
  worker->posts = std::make_unique<app::PostService>(*worker->post_repository, *worker->ingest, metrics);
  app::SearchOptions search_options;
  search_options.ttl = std::chrono::milliseconds(config.search_cache_ttl_ms);
  search_options.empty_ttl = std::chrono::milliseconds(config.search_empty_ttl_ms);
  worker->search = std::make_unique<app::SearchService>(*worker->post_repository, *worker->search_cache,
                                                        *worker->search_cache, *worker->ingest, metrics,
                                                        search_options);

  worker->event_reader =
      std::make_unique<postgres::EventReader>(*worker->pg_pool, std::chrono::milliseconds(config.pg_timeout_ms));
  worker->explorer = std::make_unique<app::EventExplorer>(*worker->event_reader);
  worker->user_data_archive =
      std::make_unique<postgres::UserDataArchive>(*worker->pg_pool, std::chrono::milliseconds(config.pg_timeout_ms));
  worker->unflushed_user_data =
      std::make_unique<redis::UnflushedUserData>(worker->query_redis, std::chrono::milliseconds(config.redis_timeout_ms),
                                                 64, shards);
  worker->user_data = std::make_unique<app::UserDataService>(*worker->user_data_archive, *worker->unflushed_user_data);

  http::add_ingest_routes(worker->router, *worker->ingest);
  http::add_explorer_routes(worker->router, *worker->explorer);
  http::add_static_routes(worker->router, http::built_in_files());
  http::add_statistics_routes(worker->router, *worker->statistics);
  http::add_post_routes(worker->router, *worker->posts, *worker->search);
  http::add_user_data_routes(worker->router, *worker->user_data);
  http::add_ops_routes(worker->router, {worker->redis_probe.get(), worker->pg_probe.get()}, metrics);
  worker->router.set_default_body_limit(config.event_body_limit);
  worker->router.limit_body("/api/events/batch", config.batch_body_limit);
  worker->cors = std::make_unique<http::Cors>(cors_policy(config));
  worker->router.set_cors(*worker->cors);
  worker->router.measure(metrics);
  if (keys) {
    worker->auth_gate = std::make_unique<http::AuthGate>(*keys, metrics);
    worker->router.add_gate(*worker->auth_gate);
  }
  // After the API key gate, which names the key the per-key limit counts.
  // The gate exists when limits are off too, so that its metrics read 0 (the alerts use them).
  ports::RateLimiter* limiter = &local_limits;
  if (config.rate_limit_store == "redis") {
    worker->rate_limiter =
        std::make_unique<redis::RateLimiter>(worker->ingest_redis, metrics, rate_limiter_options(config));
    limiter = worker->rate_limiter.get();
  }
  worker->rate_limit_gate = std::make_unique<http::RateLimitGate>(*limiter, rate_limit_options(config), metrics);
  if (worker->rate_limit_gate->enabled()) worker->router.add_gate(*worker->rate_limit_gate);
  worker->listener = std::make_unique<http::Listener>(worker->io, server_options, worker->router,
                                                      server_state, metrics);
  return worker;
}

// Computes the window rankings on a thread of its own, so that summing hours never delays
// a request; readers on the I/O threads take its published results.
struct RankingWorker {
  asio::io_context io{1};
  std::shared_ptr<redis::Client> redis;
  std::unique_ptr<redis::HourlyRankings> hours;
  std::unique_ptr<app::RankingBoard> board;
  std::thread thread;

  RankingWorker(const config::Config& config, metrics::Registry& metrics) {
    redis = redis_client(io.get_executor(), config, metrics);
    hours = std::make_unique<redis::HourlyRankings>(redis, std::chrono::milliseconds(config.redis_timeout_ms),
                                                    redis::Shards(static_cast<std::uint32_t>(config.redis_shards)));
    app::RankingBoardOptions options;
    options.refresh_interval = std::chrono::milliseconds(config.ranking_refresh_ms);
    board = std::make_unique<app::RankingBoard>(*hours, options, metrics);
  }

  void start() {
    redis->start();
    auto first_connect_then_run = [this]() -> asio::awaitable<void> {
      co_await redis->wait_connected(kFirstConnectWait);
      co_await board->run();
    };
    asio::co_spawn(io, first_connect_then_run, [this](std::exception_ptr) { redis->stop(); });
    thread = std::thread([this] { io.run(); });
  }

  void stop() {
    asio::post(io, [this] { board->stop(); });
    thread.join();
  }
};

// Loads the API keys every --key-refresh-ms on a thread of its own, for all I/O threads
// (app/key_ring.hpp), so that no request waits for the database.
struct KeyRingWorker {
  asio::io_context io{1};
  std::unique_ptr<postgres::Pool> pool;
  std::unique_ptr<postgres::KeyStore> store;
  std::unique_ptr<app::KeyRing> ring;
  std::thread thread;

  KeyRingWorker(const config::Config& config, metrics::Registry& metrics) {
    pool = std::make_unique<postgres::Pool>(io.get_executor(), pg_options(config), 1, 1, metrics);
    store = std::make_unique<postgres::KeyStore>(*pool, std::chrono::milliseconds(config.pg_timeout_ms));
    app::KeyRingOptions options;
    options.refresh_interval = std::chrono::milliseconds(config.key_refresh_ms);
    ring = std::make_unique<app::KeyRing>(*store, options, metrics);
  }

  void start() {
    asio::co_spawn(io, ring->run(), asio::detached);
    thread = std::thread([this] { io.run(); });
  }

  void stop() {
    asio::post(io, [this] { ring->stop(); });
    thread.join();
  }
};

// The background mover from Redis to PostgreSQL, on a thread of its own so that a slow
// database never delays an acknowledgement. One flusher per Redis shard, each with its
// own PostgreSQL connection and the shard's lock: a shard whose lock another server holds
// is tried again every few seconds, and a dead server's shards (its session locks gone
// with its connections) are taken over. --flusher-shards shares them out: a server holds
// its own shards for good and the others' only a while at a time (flush::FlusherOptions).
struct FlusherWorker {
  struct Shard {
    std::unique_ptr<redis::EventBacklog> backlog;
    std::unique_ptr<redis::CounterSource> counters;
    std::unique_ptr<postgres::EventArchive> archive;
    std::unique_ptr<flush::Flusher> flusher;
  };
  asio::io_context io{1};
  std::shared_ptr<redis::Client> redis;
  std::vector<Shard> shards;
  std::size_t running = 0;
  std::thread thread;

  FlusherWorker(const config::Config& config, metrics::Registry& metrics) {
    redis = redis_client(io.get_executor(), config, metrics);
    for (std::uint32_t shard = 0; shard < config.redis_shards; ++shard) {
      Shard& one = shards.emplace_back();
      one.backlog = std::make_unique<redis::EventBacklog>(redis, std::chrono::milliseconds{5000}, shard);
      one.counters = std::make_unique<redis::CounterSource>(redis, std::chrono::milliseconds{5000}, shard);
      one.archive = std::make_unique<postgres::EventArchive>(io.get_executor(), pg_options(config), metrics, shard);
      flush::FlusherOptions options;
      options.batch_size = config.flush_batch_size;
      options.idle_pause = std::chrono::milliseconds(config.flush_interval_ms);
      options.counter_interval = std::chrono::milliseconds(config.counter_flush_interval_ms);
      options.retention_days = static_cast<int>(config.partition_retention_days);
      options.maintain_partitions = shard == 0;
      const auto own = config::own_flusher_shards(config);
      if (std::find(own.begin(), own.end(), shard) == own.end()) options.standby_hold = std::chrono::seconds(30);
      if (config.redis_shards > 1) options.backlog_labels = "shard=\"" + std::to_string(shard) + "\"";
      one.flusher = std::make_unique<flush::Flusher>(io.get_executor(), *one.backlog, *one.counters,
                                                     *one.archive, options, metrics);
    }
  }

  void start() {
    redis->start();
    running = shards.size();
    for (Shard& shard : shards) {
      asio::co_spawn(io, shard.flusher->run(), [this](std::exception_ptr) {
        if (--running == 0) redis->stop();
      });
    }
    thread = std::thread([this] { io.run(); });
  }

  // Lets the current steps finish (they are transactional either way), then returns.
  void stop() {
    asio::post(io, [this] {
      for (Shard& shard : shards) shard.flusher->stop();
    });
    thread.join();
  }
};

// Before serving: runs `task(redis)` once `redis` (started here, on an io_context of its
// own) is connected or kFirstConnectWait has passed; a failure is logged as "`what`: not
// done now (...)" and the start goes on.
template <class Task>
void before_serving(asio::io_context& io, redis::Client& redis, std::string_view what, Task task) {
  redis.start();
  auto run = [&]() -> asio::awaitable<void> {
    co_await redis.wait_connected(kFirstConnectWait);
    co_await task(redis);
  };
  asio::co_spawn(io, run, [&](std::exception_ptr failure) {
    if (failure) {
      try {
        std::rethrow_exception(failure);
      } catch (const std::exception& error) {
        spdlog::warn("{}: not done now ({})", what, error.what());
      }
    }
    redis.stop();
  });
  io.run();
}

// Moves data of the layout before shards into the shards (single Redis). Redis not
// reachable now: nothing to do until it is; the next start moves it.
void upgrade_redis_layout(const config::Config& config, metrics::Registry& metrics) {
  asio::io_context io{1};
  auto redis = redis::Connection::create(io.get_executor(), redis_options(config), metrics);
  const redis::Shards shards(static_cast<std::uint32_t>(config.redis_shards));
  before_serving(io, *redis, "layout upgrade (the next start tries again)",
                 [&](redis::Client& client) -> asio::awaitable<void> {
                   co_await redis::upgrade_layout(client, shards, std::chrono::milliseconds(config.redis_timeout_ms));
                 });
}

// --redis-ingest=module: the Redis of every shard (each master of a cluster that holds one)
// must know TRACKER.INGEST. Returns false when one answers that it does not; a Redis not
// reachable now is not checked (ingest calls then fail with IngestModuleMissing).
bool ingest_module_loaded(const config::Config& config, metrics::Registry& metrics) {
  asio::io_context io{1};
  auto redis = redis_client(io.get_executor(), config, metrics);
  const redis::Shards shards(static_cast<std::uint32_t>(config.redis_shards));
  bool loaded = true;
  before_serving(io, *redis, "--redis-ingest=module: the check that Redis knows TRACKER.INGEST",
                 [&](redis::Client& client) -> asio::awaitable<void> {
                   const std::string_view command[] = {"COMMAND", "INFO", redis::kIngestCommand};
                   for (std::uint32_t shard = 0; shard < shards.count() && loaded; ++shard) {
                     redis::Reply reply = co_await client.execute_at(redis::keys::stream(shards.tag(shard)), command,
                                                                     std::chrono::milliseconds(config.redis_timeout_ms));
                     // COMMAND INFO answers nil for a command it does not know.
                     if (reply.elements.empty() || reply.elements.front().type != redis::Reply::Type::Array) loaded = false;
                   }
                 });
  return loaded;
}

// --print-routes: the routes a worker serves, one "METHOD /pattern" a line, for the test
// that holds docs/openapi.yaml to them. Building a worker connects and binds nothing.
int print_routes(const config::Config& config) {
  metrics::Registry metrics;
  http::ServerOptions server_options;
  http::ServerState server_state(server_options);
  RankingWorker rankings(config, metrics);
  app::LocalRateLimiter local_limits;
  auto worker = make_worker(config, server_options, server_state, *rankings.board, local_limits, nullptr, metrics);
  for (const auto& route : worker->router.routes()) {
    std::cout << http::beast_http::to_string(route.method) << ' ' << route.pattern << ' ' << http::to_string(route.access) << '\n';
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::string_view(argv[1]) == "keys") return cli::keys_command(argc, argv);
  config::Config config;
  try {
    if (!config::load(config, argc, argv)) return 0;
    cluster_seeds(config);  // refuses a malformed list before anything starts
  } catch (const std::exception& error) {
    std::cerr << "event-tracker: " << error.what() << '\n';
    return 2;
  }
  if (config.print_routes) return print_routes(config);
  metrics::configure_logging(config.log_level, metrics::parse_log_format(config.log_format));
  unsigned threads = config.io_threads ? config.io_threads : std::max(1u, std::thread::hardware_concurrency());
  spdlog::info("event-tracker starting with {} I/O threads; configuration:\n{}", threads,
               config::describe(config));

  // Installed first, so that a SIGTERM during start-up is a clean shutdown too.
  asio::io_context control;
  asio::signal_set signals(control, SIGINT, SIGTERM);

  metrics::Registry metrics;
  if (config.redis_ingest == "module" && !ingest_module_loaded(config, metrics)) {
    spdlog::error("--redis-ingest=module: Redis does not know the command TRACKER.INGEST; load the module "
                  "(redis.conf: loadmodule <build>/redis/tracker_ingest.so) or run with --redis-ingest=lua");
    return 2;
  }
  http::ServerOptions server_options;
  server_options.address = config.listen_address;
  server_options.port = config.port;
  server_options.max_connections = config.max_connections;
  server_options.max_connections_per_address = config.max_connections_per_ip;
  server_options.access_log_every = config.access_log_sample;
  server_options.request_memory_budget = config.request_memory_budget;
  server_options.idle_timeout = std::chrono::milliseconds(config.idle_timeout_ms);
  server_options.read_timeout = std::chrono::milliseconds(config.read_timeout_ms);
  server_options.trusted_proxies = http::TrustedProxies::parse(config.trusted_proxies);
  http::ServerState server_state(server_options);

  RankingWorker rankings(config, metrics);
  app::LocalRateLimiter local_limits;
  std::unique_ptr<KeyRingWorker> keys;
  if (config.auth) {
    keys = std::make_unique<KeyRingWorker>(config, metrics);
  } else {
    spdlog::warn("--auth=off: write, read and admin routes answer without API keys");
  }
  // A cluster never held the layout before shards (its scripts could not have run there), and
  // the move uses SCAN and renames across slots.
  if (config.redis_cluster.empty()) upgrade_redis_layout(config, metrics);
  std::vector<std::unique_ptr<Worker>> workers;
  try {
    for (unsigned i = 0; i < threads; ++i) {
      workers.push_back(make_worker(config, server_options, server_state, *rankings.board, local_limits,
                                    keys ? keys->ring.get() : nullptr, metrics));
      // Requests wait (at most a moment) for the thread's Redis connection rather than
      // meeting a 503 just because the server has only just started.
      workers.back()->listener->start([&worker = *workers.back()]() -> asio::awaitable<void> {
        co_await worker.ingest_redis->wait_connected(kFirstConnectWait);
        co_await worker.query_redis->wait_connected(kFirstConnectWait);
      });
    }
  } catch (const std::exception& error) {
    spdlog::critical("cannot listen on {}:{}: {}", config.listen_address, config.port, error.what());
    return 1;
  }
  if (config.search_ranking_lag_ms > 0) {
    Worker& first = *workers.front();
    first.ranking_upkeep = std::make_unique<postgres::RankingUpkeep>(
        *first.pg_pool, std::chrono::milliseconds(config.pg_timeout_ms));
    app::SearchRankingUpkeepOptions upkeep_options;
    upkeep_options.interval = std::chrono::milliseconds(config.search_ranking_lag_ms);
    first.search_ranking_upkeep =
        std::make_unique<app::SearchRankingUpkeep>(*first.ranking_upkeep, upkeep_options, metrics);
    asio::co_spawn(first.io, first.search_ranking_upkeep->run(), asio::detached);
  }
  if (keys) {
    keys->start();
    // Bounded by the connect and statement timeouts; PostgreSQL down: 503 until it is back.
    if (!keys->ring->wait_first_attempt(std::chrono::milliseconds(config.pg_timeout_ms) + std::chrono::seconds(3))) {
      spdlog::error("api keys: not loaded (PostgreSQL?); non-open routes answer 503 KEYS_UNAVAILABLE until they are");
    }
  }
  for (auto& worker : workers) {
    worker->ingest_redis->start();
    worker->query_redis->start();
    worker->thread = std::thread([&io = worker->io] {
      auto guard = asio::make_work_guard(io);
      io.run();
    });
  }
  rankings.start();
  std::unique_ptr<FlusherWorker> flusher;
  if (config.flusher_enabled) {
    flusher = std::make_unique<FlusherWorker>(config, metrics);
    flusher->start();
  }
  spdlog::info("listening on {}:{}", config.listen_address, config.port);

  // Shutdown: stop accepting, let in-flight requests finish within the grace time, then
  // stop. An event is acknowledged only once Redis holds it, so none is lost here.
  asio::steady_timer drain_timer(control);
  auto grace_deadline = std::chrono::steady_clock::time_point::max();
  std::function<void()> wait_for_drain = [&] {
    if (server_state.connections.load() == 0 || std::chrono::steady_clock::now() >= grace_deadline) {
      if (server_state.connections.load() != 0) {
        spdlog::warn("shutdown: {} connections still open after the grace time",
                     server_state.connections.load());
      }
      control.stop();
      return;
    }
    drain_timer.expires_after(std::chrono::milliseconds(20));
    drain_timer.async_wait([&](boost::system::error_code) { wait_for_drain(); });
  };
  signals.async_wait([&](boost::system::error_code ec, int signal) {
    if (ec) return;
    spdlog::info("signal {}: draining connections (grace {} ms)", signal, config.shutdown_grace_ms);
    server_state.draining = true;
    grace_deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(config.shutdown_grace_ms);
    for (auto& worker : workers) {
      asio::post(worker->io, [&listener = *worker->listener] { listener.begin_shutdown(); });
    }
    wait_for_drain();
  });
  control.run();

  if (flusher) flusher->stop();
  rankings.stop();
  if (keys) keys->stop();
  if (auto& upkeep = workers.front()->search_ranking_upkeep) {
    asio::post(workers.front()->io, [&upkeep] { upkeep->stop(); });
  }
  for (auto& worker : workers) {
    worker->ingest_redis->stop();
    worker->query_redis->stop();
  }
  for (auto& worker : workers) {
    worker->io.stop();
    worker->thread.join();
  }
  spdlog::info("event-tracker stopped");
  return 0;
}
