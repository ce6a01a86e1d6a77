// API keys: their shape, scope prefixes, hashing, display prefixes and allowed origins.
#include "domain/api_key.hpp"

#include <gtest/gtest.h>

#include <set>
#include <stdexcept>

namespace {

using namespace tracker::domain;

TEST(ApiKey, GeneratedKeysHaveTheirScopePrefixAndShape) {
  for (KeyScope scope : {KeyScope::write, KeyScope::read, KeyScope::admin}) {
    std::string key = generate_key(scope);
    EXPECT_EQ(key.size(), kKeyLength);
    EXPECT_TRUE(key.starts_with(scope_prefix(scope))) << key;
    ASSERT_TRUE(key_shape(key).has_value()) << key;
    EXPECT_EQ(*key_shape(key), scope);
  }
  EXPECT_EQ(generate_key(KeyScope::write).substr(0, 4), "etw_");
  EXPECT_EQ(generate_key(KeyScope::read).substr(0, 4), "etr_");
  EXPECT_EQ(generate_key(KeyScope::admin).substr(0, 4), "eta_");
}

TEST(ApiKey, GeneratedKeysDifferAndUseTheWholeAlphabet) {
  std::set<std::string> keys;
  std::set<char> seen;
  for (int i = 0; i < 500; ++i) {
    std::string key = generate_key(KeyScope::write);
    keys.insert(key);
    seen.insert(key.begin() + kKeyPrefixLength, key.end());
  }
  EXPECT_EQ(keys.size(), 500u);
  EXPECT_EQ(seen.size(), 62u);  // 16,000 draws leave no base62 character out
}

TEST(ApiKey, ShapeRefusesWhatIsNotAKey) {
  std::string key = generate_key(KeyScope::read);
  EXPECT_FALSE(key_shape("").has_value());
  EXPECT_FALSE(key_shape(key.substr(0, kKeyLength - 1)).has_value());
  EXPECT_FALSE(key_shape(key + "x").has_value());
  EXPECT_FALSE(key_shape("etx_" + key.substr(4)).has_value());
  EXPECT_FALSE(key_shape("ETR_" + key.substr(4)).has_value());
  std::string bad = key;
  bad[10] = '-';
  EXPECT_FALSE(key_shape(bad).has_value());
  bad[10] = '\0';
  EXPECT_FALSE(key_shape(bad).has_value());
}

TEST(ApiKey, HashIsSha256) {
  // FIPS 180-2 test vector.
  EXPECT_EQ(to_hex(hash_key("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::string key = generate_key(KeyScope::write);
  EXPECT_EQ(hash_key(key), hash_key(key));
  EXPECT_NE(hash_key(key), hash_key(generate_key(KeyScope::write)));
}

TEST(ApiKey, HexRoundTrips) {
  KeyHash hash = hash_key("etw_something");
  auto back = hash_from_hex(to_hex(hash));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, hash);
  EXPECT_FALSE(hash_from_hex("abc").has_value());
  EXPECT_FALSE(hash_from_hex(std::string(64, 'g')).has_value());
  EXPECT_TRUE(hash_from_hex(std::string(64, 'F')).has_value());
}

TEST(ApiKey, DisplayPrefixIsTheScopeAndEightCharacters) {
  std::string key = generate_key(KeyScope::admin);
  EXPECT_EQ(display_prefix(key), key.substr(0, 12));
  EXPECT_EQ(display_prefix(key).size(), kKeyDisplayLength);
}

TEST(ApiKey, ScopesParseAndAdminCoversAll) {
  EXPECT_EQ(parse_key_scope("write"), KeyScope::write);
  EXPECT_EQ(parse_key_scope("read"), KeyScope::read);
  EXPECT_EQ(parse_key_scope("admin"), KeyScope::admin);
  EXPECT_FALSE(parse_key_scope("Admin").has_value());
  EXPECT_FALSE(parse_key_scope("").has_value());
  ApiKey write{.scope = KeyScope::write}, read{.scope = KeyScope::read}, admin{.scope = KeyScope::admin};
  EXPECT_TRUE(write.covers(KeyScope::write));
  EXPECT_FALSE(write.covers(KeyScope::read));
  EXPECT_FALSE(write.covers(KeyScope::admin));
  EXPECT_FALSE(read.covers(KeyScope::write));
  EXPECT_TRUE(read.covers(KeyScope::read));
  EXPECT_FALSE(read.covers(KeyScope::admin));
  EXPECT_TRUE(admin.covers(KeyScope::write));
  EXPECT_TRUE(admin.covers(KeyScope::read));
  EXPECT_TRUE(admin.covers(KeyScope::admin));
}

TEST(ApiKey, NamesAreShortWordsThatDoNotLookLikeKeys) {
  EXPECT_TRUE(is_key_name("web-shop_2.prod@eu"));
  EXPECT_TRUE(is_key_name(std::string(100, 'a')));
  EXPECT_FALSE(is_key_name(std::string(101, 'a')));
  EXPECT_FALSE(is_key_name(""));
  EXPECT_FALSE(is_key_name("with space"));
  EXPECT_FALSE(is_key_name("etw_shop"));
  EXPECT_FALSE(is_key_name("eta_x"));
  EXPECT_TRUE(is_key_name("etx_shop"));
  EXPECT_FALSE(is_key_name("caf\xc3\xa9"));
}

TEST(ApiKey, OriginsParseLowerCasedWithoutDuplicates) {
  EXPECT_EQ(parse_origins(""), std::vector<std::string>{});
  EXPECT_EQ(parse_origins(" https://Shop.Example , http://localhost:3000/,https://shop.example"),
            (std::vector<std::string>{"https://shop.example", "http://localhost:3000"}));
  EXPECT_THROW(parse_origins("shop.example"), std::invalid_argument);
  EXPECT_THROW(parse_origins("https://shop.example/path"), std::invalid_argument);
  EXPECT_THROW(parse_origins("https://"), std::invalid_argument);
}

TEST(ApiKey, AllowedOriginsCompareWithoutCase) {
  ApiKey any;
  EXPECT_TRUE(any.allows_origin("https://anything.example"));
  ApiKey listed{.allowed_origins = parse_origins("https://shop.example,http://localhost:3000")};
  EXPECT_TRUE(listed.allows_origin("https://shop.example"));
  EXPECT_TRUE(listed.allows_origin("https://SHOP.example"));
  EXPECT_TRUE(listed.allows_origin("http://localhost:3000"));
  EXPECT_FALSE(listed.allows_origin("http://localhost:3001"));
  EXPECT_FALSE(listed.allows_origin("https://shop.example.evil"));
  EXPECT_FALSE(listed.allows_origin("http://shop.example"));
  EXPECT_FALSE(listed.allows_origin(""));
}

}  // namespace
