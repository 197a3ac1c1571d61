// `graphene campaigns`: what a results database holds, in text, JSON and CSV.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/e2e_test_base.h"

namespace graphene::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr const char* kThreads = "fixtures/python/escape_threads.py:spawn_non_daemon_thread";

TEST_F(GrapheneE2eTest, CampaignsListsEachCampaignNewestFirst) {
  ASSERT_EQ(Run({"analyze", kThreads, "--input", "a", "--repeat", "2"}).exit_code, 0);
  ASSERT_EQ(Run({"run-all", "--test-dir", "tests/e2e/data/farm", "--input", "a long input", "--repeat", "1"}).exit_code, 0);

  const RunResult json = Run({"campaigns", "--format", "json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const nlohmann::json rows = nlohmann::json::parse(json.out);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["campaign"], 2);
  EXPECT_EQ(rows[0]["targets"], 3);
  EXPECT_EQ(rows[0]["executions"], 3);
  EXPECT_EQ(rows[0]["status"], "done");
  EXPECT_THAT(rows[0]["command"].get<std::string>(), HasSubstr("run-all"));
  EXPECT_EQ(rows[1]["campaign"], 1);
  EXPECT_EQ(rows[1]["executions"], 2);
  EXPECT_EQ(rows[1]["escapes"], 2);
  EXPECT_EQ(rows[1]["jobs"], 2);

  const RunResult csv = Run({"campaigns", "--format", "csv", "--limit", "1"});
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_THAT(csv.out, StartsWith("campaign,created_at,finished_at,status,"));
  EXPECT_EQ(std::count(csv.out.begin(), csv.out.end(), '\n'), 2) << csv.out;

  const RunResult text = Run({"campaigns"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, StartsWith("CAMPAIGN"));
}

TEST_F(GrapheneE2eTest, CampaignsWithoutADatabaseIsAnErrorAndCreatesNone) {
  const std::string missing = (scratch_dir() / "none.db").string();
  const RunResult run = Run({"campaigns", "--db", missing});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr(missing));
  EXPECT_FALSE(std::filesystem::exists(missing));
}

}  // namespace
}  // namespace graphene::e2e
