// The arithmetic of Redis Cluster (redis/cluster_slots.hpp): key slots with hash tags,
// the key a command is routed by, the slot map from CLUSTER SLOTS, redirect addresses.
#include "redis/cluster_slots.hpp"
#include "redis/errors.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace cluster = tracker::redis::cluster;
using tracker::redis::Reply;

// The cluster specification's check value for CRC16-CCITT (XMODEM).
TEST(ClusterSlot, Crc16MatchesTheSpecificationsCheckValue) {
  EXPECT_EQ(cluster::crc16("123456789"), 0x31C3);
  EXPECT_EQ(cluster::crc16(""), 0);
}

TEST(ClusterSlot, SlotIsCrc16ModuloTheSlotCount) {
  EXPECT_EQ(cluster::key_slot("123456789"), 0x31C3 % 16384);
  // Values Redis itself answers to CLUSTER KEYSLOT.
  EXPECT_EQ(cluster::key_slot("foo"), 12182);
  EXPECT_EQ(cluster::key_slot("bar"), 5061);
  EXPECT_EQ(cluster::key_slot("hello"), 866);
}

TEST(ClusterSlot, HashTagsFollowTheSpecificationsExamples) {
  // Only the part between the first { and the next } is hashed...
  EXPECT_EQ(cluster::key_slot("{user1000}.following"), cluster::key_slot("user1000"));
  EXPECT_EQ(cluster::key_slot("{user1000}.followers"), cluster::key_slot("{user1000}.following"));
  // ...unless it is empty: then the whole key is.
  EXPECT_EQ(cluster::key_slot("foo{}{bar}"), cluster::crc16("foo{}{bar}") % 16384);
  // The tag starts after the first {, so here it is "{bar".
  EXPECT_EQ(cluster::key_slot("foo{{bar}}zap"), cluster::key_slot("{bar"));
  // The first complete tag wins.
  EXPECT_EQ(cluster::key_slot("foo{bar}{zap}"), cluster::key_slot("bar"));
  // A { without a } after it is no tag.
  EXPECT_EQ(cluster::key_slot("foo{bar"), cluster::crc16("foo{bar") % 16384);
  EXPECT_EQ(cluster::key_slot("foo}bar{"), cluster::crc16("foo}bar{") % 16384);
}

std::optional<std::string> key_of(std::vector<std::string_view> args) {
  auto key = cluster::routing_key(args);
  return key ? std::optional<std::string>(*key) : std::nullopt;
}

TEST(ClusterSlot, CommandsAreRoutedByTheirFirstKey) {
  EXPECT_EQ(key_of({"SET", "k", "v"}), "k");
  EXPECT_EQ(key_of({"get", "k"}), "k");
  EXPECT_EQ(key_of({"MGET", "{t}a", "{t}b"}), "{t}a");
  // Scripts: the key comes after numkeys.
  EXPECT_EQ(key_of({"EVALSHA", "abc", "2", "{t}a", "{t}b", "arg"}), "{t}a");
  EXPECT_EQ(key_of({"eval", "return 1", "1", "k"}), "k");
  EXPECT_EQ(key_of({"FCALL", "f", "1", "k", "arg"}), "k");
  EXPECT_EQ(key_of({"EVALSHA", "abc", "0", "arg"}), std::nullopt);
  EXPECT_EQ(key_of({"EVALSHA", "abc", "x", "k"}), std::nullopt);
  // The ingest module's command: numkeys first.
  EXPECT_EQ(key_of({"TRACKER.INGEST", "7", "{t}a", "{t}b", "arg"}), "{t}a");
  EXPECT_EQ(key_of({"tracker.ingest", "0", "arg"}), std::nullopt);
  // Streams.
  EXPECT_EQ(key_of({"XREADGROUP", "GROUP", "g", "c", "COUNT", "10", "STREAMS", "s", ">"}), "s");
  EXPECT_EQ(key_of({"XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"}), "s");
  EXPECT_EQ(key_of({"XACK", "s", "g", "1-0"}), "s");
  // Keyless: any master answers.
  EXPECT_EQ(key_of({"PING"}), std::nullopt);
  EXPECT_EQ(key_of({"SCRIPT", "LOAD", "return 1"}), std::nullopt);
  EXPECT_EQ(key_of({"INFO", "memory"}), std::nullopt);
  EXPECT_EQ(key_of({"WAIT", "1", "100"}), std::nullopt);
}

