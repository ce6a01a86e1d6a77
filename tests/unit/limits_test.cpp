// The memory budget of requests in flight and the connection cap per client address.
#include "http/limits.hpp"
#include "http/message.hpp"

#include <gtest/gtest.h>

namespace {

using tracker::http::ConnectionsPerAddress;
using tracker::http::MemoryBudget;
using tracker::http::Reservation;
using tracker::http::request_memory;
namespace ip = boost::asio::ip;

TEST(MemoryBudget, ARequestGetsAtMostHalfOfWhatIsFree) {
  MemoryBudget budget(1000);
  EXPECT_FALSE(budget.try_take(501));
  EXPECT_TRUE(budget.try_take(500));
  EXPECT_FALSE(budget.try_take(251));
  EXPECT_TRUE(budget.try_take(250));
  EXPECT_EQ(budget.in_use(), 750u);
  // Small requests still pass long after large ones stop.
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(budget.try_take(10));
  budget.give_back(800);
  EXPECT_EQ(budget.in_use(), 0u);
  EXPECT_TRUE(budget.try_take(500));
}

TEST(MemoryBudget, NothingFitsIntoAFullBudget) {
  MemoryBudget budget(2);
  EXPECT_TRUE(budget.try_take(1));
  EXPECT_FALSE(budget.try_take(1));
  EXPECT_TRUE(budget.try_take(0));
}

TEST(Reservation, GrowsAndGivesEverythingBackWhenDestroyed) {
  MemoryBudget budget(1000);
  {
    Reservation reservation(budget);
    EXPECT_TRUE(reservation.grow_to(100));
    EXPECT_TRUE(reservation.grow_to(300));  // takes 200 more
    EXPECT_TRUE(reservation.grow_to(200));  // never shrinks
    EXPECT_EQ(reservation.bytes(), 300u);
    EXPECT_EQ(budget.in_use(), 300u);
    EXPECT_FALSE(reservation.grow_to(700));  // 400 more of 700 free: over half
    EXPECT_EQ(reservation.bytes(), 300u) << "a refused growth keeps the share as it was";
    EXPECT_EQ(budget.in_use(), 300u);
  }
  EXPECT_EQ(budget.in_use(), 0u);
}

TEST(Reservation, TheSmallestBudgetTheConfigurationAllowsHoldsTheLargestRequest) {
  // config::load() asks for a budget of at least 6 x --batch-body-limit.
  constexpr std::size_t kLimit = 4 * 1024 * 1024;
  EXPECT_EQ(request_memory(kLimit), 3 * kLimit) << "the body and a JSON arena of twice its size";
  MemoryBudget enough(6 * kLimit);
  EXPECT_TRUE(Reservation(enough).grow_to(request_memory(kLimit)));
  MemoryBudget short_by_one(6 * kLimit - 1);
  EXPECT_FALSE(Reservation(short_by_one).grow_to(request_memory(kLimit)));
}

TEST(ConnectionsPerAddress, CountsEachAddressUpToItsCap) {
  ConnectionsPerAddress connections(2);
  auto a = ip::make_address("127.0.0.9");
  auto b = ip::make_address("127.0.0.10");
  auto mapped = ip::make_address("::ffff:127.0.0.9");
  EXPECT_TRUE(connections.try_open(a));
  EXPECT_TRUE(connections.try_open(a));
  EXPECT_FALSE(connections.try_open(a));
  EXPECT_TRUE(connections.try_open(b));
  EXPECT_TRUE(connections.try_open(mapped)) << "another address as the server sees it";
  connections.close(a);
  EXPECT_TRUE(connections.try_open(a)) << "a closed connection frees its place";
  EXPECT_FALSE(connections.try_open(a));
  connections.close(a);
  connections.close(a);
  connections.close(a);  // more closes than opens change nothing
  EXPECT_TRUE(connections.try_open(a));
  EXPECT_TRUE(connections.try_open(a));
  EXPECT_FALSE(connections.try_open(a));
}

}  // namespace
