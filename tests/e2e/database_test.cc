// Results land in SQLite (schema/database.sql) and agree with the report:
// one executions row per execution, one escapes row per escape, and a second
// campaign adds to the history instead of replacing it.
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/e2e_test_base.h"
#include "tests/e2e/result_database.h"

namespace graphene::e2e {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;

const std::string kDaemon = "fixtures/python/escape_threads.py:spawn_daemon_thread";
const std::string kSafe = "fixtures/python/no_escape.py:join_thread";

int64_t CountEscapeObjects(const json& report) {
  int64_t count = 0;
  for (const json& entry : report.at("targets")) {
    for (const json& result : entry.at("results")) count += result.at("escapes").size();
  }
  return count;
}

class DatabaseTest : public GrapheneE2eTest {
 protected:
  json RunCampaign() {
    return RunJson({"analyze", kDaemon, kSafe, "--input", "a", "--input", "b", "--repeat", "2"});
  }
};

TEST_F(DatabaseTest, StoresEveryExecutionAndEscapeOfTheReport) {
  const json report = RunCampaign();
  ASSERT_TRUE(report.is_object());
  const json& totals = report.at("totals");
  ASSERT_EQ(totals.at("executions"), 8);
  const std::string campaign = report.at("campaign").get<std::string>();

  ResultDatabase db(db_path());
  ASSERT_TRUE(db.ok()) << db.error();
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM executions"), totals.at("executions").get<int64_t>())
      << db.error();
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM executions WHERE campaign_id = " + campaign), 8)
      << db.error();
  EXPECT_EQ(db.QueryInt("SELECT sum(escape_detected) FROM executions"),
            totals.at("escapes").get<int64_t>())
      << db.error();
  const int64_t escape_objects = CountEscapeObjects(report);
  ASSERT_GT(escape_objects, 0);
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM escapes WHERE transient = 0"), escape_objects)
      << db.error();

  // Per target, what the report says and what the rows say agree.
  auto per_target = db.Query(
      "SELECT t.name, count(*), sum(e.escape_detected) FROM executions AS e "
      "JOIN targets AS t ON t.id = e.target_id GROUP BY t.name ORDER BY t.name");
  ASSERT_TRUE(per_target.has_value()) << db.error();
  EXPECT_THAT(*per_target,
              ElementsAre(ElementsAre(kDaemon, "4", "4"), ElementsAre(kSafe, "4", "0")));
  // The daemon thread's escapes are stored as what they are.
  auto kinds = db.Query(
      "SELECT DISTINCT s.kind, s.daemon, s.pid FROM escapes AS s "
      "JOIN executions AS e ON e.id = s.execution_id JOIN targets AS t ON t.id = e.target_id "
      "WHERE s.transient = 0 AND t.name = '" +
      kDaemon + "'");
  ASSERT_TRUE(kinds.has_value()) << db.error();
  EXPECT_THAT(*kinds, ElementsAre(ElementsAre("thread", "1", "NULL")));
  auto inputs = db.Query(
      "SELECT DISTINCT CAST(i.value AS TEXT) FROM executions AS e "
      "JOIN inputs AS i ON i.id = e.input_id ORDER BY 1");
  ASSERT_TRUE(inputs.has_value()) << db.error();
  EXPECT_THAT(*inputs, ElementsAre(ElementsAre("a"), ElementsAre("b")));
  EXPECT_EQ(
      db.QueryInt("SELECT count(*) FROM campaigns WHERE id = " + campaign + " AND status = 'done'"),
      1)
      << db.error();
}

TEST_F(DatabaseTest, ASecondCampaignAddsToTheHistory) {
  const json first = RunCampaign();
  const json second = RunCampaign();
  ASSERT_TRUE(first.is_object());
  ASSERT_TRUE(second.is_object());
  EXPECT_NE(first.at("campaign"), second.at("campaign"));

  ResultDatabase db(db_path());
  ASSERT_TRUE(db.ok()) << db.error();
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM executions"), 16) << db.error();
  EXPECT_EQ(db.QueryInt("SELECT count(DISTINCT campaign_id) FROM executions"), 2) << db.error();
  // The statistics views see both campaigns.
  EXPECT_EQ(db.QueryInt("SELECT executions FROM target_stats WHERE target = '" + kDaemon + "'"), 8)
      << db.error();
  EXPECT_EQ(db.QueryInt("SELECT campaigns FROM target_stats WHERE target = '" + kSafe + "'"), 2)
      << db.error();
}

}  // namespace
}  // namespace graphene::e2e
