// The module command TRACKER.INGEST (src/redis/module) writes part of its effects through
// the key API and replicates those itself (HSET, ZADD, XADD with the entry's id). Here a
// master of its own (the module loaded, AOF on) and a replica of it (no module: what it
// receives must be plain commands) are started on free ports; after calls of every kind
// the replica holds the same keys, values and stream ids as the master, and so does the
// master restarted from its AOF alone (without the module). The same calls made with the
// Lua script into another database leave the same data and TTLs (stream ids aside).
#include "domain/event_id.hpp"
#include "redis/event_store.hpp"
#include "redis_support.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace domain = tracker::domain;
using namespace std::chrono_literals;
using domain::EventType;
using tracker::redis::Connection;
using tracker::redis::Reply;

std::uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

// A redis-server of the test's own, in a folder of its own.
class RedisProcess {
 public:
  RedisProcess(std::filesystem::path dir, std::vector<std::string> settings)
      : dir_(std::move(dir)), port_(free_port()), settings_(std::move(settings)) {
    std::filesystem::create_directories(dir_);
  }
  ~RedisProcess() { stop(); }

  std::uint16_t port() const { return port_; }
  void start(const std::vector<std::string>& more = {}) {
    std::ofstream conf(dir_ / "redis.conf");
    conf << "bind 127.0.0.1\nport " << port_ << "\ndaemonize yes\nsave \"\"\n"
         << "dir \"" << dir_.string() << "\"\nlogfile \"" << (dir_ / "redis.log").string() << "\"\n"
         << "pidfile \"" << (dir_ / "redis.pid").string() << "\"\n";
    for (const auto& line : settings_) conf << line << "\n";
    for (const auto& line : more) conf << line << "\n";
    conf.close();
    ASSERT_EQ(std::system(("redis-server '" + (dir_ / "redis.conf").string() + "' >/dev/null").c_str()), 0);
    for (int i = 0; i < 100 && !answers(); ++i) std::this_thread::sleep_for(50ms);
    ASSERT_TRUE(answers()) << "redis-server on port " << port_ << " did not start; see " << dir_ / "redis.log";
    running_ = true;
  }
  // SHUTDOWN writes and fsyncs the AOF before the process exits.
  void stop() {
    if (!running_) return;
    cli("shutdown");
    for (int i = 0; i < 100 && answers(); ++i) std::this_thread::sleep_for(50ms);
    running_ = false;
  }
  tracker::redis::ConnectionOptions options() const {
    auto options = tracker::testing::options();
    options.host = "127.0.0.1";
    options.port = port_;
    return options;
  }
  std::string cli(const std::string& command) const {
    const std::string line = "redis-cli -p " + std::to_string(port_) + " " + command + " 2>/dev/null";
    std::string out;
    if (FILE* pipe = ::popen(line.c_str(), "r")) {
      char buffer[512];
      while (std::fgets(buffer, sizeof buffer, pipe)) out += buffer;
      ::pclose(pipe);
    }
    return out;
  }

 private:
  bool answers() const { return cli("ping").rfind("PONG", 0) == 0; }

  std::filesystem::path dir_;
  std::uint16_t port_;
  std::vector<std::string> settings_;
  bool running_ = false;
};

using tracker::testing::run;
using tracker::testing::words;

std::string joined(std::vector<std::string> items, bool sort) {
  if (sort) std::sort(items.begin(), items.end());
  std::string out;
  for (const auto& item : items) out += item + ";";
  return out;
}

// Every key: its type and value as one comparable text (stream entries with their ids,
// HyperLogLogs by their bytes), and its time to live in ms.
struct Contents {
  std::map<std::string, std::string> values;
  std::map<std::string, std::int64_t> ttls;
};

