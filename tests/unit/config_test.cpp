// Settings from the environment (TRACKER_*) and the command line (--name=value).
#include "config/config.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

extern char** environ;

namespace {

using tracker::config::Config;

// Clears every TRACKER_* variable for the test and puts the originals back afterwards, so
// the tests neither see nor leak settings of the shell that runs them.
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (char** entry = environ; *entry; ++entry) {
      std::string text = *entry;
      if (!text.starts_with("TRACKER_")) continue;
      auto equals = text.find('=');
      saved_.emplace_back(text.substr(0, equals), text.substr(equals + 1));
    }
    for (const auto& [name, value] : saved_) unsetenv(name.c_str());
  }
  void TearDown() override {
    for (const std::string& name : set_) unsetenv(name.c_str());
    for (const auto& [name, value] : saved_) setenv(name.c_str(), value.c_str(), 1);
  }

  void set_env(const std::string& name, const std::string& value) {
    setenv(name.c_str(), value.c_str(), 1);
    set_.push_back(name);
  }

  // Runs load() with the given arguments after the program name.
  bool load(Config& config, std::vector<std::string> args) {
    args.insert(args.begin(), "event-tracker");
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    return tracker::config::load(config, static_cast<int>(args.size()), argv.data());
  }

  // The message of the std::invalid_argument that load() throws, or "" when it does not.
  std::string load_error(std::vector<std::string> args) {
    Config config;
    try {
      load(config, std::move(args));
    } catch (const std::invalid_argument& error) {
      return error.what();
    }
    ADD_FAILURE() << "load() accepted the arguments";
    return "";
  }

 private:
  std::vector<std::pair<std::string, std::string>> saved_;
  std::vector<std::string> set_;
};

TEST_F(ConfigTest, DefaultsWithoutEnvironmentOrArguments) {
  Config config;
  EXPECT_TRUE(load(config, {}));
  Config defaults;
  EXPECT_EQ(tracker::config::describe(config), tracker::config::describe(defaults));
  EXPECT_EQ(config.port, 8080);
  EXPECT_EQ(config.listen_address, "0.0.0.0");
  EXPECT_EQ(config.redis_port, 56379);
  EXPECT_TRUE(config.flusher_enabled);
}

TEST_F(ConfigTest, ReadsEqualsAndSpaceSeparatedArguments) {
  Config config;
  ASSERT_TRUE(load(config, {"--port=9090", "--redis-host", "redis.internal", "--log-level=debug",
                            "--pg-dsn=host=db port=5432 user=tracker"}));
  EXPECT_EQ(config.port, 9090);
  EXPECT_EQ(config.redis_host, "redis.internal");
  EXPECT_EQ(config.log_level, "debug");
  EXPECT_EQ(config.pg_dsn, "host=db port=5432 user=tracker") << "only the first '=' splits";
}

TEST_F(ConfigTest, ReadsEveryKindOfNumber) {
  Config config;
  ASSERT_TRUE(load(config, {"--io-threads=3", "--max-connections=12345",
                            "--idle-timeout-ms=1500", "--event-body-limit=65536",
                            "--batch-body-limit=1048576", "--redis-max-pending=7",
                            "--backlog-high-water=42", "--flush-batch-size=500",
                            "--partition-retention-days=-1", "--recent-keywords-ttl-s=60",
                            "--ingest-groups-in-flight=3"}));
  EXPECT_EQ(config.io_threads, 3u);
  EXPECT_EQ(config.max_connections, 12345u);
  EXPECT_EQ(config.idle_timeout_ms, 1500);
  EXPECT_EQ(config.event_body_limit, 65536u);
  EXPECT_EQ(config.batch_body_limit, 1048576u);
  EXPECT_EQ(config.redis_max_pending, 7u);
  EXPECT_EQ(config.backlog_high_water, 42u);
  EXPECT_EQ(config.flush_batch_size, 500u);
  EXPECT_EQ(config.partition_retention_days, -1);
  EXPECT_EQ(config.recent_keywords_ttl_s, 60);
  EXPECT_EQ(config.ingest_groups_in_flight, 3u);
}

