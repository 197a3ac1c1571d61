// The history commands over a history built on purpose: several campaigns of
// targets that escape always, never, at random, only for some inputs, and
// only after a change between campaigns.
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/e2e_test_base.h"

namespace graphene::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr const char* kTargets = "tests/e2e/data/history/history_targets.py";

std::string Target(const std::string& function) { return std::string(kTargets) + ":" + function; }

class HistoryCommandsTest : public GrapheneE2eTest {
 protected:
  // Three campaigns of every target with a short and a long input, 10
  // repeats each; the flag file exists only during the third.
  void SetUp() override {
    GrapheneE2eTest::SetUp();
    flag_ = (scratch_dir() / "flag").string();
    for (int campaign = 1; campaign <= 3; ++campaign) {
      if (campaign == 3) std::ofstream(flag_) << "on\n";
      RunOptions options;
      options.env.emplace_back("GRAPHENE_E2E_FLAG", flag_);
      const RunResult run = Run({"run-all", "--test-dir", kTargets, "--input", "short", "--input",
                                 "a much longer input", "--repeat", "10", "--grace", "50", "-q"},
                                options);
      ASSERT_EQ(run.exit_code, 0) << run.err;
    }
  }

  nlohmann::json Json(std::vector<std::string> args) {
    args.insert(args.end(), {"--format", "json"});
    const RunResult run = Run(args);
    EXPECT_EQ(run.exit_code, 0) << run.err;
    return nlohmann::json::parse(run.out, nullptr, false);
  }

  std::string flag_;
};

TEST_F(HistoryCommandsTest, StatsGiveRatesIntervalsAndVerdicts) {
  const nlohmann::json rows = Json({"stats"});
  ASSERT_TRUE(rows.is_array());
  std::map<std::string, nlohmann::json> by_target;
  for (const nlohmann::json& row : rows) by_target[row["target"]] = row;
  ASSERT_EQ(by_target.size(), 5u);

  const nlohmann::json& always = by_target[Target("always_escapes")];
  EXPECT_EQ(always["verdict"], "ESCAPE");
  EXPECT_EQ(always["executions"], 60);
  EXPECT_EQ(always["escapes"], 60);
  EXPECT_NEAR(always["wilson_low"].get<double>(), 0.9398, 1e-4);  // 60/60
  EXPECT_EQ(always["wilson_high"], 1.0);
  const nlohmann::json& never = by_target[Target("never_escapes")];
  EXPECT_EQ(never["verdict"], "SAFE");
  EXPECT_EQ(never["escapes"], 0);
  EXPECT_EQ(never["wilson_low"], 0.0);
  EXPECT_NEAR(never["wilson_high"].get<double>(), 0.0602, 1e-4);  // 0/60
  EXPECT_EQ(by_target[Target("escapes_at_random")]["verdict"], "FLAKY");
  const nlohmann::json& long_inputs = by_target[Target("escapes_on_long_inputs")];
  EXPECT_EQ(long_inputs["verdict"], "INPUT-DEPENDENT");
  EXPECT_EQ(long_inputs["escaping_inputs"], 1);
  EXPECT_EQ(long_inputs["escapes"], 30);
  EXPECT_EQ(by_target[Target("escapes_while_flagged")]["escapes"], 20);

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
    if (row["target"] == Target("escapes_on_long_inputs")) {
      EXPECT_EQ(row["input"], "a much longer input");
      EXPECT_EQ(row["verdict"], "INPUT-DEPENDENT");
      EXPECT_EQ(row["flaky"], false);
    }
  }
  EXPECT_EQ(targets, (std::set<std::string>{Target("escapes_at_random"),
                                            Target("escapes_on_long_inputs"),
                                            Target("escapes_while_flagged")}));
}

TEST_F(HistoryCommandsTest, HistoryMarksWhereTheRateChanged) {
  const nlohmann::json rows = Json({"history", Target("escapes_while_flagged")});
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0]["escape_rate"], 0.0);
  EXPECT_TRUE(rows[1]["change"].is_null()) << "0/20 then 0/20 is no change";
  EXPECT_EQ(rows[2]["escape_rate"], 1.0);
  EXPECT_EQ(rows[2]["change"], "up");
  EXPECT_LT(rows[2]["p_value"].get<double>(), 0.001);
  const nlohmann::json steady = Json({"history", Target("always_escapes")});
  for (const nlohmann::json& row : steady) EXPECT_TRUE(row["change"].is_null());

  const RunResult csv = Run({"history", Target("escapes_while_flagged"), "--format", "csv"});
  EXPECT_THAT(csv.out, StartsWith("campaign,created_at,executions,escapes,escape_rate"));
  const RunResult missing = Run({"history", "no/such.py:target"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("no/such.py:target"));
}

}  // namespace
}  // namespace graphene::e2e