asio::awaitable<Contents> read_all(Connection& redis, bool stream_ids = true) {
  Contents contents;
  Reply all = co_await run(redis, words("KEYS", "*"));
  for (const Reply& key_reply : all.elements) {
    const std::string key = key_reply.text;
    const std::string type = (co_await run(redis, words("TYPE", key))).text;
    std::vector<std::string> items;
    auto pairs = [&items](const Reply& reply) {
      for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
        items.push_back(reply.elements[i].text + "=" + reply.elements[i + 1].text);
      }
    };
    if (type == "hash") {
      pairs(co_await run(redis, words("HGETALL", key)));
      contents.values[key] = "hash:" + joined(items, true);
    } else if (type == "zset") {
      pairs(co_await run(redis, words("ZRANGE", key, "0", "-1", "WITHSCORES")));
      contents.values[key] = "zset:" + joined(items, false);
    } else if (type == "set") {
      for (const Reply& member : (co_await run(redis, words("SMEMBERS", key))).elements) items.push_back(member.text);
      contents.values[key] = "set:" + joined(items, true);
    } else if (type == "list") {
      for (const Reply& item : (co_await run(redis, words("LRANGE", key, "0", "-1"))).elements) {
        items.push_back(item.text);
      }
      contents.values[key] = "list:" + joined(items, false);
    } else if (type == "stream") {
      for (const Reply& entry : (co_await run(redis, words("XRANGE", key, "-", "+"))).elements) {
        std::string text = (stream_ids ? entry.elements.at(0).text : std::string()) + "[";
        for (const Reply& field : entry.elements.at(1).elements) text += field.text + "/";
        items.push_back(text + "]");
      }
      contents.values[key] = "stream:" + joined(items, false);
    } else {
      contents.values[key] = "string:" + (co_await run(redis, words("GET", key))).text;
    }
    contents.ttls[key] = (co_await run(redis, words("PTTL", key))).as_int();
  }
  co_return contents;
}

void expect_same(const Contents& actual, const Contents& expected, const std::string& what) {
  EXPECT_EQ(actual.values, expected.values) << what;
  for (const auto& [key, ttl] : expected.ttls) {
    auto found = actual.ttls.find(key);
    if (found == actual.ttls.end()) continue;  // reported above
    if (ttl < 0) {
      EXPECT_EQ(found->second, ttl) << what << ": " << key;
    } else {
      EXPECT_NEAR(static_cast<double>(found->second), static_cast<double>(ttl), 5000.0) << what << ": " << key;
    }
  }
}

// Calls of every kind: summed and checked events, client eventIds and their repeats,
// LIKEs and UNLIKEs on a few posts, searches (recent keywords), many fields per call.
// Built outside coroutines (GCC 12).
std::vector<std::vector<domain::Event>> calls() {
  domain::EventIdGenerator ids;
  std::mt19937 random(7);
  const std::int64_t now = tracker::testing::now_ms();
  const EventType types[] = {EventType::PageView, EventType::Search, EventType::Click, EventType::Like,
                             EventType::Unlike,   EventType::Scroll, EventType::Comment, EventType::Share};
  const std::string keywords[] = {"cats", "dogs", "a|b", "x:y", "naïve", "k6", "k7", "k8", "k9", "k10", "k11", "k12"};
  std::vector<std::vector<domain::Event>> out;
  for (int call = 0; call < 12; ++call) {
    std::vector<domain::Event> events;
    const int size = call % 3 == 0 ? 1 : 40;
    for (int i = 0; i < size; ++i) {
      domain::Event event;
      event.server_time_ms = now - static_cast<std::int64_t>(random() % 3) * 60'000;
      event.event_time_ms = event.server_time_ms;
      event.id = ids.next(event.server_time_ms);
      event.type = types[random() % std::size(types)];
      event.user_id = 1 + random() % 5;
      event.session_id = "replication";
      event.component_id = 1 + random() % 2;
      if (event.type != EventType::Search) event.post_id = 1 + random() % 4;
      if (event.type == EventType::Search) event.keyword = keywords[random() % std::size(keywords)];
      if (random() % 4 == 0) event.client_event_id = "client-" + std::to_string(random() % 30);  // repeats too
      events.push_back(std::move(event));
    }
    out.push_back(std::move(events));
  }
  // More posts than an hourly ranking keeps (1,000).
  std::vector<domain::Event> views;
  for (std::int64_t post = 1; post <= 1100; ++post) {
    domain::Event event;
    event.server_time_ms = now;
    event.event_time_ms = now;
    event.id = ids.next(now);
    event.type = EventType::PageView;
    event.user_id = 1;
    event.session_id = "replication";
    event.component_id = 1;
    event.post_id = post;
    views.push_back(std::move(event));
  }
  out.push_back(std::move(views));
  return out;
}