TEST_F(ConfigTest, ReadsTheEnvironment) {
  set_env("TRACKER_PORT", "7070");
  set_env("TRACKER_REDIS_HOST", "10.0.0.5");
  set_env("TRACKER_FLUSH_INTERVAL_MS", "50");
  set_env("TRACKER_FLUSHER", "off");
  Config config;
  ASSERT_TRUE(load(config, {}));
  EXPECT_EQ(config.port, 7070);
  EXPECT_EQ(config.redis_host, "10.0.0.5");
  EXPECT_EQ(config.flush_interval_ms, 50);
  EXPECT_FALSE(config.flusher_enabled);
}

TEST_F(ConfigTest, CommandLineWinsOverTheEnvironment) {
  set_env("TRACKER_PORT", "7070");
  set_env("TRACKER_LOG_LEVEL", "warn");
  Config config;
  ASSERT_TRUE(load(config, {"--port=9090"}));
  EXPECT_EQ(config.port, 9090);
  EXPECT_EQ(config.log_level, "warn");
}

TEST_F(ConfigTest, PrintRoutesIsACommandThatTakesNoValue) {
  Config config;
  ASSERT_TRUE(load(config, {"--print-routes", "--port=9090"}));
  EXPECT_TRUE(config.print_routes);
  EXPECT_EQ(config.port, 9090);
  Config plain;
  ASSERT_TRUE(load(plain, {}));
  EXPECT_FALSE(plain.print_routes);
}

TEST_F(ConfigTest, LaterArgumentsWin) {
  Config config;
  ASSERT_TRUE(load(config, {"--port=1", "--port=2"}));
  EXPECT_EQ(config.port, 2);
}

TEST_F(ConfigTest, ParsesBooleans) {
  for (const char* yes : {"1", "true", "on"}) {
    Config config;
    config.flusher_enabled = false;
    ASSERT_TRUE(load(config, {std::string("--flusher=") + yes}));
    EXPECT_TRUE(config.flusher_enabled) << yes;
  }
  for (const char* no : {"0", "false", "off"}) {
    Config config;
    ASSERT_TRUE(load(config, {std::string("--flusher=") + no}));
    EXPECT_FALSE(config.flusher_enabled) << no;
  }
}

TEST_F(ConfigTest, RejectsInvalidBooleans) {
  for (const char* value : {"yes", "no", "2", "", "enabled"}) {
    SCOPED_TRACE(value);
    EXPECT_NE(load_error({std::string("--flusher=") + value}).find("--flusher"), std::string::npos);
  }
}

TEST_F(ConfigTest, RejectsInvalidNumbers) {
  for (const char* arg : {"--port=", "--port=abc", "--port=80x", "--port= 80", "--port=80 ",
                          "--port=65536", "--port=-1", "--port=+80", "--port=8.0",
                          "--io-threads=-2", "--max-connections=1e6",
                          "--idle-timeout-ms=9223372036854775808", "--flush-batch-size=0x10"}) {
    SCOPED_TRACE(arg);
    std::string message = load_error({arg});
    EXPECT_NE(message.find("is not a valid number"), std::string::npos) << message;
  }
}

TEST_F(ConfigTest, ErrorNamesTheOptionAndTheValue) {
  std::string message = load_error({"--redis-port=sixty"});
  EXPECT_NE(message.find("--redis-port"), std::string::npos) << message;
  EXPECT_NE(message.find("'sixty'"), std::string::npos) << message;
}

TEST_F(ConfigTest, RejectsInvalidEnvironmentValues) {
  set_env("TRACKER_PORT", "eighty");
  std::string message = load_error({});
  EXPECT_NE(message.find("--port"), std::string::npos) << message;
}

TEST_F(ConfigTest, AcceptsTheLimitsOfEachNumberType) {
  Config config;
  ASSERT_TRUE(load(config, {"--port=65535", "--redis-timeout-ms=9223372036854775807",
                            "--io-threads=0"}));
  EXPECT_EQ(config.port, 65535);
  EXPECT_EQ(config.redis_timeout_ms, INT64_MAX);
  EXPECT_EQ(config.io_threads, 0u);
}

