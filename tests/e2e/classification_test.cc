// Does graphene classify the fixtures as their docstrings say, every time,
// and does it name each kind of escape correctly?
#include <map>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/e2e_test_base.h"
#include "tests/e2e/fixture_catalog.h"

namespace graphene::e2e {
namespace {

using nlohmann::json;
using ::testing::AllOf;
using ::testing::Each;
using ::testing::Eq;
using ::testing::SizeIs;
using ::testing::StartsWith;

// Every escape of every result of `entry`.
std::vector<json> AllEscapes(const json& entry) {
  std::vector<json> escapes;
  for (const json& result : entry.at("results")) {
    for (const json& escape : result.at("escapes")) escapes.push_back(escape);
  }
  return escapes;
}

std::vector<std::string> Kinds(const json& escapes) {
  std::vector<std::string> kinds;
  for (const json& escape : escapes) kinds.push_back(escape.at("kind").get<std::string>());
  return kinds;
}

class ClassificationTest : public GrapheneE2eTest {};

TEST_F(ClassificationTest, EveryFixtureMatchesItsDocstringOnEveryRepeat) {
  const std::vector<FixtureFunction> fixtures = ScanFixtureFolder(kSourceDir, "fixtures/python");
  // The seed names 17 fixtures; fewer means the scan (not graphene) is broken.
  ASSERT_GE(fixtures.size(), 17u);
  std::map<std::string, FixtureFunction> by_target;
  for (const FixtureFunction& fixture : fixtures) {
    EXPECT_TRUE(fixture.expected == "ESCAPE" || fixture.expected == "SAFE")
        << fixture.target << " has no Expected Behavior in its docstring";
    by_target[fixture.target] = fixture;
  }

  const json report = RunJson({"run-all", "--repeat", "3", "--input", "a", "--input", "b"});
  ASSERT_TRUE(report.is_object());

  std::set<std::string> reported;
  for (const json& entry : report.at("targets")) {
    const std::string target = entry.at("target").get<std::string>();
    SCOPED_TRACE(target);
    reported.insert(target);
    auto fixture = by_target.find(target);
    if (fixture == by_target.end()) {
      ADD_FAILURE() << "graphene ran " << target << ", which is not a public fixture function";
      continue;
    }
    const bool escapes = fixture->second.expected == "ESCAPE";
    EXPECT_EQ(entry.at("expected"), fixture->second.expected);
    EXPECT_EQ(entry.at("verdict"), fixture->second.expected);
    EXPECT_EQ(entry.at("match"), true);
    EXPECT_EQ(entry.at("executions"), 6);
    EXPECT_EQ(entry.at("escapes"), escapes ? 6 : 0);
    ASSERT_THAT(entry.at("results"), SizeIs(6));
    for (const json& result : entry.at("results")) {
      SCOPED_TRACE(result.dump());
      // One fixture shows that raising without leftovers is SAFE.
      EXPECT_EQ(result.at("status"),
                target.ends_with(":raises_without_leftovers") ? "exception" : "ok");
      EXPECT_EQ(result.at("escape_detected"), escapes);
      EXPECT_EQ(result.at("escapes").empty(), !escapes);
      // Everything a fixture starts, it starts from its own file.
      for (const json& escape : result.at("escapes")) {
        EXPECT_THAT(escape.at("started_at").get<std::string>(),
                    StartsWith(fixture->second.file + ":"));
      }
    }
  }
  std::set<std::string> expected_targets;
  for (const auto& [target, fixture] : by_target) expected_targets.insert(target);
  EXPECT_EQ(reported, expected_targets) << "discovery missed or invented targets";
  EXPECT_EQ(report.at("totals").at("mismatches"), 0);
}

TEST_F(ClassificationTest, EachKindOfEscapeIsNamedCorrectly) {
  const std::string threads = "fixtures/python/escape_threads.py:";
  const std::string daemon = threads + "spawn_daemon_thread";
  const std::string non_daemon = threads + "spawn_non_daemon_thread";
  const std::string timer = threads + "spawn_timer_thread";
  const std::string executor = "fixtures/python/escape_executor.py:leak_new_executor";
  const std::string pool = "fixtures/python/escape_pool.py:leak_process_pool";
  const std::string process = "fixtures.python.escape_process:spawn_process";
  const json report = RunJson({"analyze", daemon, non_daemon, timer, executor, pool, process,
                               "--input", "a", "--repeat", "2"});
  ASSERT_TRUE(report.is_object());

  for (const std::string& target : {daemon, non_daemon}) {
    SCOPED_TRACE(target);
    const json entry = FindTarget(report, target);
    ASSERT_TRUE(entry.is_object());
    for (const json& result : entry.at("results")) {
      ASSERT_THAT(result.at("escapes"), SizeIs(1)) << result.dump();
      const json& escape = result.at("escapes")[0];
      EXPECT_EQ(escape.at("kind"), "thread");
      EXPECT_EQ(escape.at("daemon"), target == daemon);
      EXPECT_TRUE(escape.at("pid").is_null());
    }
  }

  const json timer_entry = FindTarget(report, timer);
  ASSERT_TRUE(timer_entry.is_object());
  EXPECT_THAT(Kinds(AllEscapes(timer_entry)), AllOf(SizeIs(2), Each(Eq("timer"))));

  const json executor_entry = FindTarget(report, executor);
  ASSERT_TRUE(executor_entry.is_object());
  EXPECT_THAT(Kinds(AllEscapes(executor_entry)), AllOf(SizeIs(2), Each(Eq("executor_worker"))));

  const json pool_entry = FindTarget(report, pool);
  ASSERT_TRUE(pool_entry.is_object());
  for (const json& result : pool_entry.at("results")) {
    int pool_workers = 0;
    for (const json& escape : result.at("escapes")) {
      if (escape.at("kind") != "pool_worker") continue;
      ++pool_workers;
      EXPECT_TRUE(escape.at("pid").is_number_integer()) << escape.dump();
      EXPECT_GT(escape.at("pid").get<int64_t>(), 0);
    }
    EXPECT_EQ(pool_workers, 2) << "multiprocessing.Pool(2) leaks two workers: " << result.dump();
  }

  const json process_entry = FindTarget(report, process);
  ASSERT_TRUE(process_entry.is_object());
  for (const json& result : process_entry.at("results")) {
    ASSERT_THAT(result.at("escapes"), SizeIs(1)) << result.dump();
    const json& escape = result.at("escapes")[0];
    EXPECT_EQ(escape.at("kind"), "process");
    EXPECT_TRUE(escape.at("pid").is_number_integer()) << escape.dump();
    EXPECT_THAT(escape.at("started_at").get<std::string>(),
                StartsWith("fixtures/python/escape_process.py:"));
  }
}

TEST_F(ClassificationTest, BadEndingsAreRecordedWithTheirStatusAndTheirEscapes) {
  const std::string file = "tests/e2e/data/statuses.py:";
  struct Case {
    std::string function, status, kind;
  };
  const std::vector<Case> cases = {
      {"raises_after_thread", "exception", "thread"},
      {"sys_exit_after_thread", "exception", "thread"},
      {"os_exit_after_fork", "crash", "process"},
      {"killed_by_signal_after_fork", "crash", "process"},
      {"hangs_after_fork", "timeout", "process"},
  };
  std::vector<std::string> args = {"analyze"};
  for (const Case& c : cases) args.push_back(file + c.function);
  args.insert(args.end(), {"--input", "a", "--repeat", "1", "--timeout", "1"});
  const json report = RunJson(args);
  ASSERT_TRUE(report.is_object());

  for (const Case& c : cases) {
    SCOPED_TRACE(c.function);
    const json entry = FindTarget(report, file + c.function);
    ASSERT_TRUE(entry.is_object());
    EXPECT_EQ(entry.at("match"), true);
    ASSERT_THAT(entry.at("results"), SizeIs(1));
    const json& result = entry.at("results")[0];
    EXPECT_EQ(result.at("status"), c.status) << result.dump();
    EXPECT_EQ(result.at("escape_detected"), true);
    ASSERT_THAT(result.at("escapes"), SizeIs(1)) << result.dump();
    EXPECT_EQ(result.at("escapes")[0].at("kind"), c.kind);
    EXPECT_THAT(result.at("escapes")[0].at("started_at").get<std::string>(),
                StartsWith("tests/e2e/data/statuses.py:"));
  }
}

}  // namespace
}  // namespace graphene::e2e
