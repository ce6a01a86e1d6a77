// API keys on the request path: the key ring over a fake store (nothing before the first
// load, the last good set kept when loads fail, revocations and changes published), and
// the auth gate (where each route's key is looked for, 401 / 403 / 503 and their shapes,
// scopes, origins, the Caller's key name).
#include "app/key_ring.hpp"
#include "http/auth.hpp"
#include "ports/errors.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace domain = tracker::domain;
using tracker::app::KeyRing;
using tracker::http::Access;
using tracker::http::AuthGate;
using tracker::http::Caller;
using tracker::http::Request;
using tracker::http::Response;
namespace beast_http = tracker::http::beast_http;

class FakeKeyStore final : public tracker::ports::KeyStore {
 public:
  asio::awaitable<std::vector<domain::ApiKey>> load_active() override {
    ++loads;
    if (fail) throw tracker::ports::StoreUnavailable("postgres is down");
    co_return keys;
  }
  asio::awaitable<void> create(const domain::ApiKey& key) override {
    keys.push_back(key);
    co_return;
  }
  asio::awaitable<std::vector<tracker::ports::KeyListing>> list() override {
    co_return std::vector<tracker::ports::KeyListing>{};
  }
  asio::awaitable<tracker::ports::KeyListing> revoke(const std::string&) override {
    co_return tracker::ports::KeyListing{};
  }

  // Adds a key and returns its text.
  std::string add(const std::string& name, domain::KeyScope scope, const std::string& origins = "") {
    std::string secret = domain::generate_key(scope);
    keys.push_back({name, scope, domain::hash_key(secret), domain::display_prefix(secret),
                    domain::parse_origins(origins)});
    return secret;
  }
  void remove(const std::string& name) {
    std::erase_if(keys, [&](const domain::ApiKey& key) { return key.name == name; });
  }

  std::vector<domain::ApiKey> keys;
  bool fail = false;
  int loads = 0;
};

void refresh(KeyRing& ring) {
  asio::io_context io;
  std::exception_ptr failure;
  asio::co_spawn(io, ring.refresh(), [&](std::exception_ptr error) { failure = error; });
  io.run();
  if (failure) std::rethrow_exception(failure);
}

std::string error_code(const Response& answer) {
  return std::string(boost::json::parse(answer.body()).at("error").at("code").as_string());
}

struct Fixture {
  FakeKeyStore store;
  tracker::metrics::Registry metrics;
  KeyRing ring{store, {}, metrics};
  AuthGate gate{ring, metrics};
  std::string write_key = store.add("web", domain::KeyScope::write);
  std::string read_key = store.add("dashboard", domain::KeyScope::read);
  std::string admin_key = store.add("ops", domain::KeyScope::admin);
  std::string shop_key = store.add("shop", domain::KeyScope::write, "https://shop.example");

  std::optional<Response> check(Request request, Access access, Caller* seen = nullptr) {
    Caller caller;
    auto answer = gate.check(request, caller, access);
    if (seen) *seen = caller;
    return answer;
  }
};

Request request(std::string target = "/api/events") { return Request{beast_http::verb::post, target, 11}; }
Request with_header(std::string_view name, std::string_view value, std::string target = "/api/events") {
  Request r = request(std::move(target));
  r.set(name, value);
  return r;
}

TEST(KeyRing, HasNoKeysBeforeTheFirstLoad) {
  FakeKeyStore store;
  tracker::metrics::Registry metrics;
  KeyRing ring(store, {}, metrics);
  EXPECT_EQ(ring.current(), nullptr);
  store.fail = true;
  EXPECT_THROW(refresh(ring), tracker::ports::StoreUnavailable);
  EXPECT_EQ(ring.current(), nullptr);
  store.fail = false;
  refresh(ring);
  ASSERT_NE(ring.current(), nullptr);
  EXPECT_TRUE(ring.current()->empty());
}

TEST(KeyRing, KeepsTheLastSetWhenALoadFails) {
  FakeKeyStore store;
  tracker::metrics::Registry metrics;
  KeyRing ring(store, {}, metrics);
  std::string key = store.add("web", domain::KeyScope::write);
  refresh(ring);
  store.fail = true;
  EXPECT_THROW(refresh(ring), tracker::ports::StoreUnavailable);
  auto keys = ring.current();
  ASSERT_NE(keys, nullptr);
  ASSERT_EQ(keys->count(domain::hash_key(key)), 1u);
  EXPECT_EQ(keys->at(domain::hash_key(key)).name, "web");
}

TEST(KeyRing, PublishesRevocationsAndNewKeys) {
  FakeKeyStore store;
  tracker::metrics::Registry metrics;
  KeyRing ring(store, {}, metrics);
  std::string first = store.add("first", domain::KeyScope::write);
  refresh(ring);
  auto before = ring.current();
  refresh(ring);
  EXPECT_EQ(ring.current(), before);  // nothing changed: the same set stays
  std::string second = store.add("second", domain::KeyScope::read);
  store.remove("first");
  refresh(ring);
  auto after = ring.current();
  EXPECT_EQ(after->count(domain::hash_key(first)), 0u);
  EXPECT_EQ(after->count(domain::hash_key(second)), 1u);
}

TEST(KeyRing, OtherThreadsSeeTheLatestSet) {
  FakeKeyStore store;
  tracker::metrics::Registry metrics;
  KeyRing ring(store, {}, metrics);
  std::string key = store.add("web", domain::KeyScope::write);
  refresh(ring);
  std::size_t seen = 0;
  std::thread([&] { seen = ring.current()->size(); }).join();
  EXPECT_EQ(seen, 1u);
  store.remove("web");
  refresh(ring);
  std::thread([&] { seen = ring.current()->size(); }).join();
  EXPECT_EQ(seen, 0u);
}

