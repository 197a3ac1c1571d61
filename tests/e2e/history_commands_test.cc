// The history commands over a history built on purpose: several campaigns of
// targets that escape always, never, at random, only for some inputs, and
// only after a change between campaigns.
#include <map>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/history_fixture.h"

namespace graphene::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

using HistoryCommandsTest = HistoryTest;

TEST_F(HistoryCommandsTest, StatsGiveRatesIntervalsAndVerdicts) {
  const nlohmann::json rows = Json({"stats"});
  ASSERT_TRUE(rows.is_array());
  std::map<std::string, nlohmann::json> by_target;
  for (const nlohmann::json& row : rows) by_target[row["target"]] = row;
  ASSERT_EQ(by_target.size(), 5u);

  const nlohmann::json& always = by_target[HistoryTarget("always_escapes")];
  EXPECT_EQ(always["verdict"], "ESCAPE");
  EXPECT_EQ(always["executions"], 60);
  EXPECT_EQ(always["escapes"], 60);
  EXPECT_NEAR(always["wilson_low"].get<double>(), 0.9398, 1e-4);  // 60/60
  EXPECT_EQ(always["wilson_high"], 1.0);
  const nlohmann::json& never = by_target[HistoryTarget("never_escapes")];
  EXPECT_EQ(never["verdict"], "SAFE");
  EXPECT_EQ(never["escapes"], 0);
  EXPECT_EQ(never["wilson_low"], 0.0);
  EXPECT_NEAR(never["wilson_high"].get<double>(), 0.0602, 1e-4);  // 0/60
  EXPECT_EQ(by_target[HistoryTarget("escapes_at_random")]["verdict"], "FLAKY");
  const nlohmann::json& long_inputs = by_target[HistoryTarget("escapes_on_long_inputs")];
  EXPECT_EQ(long_inputs["verdict"], "INPUT-DEPENDENT");
  EXPECT_EQ(long_inputs["escaping_inputs"], 1);
  EXPECT_EQ(long_inputs["escapes"], 30);
  EXPECT_EQ(by_target[HistoryTarget("escapes_while_flagged")]["escapes"], 20);

  // A pattern and a campaign narrow it down.
  const nlohmann::json one = Json({"stats", "*never*", "--campaign", "2"});
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0]["executions"], 20);
  EXPECT_TRUE(Json({"stats", "--since", "2999-01-01"}).empty());
}

TEST_F(HistoryCommandsTest, FlakyListsFlakyAndInputDependentTargetsWithTheirEscapingInputs) {
  const nlohmann::json rows = Json({"flaky"});
  std::set<std::string> targets;
  for (const nlohmann::json& row : rows) {
    targets.insert(row["target"]);
    EXPECT_GT(row["escapes"], 0);
    if (row["target"] == HistoryTarget("escapes_on_long_inputs")) {
      EXPECT_EQ(row["input"], "a much longer input");
      EXPECT_EQ(row["verdict"], "INPUT-DEPENDENT");
      EXPECT_EQ(row["flaky"], false);
    }
  }
  EXPECT_EQ(targets, (std::set<std::string>{HistoryTarget("escapes_at_random"),
                                            HistoryTarget("escapes_on_long_inputs"),
                                            HistoryTarget("escapes_while_flagged")}));
}

TEST_F(HistoryCommandsTest, HistoryMarksWhereTheRateChanged) {
  const nlohmann::json rows = Json({"history", HistoryTarget("escapes_while_flagged")});
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0]["escape_rate"], 0.0);
  EXPECT_TRUE(rows[1]["change"].is_null()) << "0/20 then 0/20 is no change";
  EXPECT_EQ(rows[2]["escape_rate"], 1.0);
  EXPECT_EQ(rows[2]["change"], "up");
  EXPECT_LT(rows[2]["p_value"].get<double>(), 0.001);
  const nlohmann::json steady = Json({"history", HistoryTarget("always_escapes")});
  for (const nlohmann::json& row : steady) EXPECT_TRUE(row["change"].is_null());

  const RunResult csv = Run({"history", HistoryTarget("escapes_while_flagged"), "--format", "csv"});
  EXPECT_THAT(csv.out, StartsWith("campaign,created_at,executions,escapes,escape_rate"));
  const RunResult missing = Run({"history", "no/such.py:target"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("no/such.py:target"));
}

}  // namespace
}  // namespace graphene::e2e