TEST(IngestModuleReplication, ReplicaAndAofReloadHoldWhatTheMasterHolds) {
#ifndef TRACKER_INGEST_MODULE_PATH
  GTEST_SKIP() << "this build has no ingest module (a sanitizer build)";
#else
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("tracker-module-replication-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  RedisProcess master(dir / "master", {"appendonly yes", "appendfsync always", "appenddirname \"aof\""});
  master.start({"loadmodule \"" TRACKER_INGEST_MODULE_PATH "\""});
  if (HasFatalFailure()) return;
  RedisProcess replica(dir / "replica", {});
  replica.start({"replicaof 127.0.0.1 " + std::to_string(master.port())});
  if (HasFatalFailure()) return;
  for (int i = 0; i < 200 && replica.cli("info replication").find("master_link_status:up") == std::string::npos; ++i) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_NE(replica.cli("info replication").find("master_link_status:up"), std::string::npos);

  const auto all_calls = calls();
  Contents on_master;
  tracker::testing::with_shared_connection(
      master.options(),
      [&](std::shared_ptr<Connection> redis, tracker::metrics::Registry& metrics) -> asio::awaitable<void> {
        tracker::redis::EventStoreOptions options;
        options.engine = tracker::redis::IngestEngine::Module;
        options.wait_replicas = 1;  // every call's writes are on the replica before it is answered
        options.wait_timeout = 5000ms;
        tracker::redis::EventStore store(redis, options, metrics);
        for (const auto& call : all_calls) co_await store.append(call);
        on_master = co_await read_all(*redis);
      });
  ASSERT_GT(on_master.values.size(), 20u);
  tracker::testing::with_connection(replica.options(), [&](Connection& redis) -> asio::awaitable<void> {
    expect_same(co_await read_all(redis), on_master, "replica");
  });

  tracker::testing::with_shared_connection(
      master.options(),
      [&](std::shared_ptr<Connection> redis, tracker::metrics::Registry& metrics) -> asio::awaitable<void> {
        co_await run(*redis, words("SELECT", "1"));
        tracker::redis::EventStore store(redis, {}, metrics);  // the Lua script
        for (const auto& call : all_calls) co_await store.append(call);
        const Contents by_script = co_await read_all(*redis, false);
        co_await run(*redis, words("SELECT", "0"));
        const Contents by_module = co_await read_all(*redis, false);
        expect_same(by_module, by_script, "the module and the script");
        co_await run(*redis, words("SELECT", "1"));
        co_await run(*redis, words("FLUSHDB"));
      });

  master.stop();
  replica.stop();
  master.start();  // the same folder and AOF, without the module
  if (HasFatalFailure()) return;
  tracker::testing::with_connection(master.options(), [&](Connection& redis) -> asio::awaitable<void> {
    EXPECT_TRUE((co_await run(redis, words("COMMAND", "INFO", "TRACKER.INGEST"))).elements.at(0).is_nil());
    expect_same(co_await read_all(redis), on_master, "master reloaded from its AOF");
  });
  master.stop();
  if (!HasFailure()) std::filesystem::remove_all(dir);
#endif
}

}  // namespace
