// redis::ClusterClient against a real Redis Cluster of 3 masters and 3 replicas, named by
// TRACKER_REDIS_CLUSTER (host:port,...; tools/dev.sh test starts one, or by hand
// tools/dev.sh cluster-start and eval "$(tools/dev.sh env)"). The tests move slots
// between masters and kill a master, so they need a cluster of their own.
#include "metrics/metrics.hpp"
#include "ports/errors.hpp"
#include "redis/cluster.hpp"
#include "redis/cluster_slots.hpp"
#include "redis/connection.hpp"
#include "redis/errors.hpp"
#include "redis/event_store.hpp"
#include "redis/keys.hpp"
#include "redis/lua_scripts.hpp"
#include "redis/script.hpp"
#include "redis_support.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace ports = tracker::ports;
namespace cluster = tracker::redis::cluster;
using namespace std::chrono_literals;
using tracker::redis::ClusterClient;
using tracker::redis::ClusterOptions;
using tracker::redis::Connection;
using tracker::redis::ConnectionOptions;
using tracker::redis::Reply;
using tracker::redis::Script;
using tracker::testing::unique_key;

std::vector<std::string> seeds() {
  const char* list = std::getenv("TRACKER_REDIS_CLUSTER");
  if (!list || !*list) {
    throw std::runtime_error("TRACKER_REDIS_CLUSTER is not set: start a cluster (tools/dev.sh cluster-start) "
                             "and eval \"$(tools/dev.sh env)\"");
  }
  return cluster::parse_seeds(list);
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor, duration);
  co_await timer.async_wait(asio::use_awaitable);
}

// One command on one node, over a connection of its own (administration: SETSLOT,
// MIGRATE, CONFIG GET), bypassing the client under test.
asio::awaitable<Reply> node_command(const std::string& endpoint, std::vector<std::string> command) {
  static tracker::metrics::Registry metrics;
  auto address = cluster::parse_endpoint(endpoint).value();
  ConnectionOptions options;
  options.host = address.host;
  options.port = address.port;
  auto connection = Connection::create(co_await asio::this_coro::executor, options, metrics);
  connection->start();
  std::exception_ptr error;
  Reply reply;
  try {
    co_await connection->wait_connected(3s);
    std::vector<std::string_view> args(command.begin(), command.end());
    reply = co_await connection->execute(args, 5s);
  } catch (...) {
    error = std::current_exception();
  }
  connection->stop();
  if (error) std::rethrow_exception(error);
  co_return reply;
}

// The words are made strings here, outside any coroutine: GCC 12 miscompiles a braced
// list of literals in a coroutine's co_await expression ("array used as initializer").
template <class... Words>
asio::awaitable<Reply> on_node(const std::string& endpoint, Words&&... words) {
  return node_command(endpoint, std::vector<std::string>{std::string(std::forward<Words>(words))...});
}

asio::awaitable<Reply> client_command(ClusterClient& client, std::vector<std::string> command) {
  std::vector<std::string_view> args(command.begin(), command.end());
  co_return co_await client.execute(args, 2s);
}

template <class... Words>
asio::awaitable<Reply> run(ClusterClient& client, Words&&... words) {
  return client_command(client, std::vector<std::string>{std::string(std::forward<Words>(words))...});
}

std::uint64_t counter(tracker::metrics::Registry& metrics, const char* name, const char* labels = "") {
  return metrics.counter(name, "", labels).value();
}

// Runs `body(client, metrics)` with a started ClusterClient that has read the slot map.
template <class Body>
void with_cluster(Body body) {
  asio::io_context io;
  tracker::metrics::Registry metrics;
  ClusterOptions options;
  options.seeds = seeds();
  auto client = ClusterClient::create(io.get_executor(), options, metrics);
  client->start();
  std::exception_ptr error;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await client->wait_connected(10s);
        if (!client->connected()) throw std::runtime_error("the cluster client did not connect");
        co_await body(*client, metrics);
      },
      [&](std::exception_ptr e) {
        error = e;
        client->stop();
      });
  io.run();
  if (error) std::rethrow_exception(error);
}

// ASSERT_* cannot stop a coroutine (it returns); this ends the test body by throwing.
void require(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error("requirement failed: " + what);
}

std::string node_id(const Reply& reply) { return reply.text; }

