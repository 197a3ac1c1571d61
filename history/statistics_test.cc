#include "history/statistics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "schema/names.h"

namespace graphene::history {
namespace {

// The expression of the views in schema/database.sql, constants and all.
Interval SqlWilson(uint64_t escapes, uint64_t executions) {
  const double escape_rate = double(escapes) / double(executions);
  const double n = double(executions);
  const double root = std::sqrt(escape_rate * (1 - escape_rate) / n +
                                0.960364705173531 / double(executions * executions));
  return {std::max(0.0, (escape_rate + 1.920729410347062 / n - 1.959963984540054 * root) /
                            (1 + 3.841458820694124 / n)),
          std::min(1.0, (escape_rate + 1.920729410347062 / n + 1.959963984540054 * root) /
                            (1 + 3.841458820694124 / n))};
}

TEST(WilsonInterval, KnownValues) {
  Interval none = WilsonInterval(0, 10);
  EXPECT_EQ(none.low, 0.0);
  EXPECT_NEAR(none.high, 0.2775327998628892, 1e-12);

  Interval half = WilsonInterval(5, 10);
  EXPECT_NEAR(half.low, 0.236593090512564, 1e-12);
  EXPECT_NEAR(half.high, 0.763406909487436, 1e-12);

  Interval all = WilsonInterval(10, 10);
  EXPECT_NEAR(all.low, 0.7224672001371106, 1e-12);
  EXPECT_EQ(all.high, 1.0);

  Interval rare = WilsonInterval(1, 1000);
  EXPECT_NEAR(rare.low, 0.00017654637062607817, 1e-12);
  EXPECT_NEAR(rare.high, 0.0056425585979579355, 1e-12);

  Interval one = WilsonInterval(0, 1);
  EXPECT_NEAR(one.high, 0.7934506856227626, 1e-12);
}

TEST(WilsonInterval, NoTrialsIsEverything) {
  Interval i = WilsonInterval(0, 0);
  EXPECT_EQ(i.low, 0.0);
  EXPECT_EQ(i.high, 1.0);
}

TEST(WilsonInterval, AgreesWithTheSqlViews) {
  for (uint64_t n : {1u, 2u, 3u, 7u, 10u, 50u, 99u, 1000u, 123457u, 10000000u}) {
    for (uint64_t s : {uint64_t{0}, uint64_t{1}, n / 3, n / 2, n - 1, n}) {
      if (s > n) continue;
      Interval mine = WilsonInterval(s, n), sql = SqlWilson(s, n);
      EXPECT_NEAR(mine.low, sql.low, 1e-12) << s << "/" << n;
      EXPECT_NEAR(mine.high, sql.high, 1e-12) << s << "/" << n;
      EXPECT_GE(mine.low, 0.0);
      EXPECT_LE(mine.high, 1.0);
      EXPECT_LE(mine.low, double(s) / double(n));
      EXPECT_GE(mine.high, double(s) / double(n));
    }
  }
}

TEST(WilsonInterval, WiderWithLargerZ) {
  Interval z95 = WilsonInterval(5, 20), z99 = WilsonInterval(5, 20, 2.5758293035489);
  EXPECT_LT(z99.low, z95.low);
  EXPECT_GT(z99.high, z95.high);
}

TEST(IsFlaky, RepeatsDisagree) {
  EXPECT_FALSE(IsFlaky({0, 0}));
  EXPECT_FALSE(IsFlaky({3, 0}));
  EXPECT_FALSE(IsFlaky({3, 3}));
  EXPECT_TRUE(IsFlaky({3, 1}));
  EXPECT_TRUE(IsFlaky({3, 2}));
}

TEST(ClassifyTarget, AllFourVerdicts) {
  EXPECT_EQ(ClassifyTarget({{3, 0}, {3, 0}}), kVerdictSafe);
  EXPECT_EQ(ClassifyTarget({{3, 3}, {5, 5}}), kVerdictEscape);
  EXPECT_EQ(ClassifyTarget({{3, 3}, {3, 1}, {3, 0}}), kVerdictFlaky);
  EXPECT_EQ(ClassifyTarget({{3, 2}}), kVerdictFlaky);
  EXPECT_EQ(ClassifyTarget({{3, 3}, {3, 0}, {4, 0}}), kVerdictInputDependent);
}

TEST(ClassifyTarget, EmptyAndUnexecutedAreSafe) {
  EXPECT_EQ(ClassifyTarget({}), kVerdictSafe);
  EXPECT_EQ(ClassifyTarget({{0, 0}}), kVerdictSafe);
  // An input without executions does not make an escaping target
  // input-dependent.
  EXPECT_EQ(ClassifyTarget({{3, 3}, {0, 0}}), kVerdictEscape);
}

TEST(FisherExactTwoSided, KnownValues) {
  EXPECT_NEAR(FisherExactTwoSided(1, 9, 11, 3), 0.0027594561852200836, 1e-10);
  EXPECT_NEAR(FisherExactTwoSided(0, 3, 3, 0), 0.1, 1e-12);
  EXPECT_NEAR(FisherExactTwoSided(0, 10, 10, 0), 1.082508822446903e-05, 1e-15);
  EXPECT_NEAR(FisherExactTwoSided(3, 1, 1, 3), 0.4857142857142857, 1e-12);
  EXPECT_NEAR(FisherExactTwoSided(2, 5, 6, 1), 0.10256410256410256, 1e-12);
  EXPECT_NEAR(FisherExactTwoSided(10, 2, 3, 15), 0.0005367241191434358, 1e-12);
  // Symmetric in rows and columns.
  EXPECT_NEAR(FisherExactTwoSided(11, 3, 1, 9), FisherExactTwoSided(1, 9, 11, 3), 1e-15);
  EXPECT_NEAR(FisherExactTwoSided(1, 11, 9, 3), FisherExactTwoSided(1, 9, 11, 3), 1e-15);
  // Identical rows and degenerate margins.
  EXPECT_NEAR(FisherExactTwoSided(1, 4, 1, 4), 1.0, 1e-12);
  EXPECT_DOUBLE_EQ(FisherExactTwoSided(0, 5, 0, 5), 1.0);
  EXPECT_DOUBLE_EQ(FisherExactTwoSided(0, 0, 2, 3), 1.0);
}

TEST(TwoProportionZTest, KnownValues) {
  EXPECT_NEAR(TwoProportionZTest(50, 100, 52, 100), 0.7772540327312343, 1e-12);
  EXPECT_NEAR(TwoProportionZTest(30, 100, 50, 100), 0.003892417122778627, 1e-12);
  EXPECT_LT(TwoProportionZTest(0, 100, 100, 100), 1e-40);
  EXPECT_DOUBLE_EQ(TwoProportionZTest(0, 100, 0, 100), 1.0);
  EXPECT_DOUBLE_EQ(TwoProportionZTest(1, 0, 1, 10), 1.0);
}

RatePoint Point(uint64_t campaign, uint64_t escapes, uint64_t executions) {
  return {campaign, "2024-01-0" + std::to_string(campaign), executions, escapes};
}

TEST(DetectChanges, LargeJumpIsSignificant) {
  std::vector<Change> changes = DetectChanges({Point(1, 0, 100), Point(2, 100, 100)});
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].index, 1u);
  EXPECT_EQ(changes[0].previous, 0u);
  EXPECT_DOUBLE_EQ(changes[0].before, 0.0);
  EXPECT_DOUBLE_EQ(changes[0].after, 1.0);
  EXPECT_FALSE(changes[0].exact);  // every expected cell is 50
  EXPECT_LT(changes[0].p_value, 1e-40);
  EXPECT_TRUE(changes[0].significant);
}

