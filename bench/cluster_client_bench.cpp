// What routing costs a command in redis::ClusterClient, and the client CPU of pipelined
// commands from one thread (TRACKER_REDIS_CLUSTER): a plain Connection to one master
// against a ClusterClient sending the same keys (one hash tag) to that master, and a
// ClusterClient spreading keys over every master. Run them in one invocation with
// repetitions and compare the medians of CPU per round:
//   build/release/bench/micro_bench --benchmark_filter=Pipelined --benchmark_repetitions=5
// On a 2-core machine the cluster's six nodes share the cores with the client, so wall
// time says little; the first two differ only in the client's work.
#include "metrics/metrics.hpp"
#include "redis/cluster.hpp"
#include "redis/cluster_slots.hpp"
#include "redis/connection.hpp"

#include <benchmark/benchmark.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdlib>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace redis = tracker::redis;
using namespace std::chrono_literals;

void BM_ClusterKeySlotOfATaggedKey(benchmark::State& state) {
  std::string key = "et:{s7}:backlog";
  for (auto _ : state) benchmark::DoNotOptimize(redis::cluster::key_slot(key));
}
BENCHMARK(BM_ClusterKeySlotOfATaggedKey);

void BM_ClusterRouteOfAnEvalsha(benchmark::State& state) {
  redis::cluster::SlotMap map("127.0.0.1:7000");
  for (int slot = 0; slot < 16384; slot += 1024) map.assign(slot, "127.0.0.1:" + std::to_string(7000 + slot / 1024));
  const std::string_view args[] = {"EVALSHA", "0123456789abcdef0123456789abcdef01234567", "3",
                                   "et:{s7}:stream", "et:{s7}:backlog", "et:{s7}:seen", "payload"};
  for (auto _ : state) {
    auto key = redis::cluster::routing_key(args);
    benchmark::DoNotOptimize(map.master(redis::cluster::key_slot(*key)));
  }
}
BENCHMARK(BM_ClusterRouteOfAnEvalsha);

constexpr int kCommandsPerRound = 20000;

// kCommandsPerRound SETs issued at once from one thread, waited for together.
template <class Client>
void pipelined_sets(benchmark::State& state, std::shared_ptr<Client> client, asio::io_context& io,
                    const std::string& key_prefix) {
  client->start();
  std::exception_ptr error;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await client->wait_connected(5s);
        if (!client->connected()) throw std::runtime_error("not connected");
        auto executor = co_await asio::this_coro::executor;
        std::vector<std::string> keys;
        for (int i = 0; i < kCommandsPerRound; ++i) keys.push_back(key_prefix + std::to_string(i));
        asio::steady_timer timer(executor);
        for (auto _ : state) {
          int finished = 0;
          for (const auto& key : keys) {
            asio::co_spawn(
                executor,
                [&]() -> asio::awaitable<void> {
                  const std::string_view set[] = {"SET", key, "v"};
                  co_await client->execute(set, 5s);
                },
                [&](std::exception_ptr e) {
                  if (e && !error) error = e;
                  ++finished;
                });
          }
          while (finished < kCommandsPerRound) {
            timer.expires_after(100us);
            co_await timer.async_wait(asio::use_awaitable);
          }
        }
      },
      [&](std::exception_ptr e) {
        if (e && !error) error = e;
        client->stop();
      });
  io.run();
  if (error) {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
    }
  }
  state.SetItemsProcessed(state.iterations() * kCommandsPerRound);
}

std::vector<std::string> cluster_seeds(benchmark::State& state) {
  const char* seeds = std::getenv("TRACKER_REDIS_CLUSTER");
  if (!seeds || !*seeds) {
    state.SkipWithError("TRACKER_REDIS_CLUSTER is not set (tools/dev.sh cluster-start; eval \"$(tools/dev.sh env)\")");
    return {};
  }
  return redis::cluster::parse_seeds(seeds);
}

// The master of the tag the one-master cases use, as the cluster says now.
std::string master_of_tag(const std::vector<std::string>& seeds) {
  asio::io_context io;
  tracker::metrics::Registry metrics;
  redis::ClusterOptions options;
  options.seeds = seeds;
  auto client = redis::ClusterClient::create(io.get_executor(), options, metrics);
  client->start();
  std::string master;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await client->wait_connected(5s);
        master = client->master_of("{bench}").value_or("");
      },
      [&](std::exception_ptr) { client->stop(); });
  io.run();
  if (master.empty()) throw std::runtime_error("no master for {bench}");
  return master;
}

void BM_ConnectionToOneMasterPipelinedSets(benchmark::State& state) {
  auto seeds = cluster_seeds(state);
  if (seeds.empty()) return;
  auto master = redis::cluster::parse_endpoint(master_of_tag(seeds)).value();
  asio::io_context io;
  tracker::metrics::Registry metrics;
  redis::ConnectionOptions options;
  options.host = master.host;
  options.port = master.port;
  pipelined_sets(state, redis::Connection::create(io.get_executor(), options, metrics), io, "{bench}:");
}
BENCHMARK(BM_ConnectionToOneMasterPipelinedSets)->Unit(benchmark::kMillisecond)->UseRealTime();

void cluster_client_sets(benchmark::State& state, const std::string& key_prefix) {
  auto seeds = cluster_seeds(state);
  if (seeds.empty()) return;
  asio::io_context io;
  tracker::metrics::Registry metrics;
  redis::ClusterOptions options;
  options.seeds = seeds;
  pipelined_sets(state, redis::ClusterClient::create(io.get_executor(), options, metrics), io, key_prefix);
}

void BM_ClusterClientToOneMasterPipelinedSets(benchmark::State& state) { cluster_client_sets(state, "{bench}:"); }
BENCHMARK(BM_ClusterClientToOneMasterPipelinedSets)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ClusterClientToAllMastersPipelinedSets(benchmark::State& state) { cluster_client_sets(state, "bench:"); }
BENCHMARK(BM_ClusterClientToAllMastersPipelinedSets)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