Reply integer(std::int64_t value) {
  Reply reply;
  reply.type = Reply::Type::Integer;
  reply.integer = value;
  return reply;
}

Reply text(std::string value) {
  Reply reply;
  reply.type = Reply::Type::String;
  reply.text = std::move(value);
  return reply;
}

Reply array(std::vector<Reply> elements) {
  Reply reply;
  reply.type = Reply::Type::Array;
  reply.elements = std::move(elements);
  return reply;
}

Reply slot_range(int first, int last, std::string host, int port) {
  return array({integer(first), integer(last), array({text(std::move(host)), integer(port), text("id")}),
                array({text("127.0.0.1"), integer(port + 3), text("replica")})});
}

TEST(ClusterSlot, SlotMapStartsWithEverySlotOnTheSeed) {
  cluster::SlotMap map("10.0.0.1:7000");
  for (int slot : {0, 1, 8000, 16383}) {
    ASSERT_NE(map.master(slot), nullptr);
    EXPECT_EQ(*map.master(slot), "10.0.0.1:7000");
  }
  EXPECT_EQ(map.masters(), std::vector<std::string>{"10.0.0.1:7000"});
}

TEST(ClusterSlot, SlotMapFindsTheRangeOfEachSlot) {
  // Out of order on purpose: CLUSTER SLOTS does not promise an order.
  auto map = cluster::SlotMap::from_cluster_slots(
      array({slot_range(10923, 16383, "127.0.0.1", 7003), slot_range(0, 5460, "127.0.0.1", 7001),
             slot_range(5461, 10922, "", 7002)}),
      "192.168.1.5");
  EXPECT_EQ(*map.master(0), "127.0.0.1:7001");
  EXPECT_EQ(*map.master(5460), "127.0.0.1:7001");
  EXPECT_EQ(*map.master(5461), "192.168.1.5:7002");  // an empty host is the node asked
  EXPECT_EQ(*map.master(10922), "192.168.1.5:7002");
  EXPECT_EQ(*map.master(10923), "127.0.0.1:7003");
  EXPECT_EQ(*map.master(16383), "127.0.0.1:7003");
  EXPECT_EQ(map.masters(), (std::vector<std::string>{"127.0.0.1:7001", "192.168.1.5:7002", "127.0.0.1:7003"}));
}

TEST(ClusterSlot, SlotMapLeavesUncoveredSlotsWithoutAMaster) {
  auto map = cluster::SlotMap::from_cluster_slots(
      array({slot_range(0, 99, "a", 1), slot_range(200, 16383, "b", 2)}), "x");
  EXPECT_EQ(map.master(150), nullptr);
  EXPECT_EQ(*map.master(99), "a:1");
  EXPECT_EQ(*map.master(200), "b:2");
}

TEST(ClusterSlot, SlotMapRefusesRepliesOfAnotherShape) {
  EXPECT_THROW(cluster::SlotMap::from_cluster_slots(text("nope"), "x"), std::invalid_argument);
  EXPECT_THROW(cluster::SlotMap::from_cluster_slots(array({array({integer(0), integer(5)})}), "x"),
               std::invalid_argument);
  EXPECT_THROW(cluster::SlotMap::from_cluster_slots(array({slot_range(0, 16384, "a", 1)}), "x"),
               std::invalid_argument);
  EXPECT_THROW(cluster::SlotMap::from_cluster_slots(
                   array({slot_range(0, 100, "a", 1), slot_range(100, 200, "b", 2)}), "x"),
               std::invalid_argument);
}

