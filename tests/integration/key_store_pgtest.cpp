// API keys in a real PostgreSQL (postgres/key_store.hpp): created keys load with their
// scope, hash and origins; the key itself is stored nowhere; names stay unique, revoked
// keys included; revocation by name and by display prefix, and refusals for none or
// several. Names are the test's own.
#include "pg_support.hpp"

#include "metrics/metrics.hpp"
#include "ports/key_store.hpp"
#include "postgres/key_store.hpp"
#include "postgres/pool.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <random>

namespace {

using namespace std::chrono_literals;
using tracker::pgtest::await;
using tracker::pgtest::execute;
namespace domain = tracker::domain;
namespace ports = tracker::ports;

domain::ApiKey make_key(const std::string& name, domain::KeyScope scope, std::string& secret,
                        std::string origins = "") {
  secret = domain::generate_key(scope);
  domain::ApiKey key;
  key.name = name;
  key.scope = scope;
  key.hash = domain::hash_key(secret);
  key.prefix = domain::display_prefix(secret);
  key.allowed_origins = domain::parse_origins(origins);
  return key;
}

// pgtest::await for operations without a result.
void await_done(boost::asio::io_context& io, boost::asio::awaitable<void> operation) {
  std::exception_ptr failure;
  boost::asio::co_spawn(io, std::move(operation), [&](std::exception_ptr error) { failure = error; });
  io.restart();
  io.run();
  if (failure) std::rethrow_exception(failure);
}

const domain::ApiKey* find(const std::vector<domain::ApiKey>& keys, const std::string& name) {
  auto it = std::find_if(keys.begin(), keys.end(), [&](const domain::ApiKey& key) { return key.name == name; });
  return it == keys.end() ? nullptr : &*it;
}

class KeyStoreTest : public ::testing::Test {
 protected:
  KeyStoreTest()
      : options_{.dsn = tracker::pgtest::dsn(), .statement_timeout = 10s},
        pool_(io_.get_executor(), options_, 1, 16, metrics_),
        store_(pool_, 10s),
        tag_("pgtest-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}() % 1'000'000)) {}

  std::string name(const std::string& part) const { return tag_ + "-" + part; }

  boost::asio::io_context io_;
  tracker::metrics::Registry metrics_;
  tracker::postgres::ConnectionOptions options_;
  tracker::postgres::Pool pool_;
  tracker::postgres::KeyStore store_;
  std::string tag_;
};

TEST_F(KeyStoreTest, CreatedKeysLoadWithScopeHashAndOrigins) {
  std::string write_secret, read_secret;
  domain::ApiKey write = make_key(name("w"), domain::KeyScope::write, write_secret,
                                  "https://shop.example, http://localhost:3000");
  domain::ApiKey read = make_key(name("r"), domain::KeyScope::read, read_secret);
  await_done(io_, store_.create(write));
  await_done(io_, store_.create(read));

  auto keys = await(io_, store_.load_active());
  const domain::ApiKey* loaded_write = find(keys, write.name);
  const domain::ApiKey* loaded_read = find(keys, read.name);
  ASSERT_NE(loaded_write, nullptr);
  ASSERT_NE(loaded_read, nullptr);
  EXPECT_EQ(loaded_write->scope, domain::KeyScope::write);
  EXPECT_EQ(loaded_write->hash, domain::hash_key(write_secret));
  EXPECT_EQ(loaded_write->prefix, write_secret.substr(0, domain::kKeyDisplayLength));
  EXPECT_EQ(loaded_write->allowed_origins, (std::vector<std::string>{"https://shop.example", "http://localhost:3000"}));
  EXPECT_EQ(loaded_read->scope, domain::KeyScope::read);
  EXPECT_TRUE(loaded_read->allowed_origins.empty());
}

TEST_F(KeyStoreTest, TheKeyItselfIsStoredNowhere) {
  std::string secret;
  domain::ApiKey key = make_key(name("secret"), domain::KeyScope::admin, secret);
  await_done(io_, store_.create(key));
  auto rows = await(io_, execute("select count(*) from api_keys where name = $1 and "
                                 "position($2 in concat_ws(' ', name, scope, encode(hash, 'hex'), prefix, "
                                 "encode(hash, 'escape'), allowed_origins::text)) > 0",
                                 {key.name, secret.substr(domain::kKeyDisplayLength)}));
  EXPECT_EQ(rows.as_int64(0, 0), 0);
  auto stored = await(io_, execute("select encode(hash, 'hex') from api_keys where name = $1", {key.name}));
  ASSERT_EQ(stored.rows(), 1);
  EXPECT_EQ(stored.text(0, 0), domain::to_hex(domain::hash_key(secret)));
}

TEST_F(KeyStoreTest, NamesAreUniqueRevokedKeysIncluded) {
  std::string secret;
  await_done(io_, store_.create(make_key(name("dup"), domain::KeyScope::write, secret)));
  EXPECT_THROW(await_done(io_, store_.create(make_key(name("dup"), domain::KeyScope::read, secret))), ports::KeyRefused);
  await(io_, store_.revoke(name("dup")));
  EXPECT_THROW(await_done(io_, store_.create(make_key(name("dup"), domain::KeyScope::write, secret))), ports::KeyRefused);
}

TEST_F(KeyStoreTest, RevokedByNameOrPrefixAndNoLongerLoaded) {
  std::string first_secret, second_secret;
  domain::ApiKey first = make_key(name("a"), domain::KeyScope::write, first_secret);
  domain::ApiKey second = make_key(name("b"), domain::KeyScope::read, second_secret);
  await_done(io_, store_.create(first));
  await_done(io_, store_.create(second));

  ports::KeyListing revoked = await(io_, store_.revoke(first.name));
  EXPECT_EQ(revoked.name, first.name);
  EXPECT_TRUE(revoked.revoked_at.has_value());
  revoked = await(io_, store_.revoke(second.prefix));
  EXPECT_EQ(revoked.name, second.name);

  auto active = await(io_, store_.load_active());
  EXPECT_EQ(find(active, first.name), nullptr);
  EXPECT_EQ(find(active, second.name), nullptr);
  auto listed = await(io_, store_.list());
  auto listed_first = std::find_if(listed.begin(), listed.end(), [&](auto& key) { return key.name == first.name; });
  ASSERT_NE(listed_first, listed.end());
  EXPECT_TRUE(listed_first->revoked_at.has_value());
  EXPECT_EQ(listed_first->prefix, first.prefix);
  EXPECT_EQ(listed_first->created_at.size(), 20u);  // 2026-03-02T10:00:00Z

  EXPECT_THROW(await(io_, store_.revoke(first.name)), ports::KeyRefused);  // already revoked
  EXPECT_THROW(await(io_, store_.revoke(name("none"))), ports::KeyRefused);
}

TEST_F(KeyStoreTest, RevokingWhatSeveralKeysAnswerToIsRefused) {
  std::string one, two;
  domain::ApiKey first = make_key(name("p1"), domain::KeyScope::write, one);
  domain::ApiKey second = make_key(name("p2"), domain::KeyScope::write, two);
  second.prefix = first.prefix;  // two keys whose first characters agree
  await_done(io_, store_.create(first));
  await_done(io_, store_.create(second));
  EXPECT_THROW(await(io_, store_.revoke(first.prefix)), ports::KeyRefused);
  auto active = await(io_, store_.load_active());
  EXPECT_NE(find(active, first.name), nullptr);
  EXPECT_NE(find(active, second.name), nullptr);
  await(io_, store_.revoke(first.name));
  await(io_, store_.revoke(second.name));
}

}  // namespace
