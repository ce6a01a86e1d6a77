// SnapshotMemo (redis/snapshot_memo.hpp): answers kept per snapshot and request, forgotten
// with their snapshot, and bounded.
#include "redis/snapshot_memo.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace {

using tracker::redis::SnapshotMemo;

std::vector<std::string> ids_of(const std::vector<std::pair<std::string, SnapshotMemo::Values>>& known) {
  std::vector<std::string> ids;
  for (const auto& [id, values] : known) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

TEST(SnapshotMemo, KnowsTheSnapshotsReadForARequest) {
  SnapshotMemo memo;
  memo.keep("f1", "totals\nA", {3});
  memo.keep("f2", "totals\nA", {5});
  memo.keep("f2", "totals\nB", {7});
  EXPECT_EQ(ids_of(memo.known("totals\nA")), (std::vector<std::string>{"f1", "f2"}));
  auto b = memo.known("totals\nB");
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b.front().first, "f2");
  EXPECT_EQ(b.front().second, SnapshotMemo::Values{7});
  EXPECT_TRUE(memo.known("totals\nC").empty());
  EXPECT_EQ(memo.entries(), 3u);
}

TEST(SnapshotMemo, ForgetsSnapshotsNoLongerListed) {
  SnapshotMemo memo;
  memo.keep("f1", "r", {1});
  memo.keep("f2", "r", {2});
  memo.keep("f2", "s", {3});
  memo.retain_only({"f2", "f3"});
  EXPECT_EQ(ids_of(memo.known("r")), std::vector<std::string>{"f2"});
  EXPECT_EQ(memo.snapshots(), 1u);
  EXPECT_EQ(memo.entries(), 2u);
  memo.retain_only({});
  EXPECT_EQ(memo.snapshots(), 0u);
  EXPECT_EQ(memo.entries(), 0u);
}

TEST(SnapshotMemo, AReadAgainReplacesAndIsCountedOnce) {
  SnapshotMemo memo;
  memo.keep("f1", "r", {1});
  memo.keep("f1", "r", {1});
  EXPECT_EQ(memo.entries(), 1u);
}

TEST(SnapshotMemo, StartsAgainPastItsBound) {
  SnapshotMemo memo(3);
  memo.keep("f1", "a", {1});
  memo.keep("f1", "b", {2});
  memo.keep("f2", "a", {3});
  EXPECT_EQ(memo.entries(), 3u);
  memo.keep("f2", "b", {4});  // the fourth: everything before it is forgotten
  EXPECT_EQ(memo.entries(), 1u);
  EXPECT_TRUE(memo.known("a").empty());
  EXPECT_EQ(ids_of(memo.known("b")), std::vector<std::string>{"f2"});
}

}  // namespace