TEST(ClusterSlot, MovedSlotIsSplitOutOfItsRange) {
  auto map = cluster::SlotMap::from_cluster_slots(
      array({slot_range(0, 8191, "a", 1), slot_range(8192, 16383, "b", 2)}), "x");
  map.assign(100, "c:3");
  EXPECT_EQ(*map.master(99), "a:1");
  EXPECT_EQ(*map.master(100), "c:3");
  EXPECT_EQ(*map.master(101), "a:1");
  EXPECT_EQ(*map.master(8191), "a:1");
  map.assign(8192, "c:3");  // the first slot of a range
  EXPECT_EQ(*map.master(8192), "c:3");
  EXPECT_EQ(*map.master(8193), "b:2");
  map.assign(16383, "a:1");  // the last
  EXPECT_EQ(*map.master(16383), "a:1");
  EXPECT_EQ(*map.master(16382), "b:2");
}

TEST(ClusterSlot, EndpointSplitsAtTheLastColon) {
  EXPECT_EQ(cluster::parse_endpoint("127.0.0.1:7000"), (cluster::Endpoint{"127.0.0.1", 7000}));
  EXPECT_EQ(cluster::parse_endpoint("::1:7000"), (cluster::Endpoint{"::1", 7000}));
  EXPECT_EQ(cluster::parse_endpoint("2001:db8::5:6379"), (cluster::Endpoint{"2001:db8::5", 6379}));
  EXPECT_EQ(cluster::parse_endpoint("host"), std::nullopt);
  EXPECT_EQ(cluster::parse_endpoint(":7000"), std::nullopt);
  EXPECT_EQ(cluster::parse_endpoint("host:"), std::nullopt);
  EXPECT_EQ(cluster::parse_endpoint("host:70000"), std::nullopt);
  EXPECT_EQ(cluster::parse_endpoint("host:7x"), std::nullopt);
}

TEST(ClusterSlot, RedirectsNameSlotAndNode) {
  try {
    std::rethrow_exception(tracker::redis::error_from_reply("MOVED 3999 ::1:6381"));
  } catch (const tracker::redis::Redirected& moved) {
    EXPECT_FALSE(moved.ask());
    EXPECT_EQ(moved.slot(), 3999);
    EXPECT_EQ(cluster::parse_endpoint(moved.endpoint()), (cluster::Endpoint{"::1", 6381}));
  }
  try {
    std::rethrow_exception(tracker::redis::error_from_reply("ASK 12182 10.1.2.3:7002"));
  } catch (const tracker::redis::Redirected& ask) {
    EXPECT_TRUE(ask.ask());
    EXPECT_EQ(ask.slot(), 12182);
    EXPECT_EQ(cluster::parse_endpoint(ask.endpoint()), (cluster::Endpoint{"10.1.2.3", 7002}));
  }
}

TEST(ClusterSlot, TryAgainIsABusyStateOfItsOwn) {
  try {
    std::rethrow_exception(tracker::redis::error_from_reply("TRYAGAIN Multiple keys request during rehashing of slot"));
  } catch (const tracker::redis::TryAgain& busy) {
    EXPECT_NE(dynamic_cast<const tracker::ports::StoreBusy*>(&busy), nullptr);
  }
  EXPECT_THROW(std::rethrow_exception(tracker::redis::error_from_reply("CLUSTERDOWN The cluster is down")),
               tracker::ports::StoreBusy);
}

TEST(ClusterSlot, SeedListIsCheckedEntryByEntry) {
  EXPECT_EQ(cluster::parse_seeds("127.0.0.1:7001,127.0.0.1:7002"),
            (std::vector<std::string>{"127.0.0.1:7001", "127.0.0.1:7002"}));
  EXPECT_EQ(cluster::parse_seeds("h:1"), std::vector<std::string>{"h:1"});
  EXPECT_THROW(cluster::parse_seeds(""), std::invalid_argument);
  EXPECT_THROW(cluster::parse_seeds("h:1,"), std::invalid_argument);
  EXPECT_THROW(cluster::parse_seeds("h:1,h2"), std::invalid_argument);
}

}  // namespace