TEST_F(ConfigTest, StatisticsCacheStaysBelowTheReadSpan) {
  Config config;
  ASSERT_TRUE(load(config, {"--statistics-cache-ms=0"}));
  EXPECT_EQ(config.statistics_cache_ms, 0);
  ASSERT_TRUE(load(config, {"--statistics-cache-ms=1000"}));
  EXPECT_EQ(config.statistics_cache_ms, 1000);
  for (const char* arg : {"--statistics-cache-ms=1001", "--statistics-cache-ms=-1"}) {
    SCOPED_TRACE(arg);
    EXPECT_NE(load_error({arg}).find("--statistics-cache-ms: expected 0..1000"), std::string::npos);
  }
}

TEST_F(ConfigTest, IngestGroupsStayWithinWhatTheScriptCanUnpack) {
  Config config;
  EXPECT_EQ(config.ingest_group_limit, 256u);
  ASSERT_TRUE(load(config, {"--ingest-group-limit=1"}));
  EXPECT_EQ(config.ingest_group_limit, 1u);
  ASSERT_TRUE(load(config, {"--ingest-group-limit=2000"}));
  EXPECT_EQ(config.ingest_group_limit, 2000u);
  for (const char* arg : {"--ingest-group-limit=0", "--ingest-group-limit=2001"}) {
    SCOPED_TRACE(arg);
    EXPECT_NE(load_error({arg}).find("--ingest-group-limit: expected 1..2000"), std::string::npos);
  }
}

TEST_F(ConfigTest, SearchRankingLagIsOffOrPositive) {
  Config config;
  EXPECT_EQ(config.search_ranking_lag_ms, 1000);
  ASSERT_TRUE(load(config, {"--search-ranking-lag-ms=0"}));
  EXPECT_EQ(config.search_ranking_lag_ms, 0);
  EXPECT_NE(load_error({"--search-ranking-lag-ms=-1"}).find("--search-ranking-lag-ms: expected 0..3600000, got -1"),
            std::string::npos);
}