// Moves `slot` from one master to another the way redis-cli --cluster reshard does,
// stopping half-way when asked: IMPORTING/MIGRATING, MIGRATE of `keys`, then the new
// owner announced to both (the rest learn it by gossip).
asio::awaitable<void> begin_migration(int slot, const std::string& from, const std::string& to) {
  std::string from_id = node_id(co_await on_node(from, "CLUSTER", "MYID"));
  std::string to_id = node_id(co_await on_node(to, "CLUSTER", "MYID"));
  co_await on_node(to, "CLUSTER", "SETSLOT", std::to_string(slot), "IMPORTING", from_id);
  co_await on_node(from, "CLUSTER", "SETSLOT", std::to_string(slot), "MIGRATING", to_id);
}

asio::awaitable<void> migrate_keys(const std::string& from, const std::string& to,
                                   const std::vector<std::string>& keys) {
  auto address = cluster::parse_endpoint(to).value();
  std::vector<std::string> command = {"MIGRATE", address.host, std::to_string(address.port), "", "0", "5000", "KEYS"};
  command.insert(command.end(), keys.begin(), keys.end());
  co_await node_command(from, command);
}

asio::awaitable<void> end_migration(int slot, const std::string& from, const std::string& to,
                                   const std::vector<std::string>& masters) {
  std::string to_id = node_id(co_await on_node(to, "CLUSTER", "MYID"));
  co_await on_node(to, "CLUSTER", "SETSLOT", std::to_string(slot), "NODE", to_id);
  co_await on_node(from, "CLUSTER", "SETSLOT", std::to_string(slot), "NODE", to_id);
  // Until gossip has told every master, a map read from one of them would still give
  // the old owner, and what the client's map says next would depend on which it asked.
  for (const auto& master : masters) {
    for (int i = 0;; ++i) {
      auto map = cluster::SlotMap::from_cluster_slots(co_await on_node(master, "CLUSTER", "SLOTS"), "");
      if (map.master(slot) && *map.master(slot) == to) break;
      if (i == 100) throw std::runtime_error(master + " did not learn the new owner of slot " + std::to_string(slot));
      co_await sleep_for(50ms);
    }
  }
}

asio::awaitable<void> move_slot(int slot, const std::string& from, const std::string& to,
                                const std::vector<std::string>& keys, const std::vector<std::string>& masters) {
  co_await begin_migration(slot, from, to);
  co_await migrate_keys(from, to, keys);
  co_await end_migration(slot, from, to, masters);
}

std::string other_master(ClusterClient& client, const std::string& master) {
  for (const auto& candidate : client.masters()) {
    if (candidate != master) return candidate;
  }
  throw std::runtime_error("the cluster has one master only");
}

TEST(ClusterClient, RoutesKeysToEveryMasterAndReadsThemBack) {
  with_cluster([](ClusterClient& client, tracker::metrics::Registry&) -> asio::awaitable<void> {
    EXPECT_EQ(client.masters().size(), 3u);
    std::string prefix = unique_key("route");
    constexpr int kKeys = 300;
    int finished = 0;
    std::exception_ptr failure;
    auto executor = co_await asio::this_coro::executor;
    // All at once: the commands for each master share its connection's pipeline.
    for (int i = 0; i < kKeys; ++i) {
      asio::co_spawn(
          executor,
          [&, i]() -> asio::awaitable<void> {
            std::string key = prefix + ":" + std::to_string(i);
            co_await run(client, "SET", key, "v" + std::to_string(i));
          },
          [&](std::exception_ptr e) {
            if (e && !failure) failure = e;
            ++finished;
          });
    }
    while (finished < kKeys) co_await sleep_for(5ms);
    if (failure) std::rethrow_exception(failure);

    std::set<std::string> holders;
    for (int i = 0; i < kKeys; ++i) {
      std::string key = prefix + ":" + std::to_string(i);
      EXPECT_EQ((co_await run(client, "GET", key)).text, "v" + std::to_string(i));
      // The node the map names holds the key itself: asked directly, it answers, no MOVED.
      std::string master = client.master_of(key).value();
      EXPECT_EQ((co_await on_node(master, "GET", key)).text, "v" + std::to_string(i)) << key;
      holders.insert(master);
    }
    EXPECT_EQ(holders.size(), 3u);
    // Keyless commands go to some master.
    EXPECT_EQ((co_await run(client, "PING")).text, "PONG");
  });
}

