#include "cli/report.h"

#include <gtest/gtest.h>

#include "schema/names.h"

namespace graphene {
namespace {

CampaignSummary OneEscapingTarget() {
  CampaignSummary summary;
  summary.campaign = 7;
  TargetSummary t;
  t.info.spec = "fixtures/python/escape_threads.py:spawn_daemon_thread";
  t.info.expected = "ESCAPE";
  t.executions = 1;
  t.escapes = 1;
  t.verdict = std::string(kVerdictEscape);
  t.match = true;
  StoredExecution e;
  e.target = t.info.spec;
  e.input = "hello";
  e.result.status = kStatusOk;
  e.result.escape_detected = true;
  e.result.duration_ms = 1.5;
  Escape escape;
  escape.kind = kKindThread;
  escape.name = "Thread-1 (worker)";
  escape.daemon = true;
  escape.native_id = 42;
  escape.started_at = "fixtures/python/escape_threads.py:12";
  e.result.escapes.push_back(escape);
  t.results.push_back(e);
  summary.targets.push_back(t);
  summary.executions = 1;
  summary.escapes = 1;
  return summary;
}

TEST(RenderJson, KeepsTheContractNames) {
  nlohmann::json j = RenderJson(OneEscapingTarget());
  EXPECT_EQ(j["campaign"], "7");
  const auto& t = j["targets"][0];
  EXPECT_EQ(t["target"], "fixtures/python/escape_threads.py:spawn_daemon_thread");
  EXPECT_EQ(t["expected"], "ESCAPE");
  EXPECT_EQ(t["verdict"], "ESCAPE");
  EXPECT_EQ(t["match"], true);
  EXPECT_EQ(t["executions"], 1);
  EXPECT_EQ(t["escapes"], 1);
  EXPECT_DOUBLE_EQ(t["escape_rate"].get<double>(), 1.0);
  EXPECT_EQ(t["flaky"], false);
  const auto& r = t["results"][0];
  EXPECT_EQ(r["input"], "hello");
  EXPECT_EQ(r["repeat"], 0);
  EXPECT_EQ(r["status"], "ok");
  EXPECT_EQ(r["escape_detected"], true);
  EXPECT_DOUBLE_EQ(r["duration_ms"].get<double>(), 1.5);
  const auto& e = r["escapes"][0];
  EXPECT_EQ(e["kind"], "thread");
  EXPECT_EQ(e["name"], "Thread-1 (worker)");
  EXPECT_EQ(e["daemon"], true);
  EXPECT_TRUE(e["pid"].is_null());
  EXPECT_EQ(e["started_at"], "fixtures/python/escape_threads.py:12");
  EXPECT_EQ(j["totals"]["targets"], 1);
  EXPECT_EQ(j["totals"]["executions"], 1);
  EXPECT_EQ(j["totals"]["escapes"], 1);
  EXPECT_EQ(j["totals"]["mismatches"], 0);
}

TEST(RenderJson, NoExpectationIsNull) {
  CampaignSummary summary = OneEscapingTarget();
  summary.targets[0].info.expected.clear();
  summary.targets[0].match.reset();
  nlohmann::json j = RenderJson(summary);
  EXPECT_TRUE(j["targets"][0]["expected"].is_null());
  EXPECT_TRUE(j["targets"][0]["match"].is_null());
}

TEST(RenderText, OneLinePerTargetWithEscapeDetailsAndTotals) {
  std::string text = RenderText(OneEscapingTarget());
  EXPECT_NE(text.find("ESCAPE"), std::string::npos);
  EXPECT_NE(text.find("1/1"), std::string::npos);
  EXPECT_NE(text.find("100.0%"), std::string::npos);
  EXPECT_NE(text.find("thread 'Thread-1 (worker)' started at fixtures/python/escape_threads.py:12"),
            std::string::npos);
  EXPECT_NE(text.find("1 targets, 1 executions, 1 escaped, 0 mismatches"), std::string::npos);
}

}  // namespace
}  // namespace graphene
