// The seed document's command lines work as written, their text report has
// one line per target and a totals line, and a verdict that contradicts a
// docstring makes graphene exit with status 1.
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/e2e_test_base.h"
#include "tests/e2e/fixture_catalog.h"
#include "tests/e2e/result_database.h"

namespace graphene::e2e {
namespace {

using nlohmann::json;
using ::testing::SizeIs;

struct TextTotals {
  int targets = 0, executions = 0, escaped = 0, mismatches = 0;
};

struct TextReport {
  std::map<std::string, int> target_lines;  // target -> lines naming it in the table
  std::vector<TextTotals> totals;           // every totals line
};

// Reads graphene's text report: a table whose target lines start with a
// verdict and end with the target, and a totals line such as
// "campaign 3: 1 targets, 3 executions, 3 escaped, 0 mismatches".
TextReport ParseTextReport(const std::string& text) {
  static const std::regex kTargetLine(R"(^(ESCAPE|SAFE|FLAKY|INPUT-DEPENDENT)\s.*\s(\S+)\s*$)");
  static const std::regex kTotalsLine(
      R"((\d+) targets?, (\d+) executions?, (\d+) escaped, (\d+) mismatch(es)?)");
  TextReport report;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::smatch match;
    if (std::regex_search(line, match, kTargetLine)) {
      ++report.target_lines[match[2].str()];
    } else if (std::regex_search(line, match, kTotalsLine)) {
      report.totals.push_back({std::stoi(match[1].str()), std::stoi(match[2].str()),
                               std::stoi(match[3].str()), std::stoi(match[4].str())});
    }
  }
  return report;
}

struct SeedCommand {
  std::string name;
  std::vector<std::string> args;     // exactly as in the seed document
  std::vector<std::string> targets;  // empty: every fixture function
  int executions_per_target;
};

class SeedCommandTest : public GrapheneE2eTest,
                        public ::testing::WithParamInterface<SeedCommand> {};

// Runs the command as the seed writes it: the database comes from
// GRAPHENE_DB, which the fixture points into the scratch folder.
TEST_P(SeedCommandTest, RunsAsWrittenAndPrintsOneLinePerTargetAndTotals) {
  const SeedCommand& command = GetParam();
  std::vector<std::string> targets = command.targets;
  if (targets.empty()) {
    for (const FixtureFunction& f : ScanFixtureFolder(kSourceDir, "fixtures/python")) {
      targets.push_back(f.target);
    }
  }
  const RunResult run = Run(command.args);
  ASSERT_EQ(run.exit_code, 0) << DescribeCommand(command.args) << "\nstdout:\n"
                              << run.out << "\nstderr:\n"
                              << run.err;

  const TextReport report = ParseTextReport(run.out);
  for (const std::string& target : targets) {
    EXPECT_EQ(report.target_lines.count(target) ? report.target_lines.at(target) : 0, 1)
        << target << " in:\n"
        << run.out;
  }
  EXPECT_EQ(report.target_lines.size(), targets.size()) << run.out;
  ASSERT_THAT(report.totals, SizeIs(1)) << run.out;
  const int executions = command.executions_per_target * static_cast<int>(targets.size());
  EXPECT_EQ(report.totals[0].targets, static_cast<int>(targets.size()));
  EXPECT_EQ(report.totals[0].executions, executions);
  EXPECT_EQ(report.totals[0].mismatches, 0);
  ResultDatabase db(db_path());
  ASSERT_TRUE(db.ok()) << "the results go where GRAPHENE_DB says: " << db.error();
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM executions"), executions) << db.error();
}

INSTANTIATE_TEST_SUITE_P(
    Seed, SeedCommandTest,
    ::testing::Values(
        SeedCommand{"SingleInput",
                    {"fixtures.python.escape_threads:spawn_non_daemon_thread", "--input", "hello"},
                    {"fixtures.python.escape_threads:spawn_non_daemon_thread"},
                    3},
        // The seed generates 50 inputs; 3 keep the test short and exercise the
        // same path (the README's main command runs the 50).
        SeedCommand{"RunAllGenerated", {"--run-all", "--python-only", "--generate", "3"}, {}, 9},
        SeedCommand{"ThreeInputsFiveRepeats",
                    {"fixtures.python.escape_threads:spawn_non_daemon_thread", "--input", "test1",
                     "--input", "test2", "--input", "test3", "--repeat", "5"},
                    {"fixtures.python.escape_threads:spawn_non_daemon_thread"},
                    15},
        SeedCommand{"MainThreadMode",
                    {"fixtures.python.escape_process:spawn_process", "--main-thread-mode",
                     "--input", "test"},
                    {"fixtures.python.escape_process:spawn_process"},
                    3},
        SeedCommand{
            "AnalyzeWithLanguage",
            {"analyze", "--target", "fixtures/python/escape_threads.py:spawn_non_daemon_thread",
             "--input", "test", "--language", "python"},
            {"fixtures/python/escape_threads.py:spawn_non_daemon_thread"},
            3}),
    [](const ::testing::TestParamInfo<SeedCommand>& info) { return info.param.name; });

class MismatchTest : public GrapheneE2eTest {};

TEST_F(MismatchTest, AnEscapeInATargetDocumentedSafeExitsWithOne) {
  const std::string target = "tests/e2e/data/mismatch.py:claims_safe_but_escapes";
  const json report = RunJson({target, "--input", "a"}, /*expected_exit=*/1);
  ASSERT_TRUE(report.is_object());
  const json entry = FindTarget(report, target);
  ASSERT_TRUE(entry.is_object());
  EXPECT_EQ(entry.at("expected"), "SAFE");
  EXPECT_EQ(entry.at("verdict"), "ESCAPE");
  EXPECT_EQ(entry.at("match"), false);
  EXPECT_EQ(report.at("totals").at("mismatches"), 1);
}

TEST_F(MismatchTest, NoEscapeInATargetDocumentedEscapingExitsWithOne) {
  const std::string target = "tests/e2e/data/mismatch.py:claims_escape_but_is_clean";
  const json report = RunJson({target, "--input", "a"}, /*expected_exit=*/1);
  ASSERT_TRUE(report.is_object());
  const json entry = FindTarget(report, target);
  ASSERT_TRUE(entry.is_object());
  EXPECT_EQ(entry.at("expected"), "ESCAPE");
  EXPECT_EQ(entry.at("verdict"), "SAFE");
  EXPECT_EQ(entry.at("match"), false);
  EXPECT_EQ(report.at("totals").at("mismatches"), 1);
}

TEST_F(MismatchTest, TextReportOfAMismatchAlsoExitsWithOne) {
  const RunResult run = Run({"analyze", "tests/e2e/data/mismatch.py:claims_safe_but_escapes",
                             "tests/e2e/data/mismatch.py:claims_escape_but_is_clean",
                             "fixtures/python/no_escape.py:join_thread", "--input", "a"});
  EXPECT_EQ(run.exit_code, 1) << run.err;
  const TextReport report = ParseTextReport(run.out);
  ASSERT_THAT(report.totals, SizeIs(1)) << run.out;
  EXPECT_EQ(report.totals[0].mismatches, 2) << run.out;
}

}  // namespace
}  // namespace graphene::e2e