TEST(ClusterClient, FollowsMovedAfterASlotMigration) {
  with_cluster([](ClusterClient& client, tracker::metrics::Registry& metrics) -> asio::awaitable<void> {
    std::string key = "{" + unique_key("moved") + "}";
    int slot = cluster::key_slot(key);
    co_await run(client, "SET", key, "before");
    std::string from = client.master_of(key).value();
    std::string to = other_master(client, from);

    co_await move_slot(slot, from, to, std::vector<std::string>(1, key), client.masters());
    auto moved_before = counter(metrics, "tracker_redis_cluster_redirects_total", "kind=\"moved\"");
    // The client's map still names the old owner, which answers MOVED.
    EXPECT_EQ(client.master_of(key), from);
    EXPECT_EQ((co_await run(client, "GET", key)).text, "before");
    EXPECT_EQ(counter(metrics, "tracker_redis_cluster_redirects_total", "kind=\"moved\""), moved_before + 1);
    EXPECT_EQ(client.master_of(key), to);
    co_await run(client, "SET", key, "after");
    EXPECT_EQ((co_await on_node(to, "GET", key)).text, "after");

    // And back, so that the cluster keeps its shape for the other tests.
    co_await move_slot(slot, to, from, std::vector<std::string>(1, key), client.masters());
    EXPECT_EQ((co_await run(client, "GET", key)).text, "after");
  });
}

TEST(ClusterClient, FollowsAskWhileASlotIsHalfMigrated) {
  with_cluster([](ClusterClient& client, tracker::metrics::Registry& metrics) -> asio::awaitable<void> {
    std::string tag = "{" + unique_key("ask") + "}";
    std::string moved_key = tag + "moved";
    std::string staying_key = tag + "staying";
    std::string new_key = tag + "new";
    int slot = cluster::key_slot(tag);
    co_await run(client, "SET", moved_key, "m");
    co_await run(client, "SET", staying_key, "s");
    std::string from = client.master_of(tag).value();
    std::string to = other_master(client, from);

    co_await begin_migration(slot, from, to);
    co_await migrate_keys(from, to, std::vector<std::string>(1, moved_key));
    auto asks = counter(metrics, "tracker_redis_cluster_redirects_total", "kind=\"ask\"");
    auto moves = counter(metrics, "tracker_redis_cluster_redirects_total", "kind=\"moved\"");
    // The old owner still serves the keys it has, and sends the others on with ASK.
    EXPECT_EQ((co_await run(client, "GET", staying_key)).text, "s");
    EXPECT_EQ(counter(metrics, "tracker_redis_cluster_redirects_total", "kind=\"ask\""), asks);
    EXPECT_EQ((co_await run(client, "GET", moved_key)).text, "m");
    EXPECT_EQ(counter(metrics, "tracker_redis_cluster_redirects_total", "kind=\"ask\""), asks + 1);
    // A key that exists nowhere yet is made on the importing node.
    co_await run(client, "SET", new_key, "n");
    EXPECT_EQ(counter(metrics, "tracker_redis_cluster_redirects_total", "kind=\"ask\""), asks + 2);
    // ASK leaves the map alone: the slot is still the old owner's until the move ends.
    EXPECT_EQ(client.master_of(tag), from);
    EXPECT_EQ(counter(metrics, "tracker_redis_cluster_redirects_total", "kind=\"moved\""), moves);

    // Keys on both sides: a command on both is refused (TRYAGAIN) until the rest move.
    auto tries_again = counter(metrics, "tracker_redis_cluster_try_again_total");
    std::optional<Reply> both;
    std::exception_ptr both_error;
    bool both_done = false;
    asio::co_spawn(
        co_await asio::this_coro::executor,
        [&]() -> asio::awaitable<void> { both = co_await run(client, "MGET", moved_key, staying_key); },
        [&](std::exception_ptr e) {
          both_error = e;
          both_done = true;
        });
    while (!both_done && counter(metrics, "tracker_redis_cluster_try_again_total") == tries_again) {
      co_await sleep_for(5ms);
    }
    EXPECT_FALSE(both_done);
    co_await migrate_keys(from, to, std::vector<std::string>(1, staying_key));
    while (!both_done) co_await sleep_for(5ms);
    if (both_error) std::rethrow_exception(both_error);
    require(both && both->elements.size() == 2, "two values from MGET");
    EXPECT_EQ(both->elements[0].text, "m");
    EXPECT_EQ(both->elements[1].text, "s");
    EXPECT_GT(counter(metrics, "tracker_redis_cluster_try_again_total"), tries_again);

    co_await end_migration(slot, from, to, client.masters());
    std::vector<std::pair<std::string, std::string>> expected;
    expected.emplace_back(moved_key, "m");
    expected.emplace_back(staying_key, "s");
    expected.emplace_back(new_key, "n");
    for (const auto& [key, value] : expected) {
      EXPECT_EQ((co_await run(client, "GET", key)).text, value) << key;
    }
    std::vector<std::string> all_keys = {moved_key, staying_key, new_key};
    co_await move_slot(slot, to, from, all_keys, client.masters());
  });
}