TEST_F(ConfigTest, RedisShardsAndTheFlushersOwnShards) {
  Config config;
  EXPECT_EQ(config.redis_shards, 1u);
  EXPECT_EQ(tracker::config::own_flusher_shards(config), (std::vector<std::size_t>{0}));
  ASSERT_TRUE(load(config, {"--redis-shards=4", "--flusher-shards= 3,1,3 "}));
  EXPECT_EQ(config.redis_shards, 4u);
  EXPECT_EQ(tracker::config::own_flusher_shards(config), (std::vector<std::size_t>{3, 1}));
  Config all;
  ASSERT_TRUE(load(all, {"--redis-shards=3"}));
  EXPECT_EQ(tracker::config::own_flusher_shards(all), (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_NE(load_error({"--redis-shards=0"}).find("--redis-shards: expected 1..256, got 0"), std::string::npos);
  EXPECT_NE(load_error({"--redis-shards=2", "--flusher-shards=2"})
                .find("--flusher-shards: '2' is not a shard number below --redis-shards=2"),
            std::string::npos);
  EXPECT_NE(load_error({"--flusher-shards=x"}).find("--flusher-shards: 'x'"), std::string::npos);
}

TEST_F(ConfigTest, ValuesMainOnceClampedAreRefusedInstead) {
  for (const char* arg : {"--ingest-groups-in-flight=0", "--ranking-refresh-ms=9", "--search-cache-ttl-ms=-1",
                          "--pg-pool-size=0", "--log-format=xml"}) {
    SCOPED_TRACE(arg);
    std::string flag(arg);
    flag = flag.substr(0, flag.find('='));
    EXPECT_NE(load_error({arg}).find(flag + ": expected"), std::string::npos) << load_error({arg});
  }
  Config config;
  ASSERT_TRUE(load(config, {"--ingest-groups-in-flight=1", "--ranking-refresh-ms=10", "--search-cache-ttl-ms=0",
                            "--pg-pool-size=1", "--log-format=json"}));
}

TEST_F(ConfigTest, ConnectionAndMemoryLimitsAreBounded) {
  Config config;
  EXPECT_EQ(config.max_connections_per_ip, 256u);
  EXPECT_EQ(config.request_memory_budget, 32u * 1024 * 1024);
  ASSERT_TRUE(load(config, {"--max-connections-per-ip=1", "--request-memory-budget=402653184"}));
  EXPECT_EQ(config.max_connections_per_ip, 1u);
  EXPECT_EQ(config.request_memory_budget, 402653184u);
  for (const char* arg : {"--max-connections-per-ip=0", "--max-connections-per-ip=1000001"}) {
    SCOPED_TRACE(arg);
    EXPECT_NE(load_error({arg}).find("--max-connections-per-ip: expected 1..1000000, got"), std::string::npos);
  }
  EXPECT_NE(load_error({"--request-memory-budget=65535"}).find("--request-memory-budget: expected 65536.."),
            std::string::npos);
  EXPECT_NE(load_error({"--request-memory-budget=-1"}).find("--request-memory-budget: '-1' is not a valid number"),
            std::string::npos);
}

TEST_F(ConfigTest, MemoryBudgetHoldsTheLargestBatch) {
  Config config;
  // Six times the batch limit: the body and its JSON arena (3x), with as much again free.
  ASSERT_TRUE(load(config, {"--batch-body-limit=1000", "--request-memory-budget=65536"}));
  EXPECT_NE(load_error({"--batch-body-limit=16777216"})
                .find("--request-memory-budget: expected at least 6 x --batch-body-limit = 100663296"),
            std::string::npos);
  ASSERT_TRUE(load(config, {"--batch-body-limit=16777216", "--request-memory-budget=100663296"}));
}

TEST_F(ConfigTest, RejectsUnknownOptions) {
  EXPECT_NE(load_error({"--prot=80"}).find("unknown option --prot"), std::string::npos);
  EXPECT_NE(load_error({"--=80"}).find("unknown option"), std::string::npos);
  EXPECT_NE(load_error({"--PORT=80"}).find("unknown option"), std::string::npos);
}

TEST_F(ConfigTest, RejectsArgumentsThatAreNotOptions) {
  EXPECT_NE(load_error({"8080"}).find("unexpected argument 8080"), std::string::npos);
  EXPECT_NE(load_error({"-p"}).find("unexpected argument"), std::string::npos);
}

TEST_F(ConfigTest, RejectsAnOptionWithoutAValue) {
  EXPECT_NE(load_error({"--port"}).find("--port needs a value"), std::string::npos);
}

TEST_F(ConfigTest, EmptyTextValuesAreAllowed) {
  Config config;
  ASSERT_TRUE(load(config, {"--listen="}));
  EXPECT_EQ(config.listen_address, "");
}

TEST_F(ConfigTest, HelpPrintsUsageWithDefaultsAndReturnsFalse) {
  set_env("TRACKER_PORT", "7070");
  Config config;
  ::testing::internal::CaptureStdout();
  bool proceed = load(config, {"--help"});
  std::string usage = ::testing::internal::GetCapturedStdout();
  EXPECT_FALSE(proceed);
  EXPECT_NE(usage.find("usage: event-tracker"), std::string::npos);
  EXPECT_NE(usage.find("--port (TRACKER_PORT, default 8080): HTTP port"), std::string::npos)
      << "the default, not the environment's value, is shown\n" << usage;
  EXPECT_NE(usage.find("--redis-max-pending (TRACKER_REDIS_MAX_PENDING, default 20000)"),
            std::string::npos);
  EXPECT_NE(usage.find("--flusher (TRACKER_FLUSHER, default true)"), std::string::npos);
  EXPECT_NE(usage.find("--max-connections-per-ip (TRACKER_MAX_CONNECTIONS_PER_IP, default 256, 1..1000000)"),
            std::string::npos)
      << "bounded numbers show their range";
}

TEST_F(ConfigTest, ShortHelpIsHelpToo) {
  Config config;
  ::testing::internal::CaptureStdout();
  bool proceed = load(config, {"-h"});
  std::string usage = ::testing::internal::GetCapturedStdout();
  EXPECT_FALSE(proceed);
  EXPECT_NE(usage.find("usage:"), std::string::npos);
}

TEST_F(ConfigTest, DescribeListsEverySettingWithItsValue) {
  Config config;
  config.port = 9999;
  config.flusher_enabled = false;
  config.pg_dsn = "host=db";
  std::string text = tracker::config::describe(config);
  EXPECT_NE(text.find("  port = 9999\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  flusher = false\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  pg-dsn = host=db\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  listen = 0.0.0.0\n"), std::string::npos) << text;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    ASSERT_NE(end, std::string::npos) << "every line ends with a newline";
    std::string line = text.substr(start, end - start);
    EXPECT_TRUE(line.starts_with("  ")) << line;
    EXPECT_NE(line.find(" = "), std::string::npos) << line;
    start = end + 1;
  }
}

TEST_F(ConfigTest, EveryDescribedSettingCanBeSetFromTheCommandLine) {
  // Feeding describe()'s own values back through load() must be accepted and change nothing.
  Config original;
  std::string text = tracker::config::describe(original);
  std::vector<std::string> args;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    std::string line = text.substr(start + 2, end - start - 2);
    auto separator = line.find(" = ");
    args.push_back("--" + line.substr(0, separator) + "=" + line.substr(separator + 3));
    start = end + 1;
  }
  Config config;
  ASSERT_TRUE(load(config, args));
  EXPECT_EQ(tracker::config::describe(config), text);
}

}  // namespace

