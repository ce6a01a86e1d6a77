// RankingSum: the best members of a sum of rankings plus one changing ranking, checked
// against summing everything from scratch.
#include "domain/ranking.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

namespace {

using tracker::domain::Ranked;
using tracker::domain::RankingSum;

using Hour = std::vector<Ranked>;

std::vector<Ranked> best_from_scratch(const std::vector<const Hour*>& hours, std::size_t limit) {
  std::map<std::string, std::int64_t> sum;
  for (const Hour* hour : hours) {
    for (const Ranked& entry : *hour) sum[entry.member] += entry.score;
  }
  std::vector<Ranked> all;
  for (const auto& [member, score] : sum) {
    if (score > 0) all.push_back({member, score});
  }
  std::sort(all.begin(), all.end(), tracker::domain::ranks_before);
  if (all.size() > limit) all.resize(limit);
  return all;
}

Hour random_hour(std::mt19937& random, int members, int population) {
  std::uniform_int_distribution<int> member(1, population);
  std::uniform_int_distribution<int> score(-3, 40);  // UNLIKEs make some scores negative
  std::map<std::string, std::int64_t> picked;
  for (int i = 0; i < members; ++i) picked[std::to_string(member(random))] = score(random);
  Hour hour;
  for (const auto& [name, value] : picked) {
    if (value != 0) hour.push_back({name, value});
  }
  return hour;
}

TEST(RankingSum, OrdersByScoreThenMember) {
  RankingSum sum;
  Hour a{{"b", 5}, {"a", 5}, {"c", 9}, {"d", -2}};
  sum.add(a);
  Hour current{{"d", 3}, {"e", 1}};
  std::vector<Ranked> expected{{"c", 9}, {"a", 5}, {"b", 5}, {"d", 1}, {"e", 1}};
  EXPECT_EQ(sum.best_with(current, 10), expected);
  expected.resize(2);
  EXPECT_EQ(sum.best_with(current, 2), expected);
}

TEST(RankingSum, NonPositiveTotalsAreLeftOut) {
  RankingSum sum;
  Hour likes{{"p1", 2}, {"p2", 1}};
  Hour unlikes{{"p1", -2}, {"p2", -3}};
  sum.add(likes);
  sum.add(unlikes);
  EXPECT_TRUE(sum.best_with({}, 10).empty());
  EXPECT_EQ(sum.size(), 1u);  // p1 cancelled out and is forgotten; p2 stays at -2
  Hour current{{"p2", 3}};
  std::vector<Ranked> expected{{"p2", 1}};
  EXPECT_EQ(sum.best_with(current, 10), expected);
}

TEST(RankingSum, SubtractingAnHourUndoesAddingIt) {
  RankingSum sum;
  Hour first{{"x", 4}, {"y", 2}};
  Hour second{{"y", 5}, {"z", 1}};
  sum.add(first);
  sum.add(second);
  sum.subtract(first);
  std::vector<Ranked> expected{{"y", 5}, {"z", 1}};
  EXPECT_EQ(sum.best_with({}, 10), expected);
  sum.clear();
  EXPECT_TRUE(sum.best_with({}, 10).empty());
}

// Random hours added, replaced and removed, read with random current hours and limits:
// every answer equals the sum computed from scratch.
TEST(RankingSum, MatchesSummingFromScratch) {
  std::mt19937 random(20261126);
  for (int round = 0; round < 30; ++round) {
    std::vector<Hour> hours;
    RankingSum sum;
    int population = 50 + round * 20;
    for (int h = 0; h < 12; ++h) {
      hours.push_back(random_hour(random, 40 + round, population));
      sum.add(hours.back());
    }
    for (int step = 0; step < 8; ++step) {
      std::size_t changed = random() % hours.size();
      Hour fresh = random_hour(random, 40 + round, population);
      sum.subtract(hours[changed]);
      sum.add(fresh);
      hours[changed] = std::move(fresh);

      Hour current = random_hour(random, 1 + static_cast<int>(random() % 60), population);
      std::size_t limit = 1 + random() % 30;
      std::vector<const Hour*> all;
      for (const Hour& hour : hours) all.push_back(&hour);
      all.push_back(&current);
      ASSERT_EQ(sum.best_with(current, limit), best_from_scratch(all, limit))
          << "round " << round << " step " << step << " limit " << limit;
    }
  }
}

}  // namespace