TEST(DetectChanges, SmallDriftIsNot) {
  std::vector<Change> changes = DetectChanges({Point(1, 50, 100), Point(2, 52, 100)});
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_FALSE(changes[0].exact);
  EXPECT_NEAR(changes[0].p_value, 0.7772540327312343, 1e-12);
  EXPECT_FALSE(changes[0].significant);
}

TEST(DetectChanges, SmallCountsUseFisher) {
  std::vector<Change> three = DetectChanges({Point(1, 0, 3), Point(2, 3, 3)});
  ASSERT_EQ(three.size(), 1u);
  EXPECT_TRUE(three[0].exact);
  EXPECT_NEAR(three[0].p_value, 0.1, 1e-12);
  EXPECT_FALSE(three[0].significant);
  // Significant at a looser level.
  EXPECT_TRUE(DetectChanges({Point(1, 0, 3), Point(2, 3, 3)}, 0.2)[0].significant);

  std::vector<Change> ten = DetectChanges({Point(1, 0, 10), Point(2, 10, 10)});
  ASSERT_EQ(ten.size(), 1u);
  EXPECT_TRUE(ten[0].exact);
  EXPECT_NEAR(ten[0].p_value, 1.082508822446903e-05, 1e-15);
  EXPECT_TRUE(ten[0].significant);
}

TEST(DetectChanges, RareEscapesUseFisher) {
  // Large campaigns, but only 4 escapes in all: expected escapes < 5.
  std::vector<Change> changes = DetectChanges({Point(1, 0, 1000), Point(2, 4, 1000)});
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_TRUE(changes[0].exact);
  EXPECT_NEAR(changes[0].p_value, 0.12462490634400826, 1e-12);
  EXPECT_FALSE(changes[0].significant);
}

TEST(DetectChanges, ZeroExecutionPointsAreSkipped) {
  std::vector<Change> changes =
      DetectChanges({Point(1, 0, 10), Point(2, 0, 0), Point(3, 10, 10), Point(4, 10, 10)});
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].index, 2u);
  EXPECT_EQ(changes[0].previous, 0u);
  EXPECT_TRUE(changes[0].significant);
  EXPECT_EQ(changes[1].index, 3u);
  EXPECT_EQ(changes[1].previous, 2u);
  EXPECT_NEAR(changes[1].p_value, 1.0, 1e-12);
  EXPECT_FALSE(changes[1].significant);
}

TEST(DetectChanges, NothingToCompare) {
  EXPECT_TRUE(DetectChanges({}).empty());
  EXPECT_TRUE(DetectChanges({Point(1, 3, 10)}).empty());
  EXPECT_TRUE(DetectChanges({Point(1, 0, 0), Point(2, 0, 0), Point(3, 2, 5)}).empty());
}

TEST(DetectChanges, SteadyHistoryHasNoSignificantChange) {
  std::vector<RatePoint> points;
  for (uint64_t c = 1; c <= 6; ++c) points.push_back(Point(c, 30, 100));
  std::vector<Change> changes = DetectChanges(points);
  ASSERT_EQ(changes.size(), 5u);
  for (const Change& change : changes) {
    EXPECT_FALSE(change.significant);
    EXPECT_DOUBLE_EQ(change.p_value, 1.0);
  }
}

}  // namespace
}  // namespace graphene::history