TEST(ClusterClient, ScriptsRunOnEveryMasterAfterNoscript) {
  with_cluster([](ClusterClient& client, tracker::metrics::Registry&) -> asio::awaitable<void> {
    // One tag per master, keys of one tag per call, as the ingest script's callers do.
    std::map<std::string, std::string> tag_of_master;
    std::string run_id = unique_key("script");
    for (int i = 0; tag_of_master.size() < client.masters().size() && i < 1000; ++i) {
      std::string tag = "{" + run_id + ":" + std::to_string(i) + "}";
      tag_of_master.emplace(client.master_of(tag).value(), tag);
    }
    require(tag_of_master.size() == 3, "a tag for each of 3 masters");
    // No master knows the script: every first call meets NOSCRIPT on its own node.
    const std::string_view flush[] = {"SCRIPT", "FLUSH"};
    EXPECT_EQ((co_await client.execute_on_all_masters(flush, 2s)).size(), 3u);

    Script script("redis.call('SET', KEYS[2], ARGV[1]); return redis.call('INCR', KEYS[1])");
    for (int round = 1; round <= 2; ++round) {
      for (const auto& [master, tag] : tag_of_master) {
        std::string counter_key = tag + "n";
        std::string value_key = tag + "v";
        const std::string_view keys[] = {counter_key, value_key};
        const std::string_view args[] = {master};
        EXPECT_EQ((co_await script.run(client, keys, args)).integer, round) << master;
        EXPECT_EQ((co_await on_node(master, "GET", value_key)).text, master);
      }
    }
    // Loaded by the calls above, on each master (the second round ran EVALSHA).
    for (const auto& master : client.masters()) {
      Reply exists = co_await on_node(master, "SCRIPT", "EXISTS", script.sha());
      require(exists.elements.size() == 1, "one answer to SCRIPT EXISTS");
      EXPECT_EQ(exists.elements[0].integer, 1) << master;
    }
  });
}

// The ingest module's command (when every node has loaded it) goes where the script
// goes: each shard's call to the master of its slot; and while that slot moves, both are
// refused on the old owner with TRYAGAIN once it holds some of their keys (their seventh
// key names no key, so some are always missing), which ClusterClient waits out.
TEST(ClusterClient, TheIngestModuleCommandGoesWhereTheScriptGoes) {
  bool loaded = true;
  with_cluster([&](ClusterClient& client, tracker::metrics::Registry&) -> asio::awaitable<void> {
    for (const auto& master : client.masters()) {
      Reply info = co_await on_node(master, "COMMAND", "INFO", "TRACKER.INGEST");
      if (info.elements.empty() || info.elements.front().type != Reply::Type::Array) loaded = false;
    }
  });
  if (!loaded) GTEST_SKIP() << "the cluster's nodes have not loaded the ingest module";
  // Built outside the coroutine (GCC 12): one tag, its seven keys, a call's head.
  const std::string tag = "{" + unique_key("ingest") + "}";
  const std::vector<std::string> call_keys{tracker::redis::keys::stream(tag),
                                           tracker::redis::keys::backlog(tag),
                                           tracker::redis::keys::live_totals(tag),
                                           tracker::redis::keys::live_minutes(tag),
                                           tracker::redis::keys::live_minute_index(tag),
                                           tracker::redis::keys::ranking_versions(tag),
                                           tracker::redis::keys::dedup_prefix(tag)};
  std::vector<std::vector<std::string>> calls{{"EVAL", std::string(tracker::redis::lua::ingest)}, {"TRACKER.INGEST"}};
  for (auto& call : calls) {
    call.push_back(std::to_string(call_keys.size()));
    call.insert(call.end(), call_keys.begin(), call_keys.end());
    // No events: the call only reads the backlog; the sections' counts are all 0.
    for (const char* value : {"3600", "0", "0", "0", "", "0", "0", "0", "0", "0", "0", "0", "0", "0"}) {
      call.emplace_back(value);
    }
  }
  with_cluster([&](ClusterClient& client, tracker::metrics::Registry&) -> asio::awaitable<void> {
    for (const auto& call : calls) {
      Reply reply = co_await client_command(client, call);
      EXPECT_EQ(reply.type, Reply::Type::Array) << call[0];
      EXPECT_TRUE(reply.elements.empty()) << call[0];
    }
    const int slot = cluster::key_slot(tag);
    const std::string from = client.master_of(tag).value();
    const std::string to = other_master(client, from);
    // On the old owner: none of the keys there yet, ASK (to the new one); some, TRYAGAIN.
    for (const char* expected : {"ASK", "TRYAGAIN"}) {
      if (std::string_view(expected) == "TRYAGAIN") co_await on_node(from, "SET", call_keys.at(1), "0");
      co_await begin_migration(slot, from, to);
      for (const auto& call : calls) {
        std::string refusal = "(none)";
        try {
          co_await node_command(from, call);
        } catch (const tracker::redis::TryAgain&) {
          refusal = "TRYAGAIN";
        } catch (const tracker::redis::Redirected& error) {
          refusal = error.ask() ? "ASK" : "MOVED";
        } catch (const std::exception& error) {
          refusal = error.what();
        }
        EXPECT_EQ(refusal, expected) << call[0];
      }
      co_await on_node(from, "CLUSTER", "SETSLOT", std::to_string(slot), "STABLE");
      co_await on_node(to, "CLUSTER", "SETSLOT", std::to_string(slot), "STABLE");
    }
    co_await on_node(from, "DEL", call_keys.at(1));
  });
}

