// The `--format json` report is a contract (SPEC section 3): every field
// named there, with its type, its allowed values and its arithmetic.
#include <filesystem>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/e2e_test_base.h"
#include "tests/e2e/fixture_catalog.h"

namespace graphene::e2e {
namespace {

using nlohmann::json;

const std::set<std::string> kVerdicts = {"ESCAPE", "SAFE", "FLAKY", "INPUT-DEPENDENT"};
const std::set<std::string> kStatuses = {"ok", "exception", "crash", "timeout"};
const std::set<std::string> kKinds = {"thread",      "timer",         "executor_worker", "process",
                                      "pool_worker", "native_thread", "async_task"};

bool IsOneOf(const json& value, const std::set<std::string>& allowed) {
  return value.is_string() && allowed.count(value.get<std::string>()) > 0;
}

// Checks one escape's fields; `target_file` is where the target's code is.
void CheckEscape(const json& escape, const std::string& target_file) {
  SCOPED_TRACE(escape.dump());
  ASSERT_TRUE(escape.is_object());
  EXPECT_TRUE(IsOneOf(escape.at("kind"), kKinds));
  EXPECT_TRUE(escape.at("name").is_string());
  EXPECT_TRUE(escape.at("daemon").is_boolean());
  EXPECT_TRUE(escape.at("pid").is_null() || escape.at("pid").is_number_integer());
  ASSERT_TRUE(escape.at("started_at").is_string());
  // "file:line", pointing into the target's own file.
  const std::string started_at = escape.at("started_at").get<std::string>();
  const size_t colon = started_at.rfind(':');
  ASSERT_NE(colon, std::string::npos);
  const std::string file = started_at.substr(0, colon);
  EXPECT_EQ(file, target_file);
  const int lines = CountLines(std::filesystem::path(kSourceDir) / file);
  EXPECT_GT(lines, 0) << file << " does not exist or is empty";
  const std::string line_text = started_at.substr(colon + 1);
  ASSERT_FALSE(line_text.empty());
  ASSERT_EQ(line_text.find_first_not_of("0123456789"), std::string::npos);
  const int line = std::stoi(line_text);
  EXPECT_GE(line, 1);
  EXPECT_LE(line, lines);
}

// Checks one target's fields and that its counts add up, given the inputs
// and repeat count the campaign was run with.
void CheckTarget(const json& entry, const std::vector<std::string>& inputs, int repeat) {
  ASSERT_TRUE(entry.is_object());
  ASSERT_TRUE(entry.at("target").is_string());
  const std::string target = entry.at("target").get<std::string>();
  SCOPED_TRACE(target);
  const json& expected = entry.at("expected");
  EXPECT_TRUE(expected.is_null() || IsOneOf(expected, {"ESCAPE", "SAFE"})) << expected;
  EXPECT_TRUE(IsOneOf(entry.at("verdict"), kVerdicts)) << entry.at("verdict");
  const json& match = entry.at("match");
  if (expected.is_null()) {
    EXPECT_TRUE(match.is_null()) << match;
  } else {
    ASSERT_TRUE(match.is_boolean()) << match;
    EXPECT_EQ(match.get<bool>(), expected == entry.at("verdict"));
  }
  ASSERT_TRUE(entry.at("executions").is_number_integer());
  ASSERT_TRUE(entry.at("escapes").is_number_integer());
  ASSERT_TRUE(entry.at("escape_rate").is_number());
  EXPECT_TRUE(entry.at("flaky").is_boolean());
  ASSERT_TRUE(entry.at("results").is_array());

  const int64_t executions = entry.at("executions").get<int64_t>();
  const int64_t escapes = entry.at("escapes").get<int64_t>();
  EXPECT_EQ(executions, static_cast<int64_t>(inputs.size()) * repeat);
  EXPECT_EQ(entry.at("results").size(), static_cast<size_t>(executions));
  ASSERT_GT(executions, 0);
  EXPECT_NEAR(entry.at("escape_rate").get<double>(), static_cast<double>(escapes) / executions,
              1e-9);

  std::set<std::pair<std::string, int64_t>> runs;
  int64_t escaping_results = 0;
  for (const json& result : entry.at("results")) {
    SCOPED_TRACE(result.dump());
    ASSERT_TRUE(result.is_object());
    ASSERT_TRUE(result.at("input").is_string());
    ASSERT_TRUE(result.at("repeat").is_number_integer());
    runs.emplace(result.at("input").get<std::string>(), result.at("repeat").get<int64_t>());
    EXPECT_TRUE(IsOneOf(result.at("status"), kStatuses));
    ASSERT_TRUE(result.at("escape_detected").is_boolean());
    ASSERT_TRUE(result.at("escapes").is_array());
    EXPECT_EQ(result.at("escape_detected").get<bool>(), !result.at("escapes").empty());
    escaping_results += result.at("escape_detected").get<bool>();
    ASSERT_TRUE(result.at("duration_ms").is_number());
    EXPECT_GE(result.at("duration_ms").get<double>(), 0.0);
    for (const json& escape : result.at("escapes")) CheckEscape(escape, TargetFile(target));
  }
  EXPECT_EQ(escapes, escaping_results);
  std::set<std::pair<std::string, int64_t>> expected_runs;
  for (const std::string& input : inputs) {
    for (int r = 0; r < repeat; ++r) expected_runs.emplace(input, r);
  }
  EXPECT_EQ(runs, expected_runs) << "each (input, repeat) must be run exactly once";
}

class JsonContractTest : public GrapheneE2eTest {};

TEST_F(JsonContractTest, EveryDocumentedFieldHasItsTypeAndTheCountsAddUp) {
  const std::vector<std::string> targets = {
      "fixtures/python/escape_threads.py:spawn_daemon_thread",
      "fixtures.python.escape_process:spawn_process",
      "fixtures/python/no_escape.py:join_thread",
      "tests/e2e/data/statuses.py:no_expectation",
  };
  const std::vector<std::string> inputs = {"x", "y"};
  const int repeat = 2;
  std::vector<std::string> args = {"analyze"};
  args.insert(args.end(), targets.begin(), targets.end());
  for (const std::string& input : inputs) args.insert(args.end(), {"--input", input});
  args.insert(args.end(), {"--repeat", std::to_string(repeat)});
  const json report = RunJson(args);
  ASSERT_TRUE(report.is_object());

  EXPECT_TRUE(report.at("campaign").is_string());
  ASSERT_TRUE(report.at("targets").is_array());
  ASSERT_EQ(report.at("targets").size(), targets.size());
  int64_t executions = 0, escapes = 0, mismatches = 0;
  for (size_t i = 0; i < targets.size(); ++i) {
    const json& entry = report.at("targets")[i];
    EXPECT_EQ(entry.at("target"), targets[i]) << "targets are reported in the order given";
    CheckTarget(entry, inputs, repeat);
    if (HasFailure()) return;  // the totals below would only repeat the failure
    executions += entry.at("executions").get<int64_t>();
    escapes += entry.at("escapes").get<int64_t>();
    mismatches += entry.at("match") == false;
  }

  const json& totals = report.at("totals");
  ASSERT_TRUE(totals.is_object());
  EXPECT_EQ(totals.at("targets"), targets.size());
  EXPECT_EQ(totals.at("executions"), executions);
  EXPECT_EQ(totals.at("escapes"), escapes);
  EXPECT_EQ(totals.at("mismatches"), mismatches);

  // What each of these targets does is known, so the values are too.
  const json daemon = FindTarget(report, targets[0]);
  EXPECT_EQ(daemon.at("expected"), "ESCAPE");
  EXPECT_EQ(daemon.at("verdict"), "ESCAPE");
  EXPECT_EQ(daemon.at("escape_rate"), 1.0);
  EXPECT_EQ(daemon.at("flaky"), false);
  const json safe = FindTarget(report, targets[2]);
  EXPECT_EQ(safe.at("verdict"), "SAFE");
  EXPECT_EQ(safe.at("escapes"), 0);
  EXPECT_EQ(safe.at("escape_rate"), 0.0);
  const json unannotated = FindTarget(report, targets[3]);
  EXPECT_TRUE(unannotated.at("expected").is_null());
  EXPECT_TRUE(unannotated.at("match").is_null());
  EXPECT_EQ(totals.at("escapes"), 8);
}

}  // namespace
}  // namespace graphene::e2e