TEST(AuthGate, AnswersKeysUnavailableBeforeTheFirstLoad) {
  Fixture f;
  auto answer = f.check(with_header("X-Api-Key", f.write_key), Access::write);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->result(), beast_http::status::service_unavailable);
  EXPECT_EQ(error_code(*answer), "KEYS_UNAVAILABLE");
  EXPECT_EQ((*answer)[beast_http::field::retry_after], "2");
}

TEST(AuthGate, WriteKeyFromHeaderQueryOrBearerNamesTheCaller) {
  Fixture f;
  refresh(f.ring);
  Caller caller;
  EXPECT_FALSE(f.check(with_header("X-Api-Key", f.write_key), Access::write, &caller));
  EXPECT_EQ(caller.key_name, "web");
  EXPECT_FALSE(f.check(request("/api/events/batch?x=1&apiKey=" + f.write_key), Access::write, &caller));
  EXPECT_EQ(caller.key_name, "web");
  EXPECT_FALSE(f.check(with_header("Authorization", "Bearer " + f.write_key), Access::write, &caller));
  EXPECT_FALSE(f.check(with_header("Authorization", "bearer " + f.write_key), Access::write, &caller));
  // The header wins over the query parameter.
  Request both = with_header("X-Api-Key", f.write_key, "/api/events?apiKey=etw_nothing");
  EXPECT_FALSE(f.check(both, Access::write));
}

TEST(AuthGate, ReadRoutesTakeBearerOrHeaderButNotTheQuery) {
  Fixture f;
  refresh(f.ring);
  Caller caller;
  EXPECT_FALSE(f.check(with_header("Authorization", "Bearer " + f.read_key, "/api/statistics"), Access::read, &caller));
  EXPECT_EQ(caller.key_name, "dashboard");
  EXPECT_FALSE(f.check(with_header("X-Api-Key", f.read_key, "/api/statistics"), Access::read));
  auto answer = f.check(request("/api/statistics?apiKey=" + f.read_key), Access::read);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->result(), beast_http::status::unauthorized);
}

TEST(AuthGate, MissingMalformedAndUnknownKeysAre401WithWwwAuthenticate) {
  Fixture f;
  refresh(f.ring);
  std::string unknown = domain::generate_key(domain::KeyScope::write);
  for (const Request& r : {request(), with_header("X-Api-Key", "nonsense"), with_header("X-Api-Key", unknown),
                           with_header("Authorization", "Basic " + f.write_key),
                           with_header("X-Api-Key", f.write_key.substr(0, 20))}) {
    auto answer = f.check(r, Access::write);
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->result(), beast_http::status::unauthorized);
    EXPECT_EQ(error_code(*answer), "UNAUTHENTICATED");
    EXPECT_EQ((*answer)[beast_http::field::www_authenticate], "Bearer realm=\"event-tracker\"");
  }
}

TEST(AuthGate, RevokedKeysAre401AfterTheNextLoad) {
  Fixture f;
  refresh(f.ring);
  EXPECT_FALSE(f.check(with_header("X-Api-Key", f.write_key), Access::write));
  f.store.remove("web");
  refresh(f.ring);
  auto answer = f.check(with_header("X-Api-Key", f.write_key), Access::write);
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->result(), beast_http::status::unauthorized);
}

TEST(AuthGate, WrongScopeIs403AndAdminPassesEverything) {
  Fixture f;
  refresh(f.ring);
  struct Case {
    std::string key;
    Access access;
    bool passes;
  };
  for (const Case& c : std::vector<Case>{{f.write_key, Access::read, false},
                                         {f.write_key, Access::admin, false},
                                         {f.read_key, Access::write, false},
                                         {f.read_key, Access::admin, false},
                                         {f.admin_key, Access::write, true},
                                         {f.admin_key, Access::read, true},
                                         {f.admin_key, Access::admin, true}}) {
    auto answer = f.check(with_header("Authorization", "Bearer " + c.key), c.access);
    EXPECT_EQ(!answer.has_value(), c.passes) << c.key << " on " << tracker::http::to_string(c.access);
    if (answer) {
      EXPECT_EQ(answer->result(), beast_http::status::forbidden);
      EXPECT_EQ(error_code(*answer), "FORBIDDEN_SCOPE");
    }
  }
}

TEST(AuthGate, AKeyWithOriginsPassesOnlyFromThem) {
  Fixture f;
  refresh(f.ring);
  Request listed = with_header("X-Api-Key", f.shop_key);
  listed.set(beast_http::field::origin, "https://shop.example");
  EXPECT_FALSE(f.check(listed, Access::write));
  Request other = with_header("X-Api-Key", f.shop_key);
  other.set(beast_http::field::origin, "https://evil.example");
  for (const Request& r : {other, with_header("X-Api-Key", f.shop_key)}) {
    auto answer = f.check(r, Access::write);
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->result(), beast_http::status::forbidden);
    EXPECT_EQ(error_code(*answer), "ORIGIN_NOT_ALLOWED");
  }
  // A key without origins passes from anywhere.
  Request any = with_header("X-Api-Key", f.write_key);
  any.set(beast_http::field::origin, "https://evil.example");
  EXPECT_FALSE(f.check(any, Access::write));
}

TEST(AuthGate, OpenRoutesNeedNothing) {
  Fixture f;
  EXPECT_FALSE(f.check(request("/health"), Access::open));
}

}  // namespace