// Last: it changes which nodes are masters.
TEST(ClusterClient, CommandsSucceedAgainAfterAMasterIsKilledAndItsReplicaTakesOver) {
  with_cluster([](ClusterClient& client, tracker::metrics::Registry&) -> asio::awaitable<void> {
    std::string key = "{" + unique_key("failover") + "}";
    co_await run(client, "SET", key, "1");
    std::string victim = client.master_of(key).value();
    // Make sure a replica has the key before the master dies (replication is asynchronous).
    const std::string_view wait[] = {"WAIT", "1", "2000"};
    EXPECT_EQ((co_await client.execute_at(key, wait, 3s)).integer, 1);
    Reply info = co_await on_node(victim, "INFO", "server");
    auto field = [&](std::string_view name) {
      auto at = info.text.find(std::string(name) + ":");
      if (at == std::string::npos) throw std::runtime_error("INFO server has no " + std::string(name));
      at += name.size() + 1;
      return info.text.substr(at, info.text.find('\r', at) - at);
    };
    pid_t pid = static_cast<pid_t>(std::stol(field("process_id")));
    std::string config_file = field("config_file");
    require(!config_file.empty(), "the master's config_file");
    require(::kill(pid, SIGKILL) == 0, "kill -9 the master");

    // Until the replica is promoted (cluster-node-timeout 2 s, then an election) the
    // slot has no master: typed store errors only, never anything else.
    auto give_up = std::chrono::steady_clock::now() + 30s;
    int failures = 0;
    for (;;) {
      try {
        co_await run(client, "INCR", key);
        break;
      } catch (const ports::StoreError&) {
        ++failures;
        if (std::chrono::steady_clock::now() > give_up) throw;
      }
      co_await sleep_for(100ms);
    }
    EXPECT_GT(failures, 0);  // the master was really gone for a while
    EXPECT_NE(client.master_of(key), victim);
    EXPECT_EQ((co_await run(client, "GET", key)).text, "2");

    // Bring the old master back; it rejoins as a replica of its successor.
    require(std::system(("redis-server '" + config_file + "'").c_str()) == 0, "restart the killed master");
    for (int i = 0; i < 300; ++i) {
      bool ok = true;
      for (const auto& master : client.masters()) {
        try {
          Reply state = co_await on_node(master, "CLUSTER", "INFO");
          ok = ok && state.text.find("cluster_state:ok") != std::string::npos;
        } catch (const ports::StoreError&) {
          ok = false;
        }
      }
      try {
        Reply state = co_await on_node(victim, "CLUSTER", "INFO");
        ok = ok && state.text.find("cluster_state:ok") != std::string::npos;
      } catch (const ports::StoreError&) {
        ok = false;
      }
      if (ok) break;
      co_await sleep_for(100ms);
    }
    EXPECT_EQ((co_await on_node(victim, "PING")).text, "PONG");
  });
}

}  // namespace