namespace {

TEST_F(ConfigTest, CorsOriginsTakeACommaListOfOrigins) {
  Config config;
  ASSERT_TRUE(load(config, {"--cors-origins=https://shop.example, http://localhost:5173/", "--cors-max-age-s=60"}));
  EXPECT_EQ(config.cors_origins, "https://shop.example, http://localhost:5173/");
  EXPECT_EQ(config.cors_max_age_s, 60);
  EXPECT_EQ(config.cors_write_origins, "*") << "pages on any origin may send events by default";
}

TEST_F(ConfigTest, CorsOriginsRefuseWhatIsNotAnOrigin) {
  for (const char* bad : {"shop.example", "https://shop.example/path", "https://", "https://a b",
                          "https://user@shop.example", "*.example"}) {
    SCOPED_TRACE(bad);
    EXPECT_NE(load_error({std::string("--cors-origins=") + bad}).find("--cors-origins"), std::string::npos);
  }
  EXPECT_NE(load_error({"--cors-write-origins=nope"}).find("--cors-write-origins"), std::string::npos);
  EXPECT_NE(load_error({"--cors-max-age-s=86401"}).find("--cors-max-age-s"), std::string::npos);
}

}  // namespace

TEST_F(ConfigTest, RedisWaitReplicasIsOffByDefaultAndBounded) {
  Config config;
  EXPECT_EQ(config.redis_wait_replicas, 0u);
  ASSERT_TRUE(load(config, {"--redis-wait-replicas=1", "--redis-wait-timeout-ms=250"}));
  EXPECT_EQ(config.redis_wait_replicas, 1u);
  EXPECT_EQ(config.redis_wait_timeout_ms, 250);
  EXPECT_NE(load_error({"--redis-wait-replicas=6"}).find("--redis-wait-replicas: expected 0..5, got 6"),
            std::string::npos);
  EXPECT_NE(load_error({"--redis-wait-timeout-ms=0"}).find("--redis-wait-timeout-ms: expected 1..10000, got 0"),
            std::string::npos);
}

TEST_F(ConfigTest, RedisIngestIsLuaByDefaultOrTheModule) {
  Config config;
  EXPECT_EQ(config.redis_ingest, "lua");
  ASSERT_TRUE(load(config, {"--redis-ingest=module"}));
  EXPECT_EQ(config.redis_ingest, "module");
  EXPECT_NE(load_error({"--redis-ingest=wasm"}).find("--redis-ingest: expected lua or module"), std::string::npos);
}
