#include "cli/sarif_report.h"

#include <gtest/gtest.h>

#include "schema/names.h"

namespace graphene {
namespace {

Escape MakeEscape(std::string_view kind, const std::string& name, const std::string& started_at) {
  Escape escape;
  escape.kind = kind;
  escape.name = name;
  escape.started_at = started_at;
  escape.started_in = "spawn";
  return escape;
}

StoredExecution Execution(std::vector<Escape> escapes) {
  StoredExecution e;
  e.result.status = kStatusOk;
  e.result.escape_detected = !escapes.empty();
  e.result.escapes = std::move(escapes);
  return e;
}

CampaignSummary Campaign() {
  CampaignSummary summary;
  summary.campaign = 3;
  TargetSummary bad;  // escapes against its docstring
  bad.info.spec = "dir/mod.py:spawn";
  bad.info.file = "dir/mod.py";
  bad.info.line = 4;
  bad.info.expected = "SAFE";
  bad.verdict = std::string(kVerdictEscape);
  bad.match = false;
  bad.results = {Execution({MakeEscape(kKindThread, "Thread-1", "dir/mod.py:7"),
                            MakeEscape(kKindProcess, "python3", "dir/mod.py:9")}),
                 Execution({MakeEscape(kKindThread, "Thread-2", "dir/mod.py:7")})};
  bad.executions = 2;
  bad.escapes = 2;
  TargetSummary known;  // escapes as expected; one escape has no place of its own
  known.info.spec = "pkg.mod:leak";
  known.info.file = "pkg/mod.py";
  known.info.line = 20;
  known.info.expected = "ESCAPE";
  known.verdict = std::string(kVerdictEscape);
  known.match = true;
  known.results = {Execution({MakeEscape(kKindNativeThread, "native", "")})};
  known.executions = 1;
  known.escapes = 1;
  TargetSummary nowhere;  // neither the escape nor the target has a place
  nowhere.info.spec = "x:y";
  nowhere.verdict = std::string(kVerdictEscape);
  nowhere.results = {Execution({MakeEscape(kKindTimer, "t", "garbage")})};
  nowhere.executions = 1;
  nowhere.escapes = 1;
  summary.targets = {bad, known, nowhere};
  return summary;
}

TEST(RenderSarif, OneRunWithARulePerKind) {
  const nlohmann::json sarif = RenderSarif(Campaign(), "1.2.3");
  EXPECT_EQ(sarif["version"], "2.1.0");
  ASSERT_EQ(sarif["runs"].size(), 1u);
  const nlohmann::json& driver = sarif["runs"][0]["tool"]["driver"];
  EXPECT_EQ(driver["name"], "graphene");
  EXPECT_EQ(driver["version"], "1.2.3");
  std::set<std::string> rules;
  for (const auto& rule : driver["rules"]) rules.insert(rule["id"].get<std::string>());
  EXPECT_EQ(rules, (std::set<std::string>{"thread", "timer", "executor_worker", "pool_worker",
                                          "process", "native_thread", "async_task"}));
}

TEST(RenderSarif, OneResultPerDistinctEscapeLocatedWhereItStarted) {
  const nlohmann::json sarif = RenderSarif(Campaign(), "1.2.3");
  const nlohmann::json& results = sarif["runs"][0]["results"];
  const nlohmann::json& rules = sarif["runs"][0]["tool"]["driver"]["rules"];
  ASSERT_EQ(results.size(), 3u) << results.dump(2);

  // Sorted by (kind, started_at) within a target: process, then thread.
  const nlohmann::json& process = results[0];
  EXPECT_EQ(process["ruleId"], "process");
  EXPECT_EQ(process["level"], "error");
  const nlohmann::json& thread = results[1];
  EXPECT_EQ(thread["ruleId"], "thread");
  EXPECT_EQ(rules[thread["ruleIndex"].get<size_t>()]["id"], "thread");
  EXPECT_EQ(thread["level"], "error");
  const nlohmann::json& where = thread["locations"][0]["physicalLocation"];
  EXPECT_EQ(where["artifactLocation"]["uri"], "dir/mod.py");
  EXPECT_EQ(where["region"]["startLine"], 7);
  const std::string text = thread["message"]["text"];
  EXPECT_NE(text.find("dir/mod.py:spawn"), std::string::npos) << text;
  EXPECT_NE(text.find("thread 'Thread-1', 'Thread-2'"), std::string::npos) << text;
  EXPECT_NE(text.find("in 2 of 2 executions"), std::string::npos) << text;

  // Without a started_at line: at the target's definition, a warning as expected.
  const nlohmann::json& native = results[2];
  EXPECT_EQ(native["ruleId"], "native_thread");
  EXPECT_EQ(native["level"], "warning");
  EXPECT_EQ(native["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "pkg/mod.py");
  EXPECT_EQ(native["locations"][0]["physicalLocation"]["region"]["startLine"], 20);
}

TEST(RenderSarif, NoEscapesNoResults) {
  CampaignSummary summary;
  TargetSummary t;
  t.info.spec = "a.py:f";
  t.verdict = std::string(kVerdictSafe);
  t.results = {Execution({})};
  t.executions = 1;
  summary.targets = {t};
  const nlohmann::json sarif = RenderSarif(summary, "0");
  EXPECT_TRUE(sarif["runs"][0]["results"].is_array());
  EXPECT_TRUE(sarif["runs"][0]["results"].empty());
}

}  // namespace
}  // namespace graphene
