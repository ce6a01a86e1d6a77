#pragma once
// The tests of what an ingest call writes run with each engine (redis::IngestEngine): the
// Lua script and the module command TRACKER.INGEST take the same arguments and must leave
// the same data, so a divergence fails the same test. The module's runs are skipped, with
// a message, when the test Redis has not loaded it (tools/lib/services.sh loads it when
// it is built; a Redis started before the build needs a restart).
#include "redis/event_store.hpp"
#include "redis_support.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>

namespace tracker::redis {
inline void PrintTo(IngestEngine engine, std::ostream* out) { *out << (engine == IngestEngine::Lua ? "lua" : "module"); }
}  // namespace tracker::redis

namespace tracker::testing {

inline bool ingest_module_loaded() {
  static const bool loaded = [] {
    bool known = false;
    with_connection(options(), [&known](redis::Connection& redis) -> asio::awaitable<void> {
      const std::string_view command[] = {"COMMAND", "INFO", redis::kIngestCommand};
      redis::Reply reply = co_await redis.execute(command, 2s);
      known = !reply.elements.empty() && reply.elements.front().type == redis::Reply::Type::Array;
    });
    return known;
  }();
  return loaded;
}

class IngestEngineTest : public ::testing::TestWithParam<redis::IngestEngine> {
 protected:
  void SetUp() override {
    if (GetParam() == redis::IngestEngine::Module && !ingest_module_loaded()) {
      GTEST_SKIP() << "the test Redis has not loaded the module tracker_ingest.so (restart it after "
                      "building: tools/dev.sh redis-stop; tools/dev.sh services)";
    }
  }
  redis::EventStoreOptions store_options(redis::EventStoreOptions options = {}) const {
    options.engine = GetParam();
    return options;
  }
};

inline std::string engine_name(const ::testing::TestParamInfo<redis::IngestEngine>& info) {
  return info.param == redis::IngestEngine::Lua ? "lua" : "module";
}

}  // namespace tracker::testing

// Runs the fixture's TEST_Ps with both engines.
#define TRACKER_WITH_BOTH_INGEST_ENGINES(fixture)                                                         \
  INSTANTIATE_TEST_SUITE_P(Engines, fixture,                                                               \
                           ::testing::Values(tracker::redis::IngestEngine::Lua,                            \
                                             tracker::redis::IngestEngine::Module),                        \
                           tracker::testing::engine_name)
