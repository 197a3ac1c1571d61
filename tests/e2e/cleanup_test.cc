// When graphene exits, nothing a target started is left running: not the
// threads' processes, not multiprocessing children and pool workers, not the
// sandbox's own zygote and supervisors, and not a grandchild that double
// forked, left the session with setsid() and ignores SIGTERM.
//
// Two nets catch a leftover. This test process is made a child subreaper, so
// every orphan of its graphene runs (double forks, setsid) is re-parented to
// it rather than to init: whatever graphene started and left is a descendant
// of the test. And every new process that inherited the test's environment
// marker counts, wherever it hangs in the process tree. Command lines are
// shown but not used to attribute processes: other graphene runs on the same
// machine (benchmarks, other checkouts) have the same ones ("graphene
// __zygote", multiprocessing workers) and would be blamed on this test.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/leftover_check.h"

namespace graphene::e2e {
namespace {

using nlohmann::json;
using ::testing::SizeIs;

class CleanupTest : public LeftoverCheckingTest {};

TEST_F(CleanupTest, RunAllOverTheFixturesLeavesNothingRunning) {
  const json report =
      RunJson({"run-all", "--test-dir", "fixtures/python", "--repeat", "1", "--input", "a"});
  ASSERT_TRUE(report.is_object());
  // The check below means something only if processes did escape.
  int process_escapes = 0;
  for (const json& entry : report.at("targets")) {
    for (const json& result : entry.at("results")) {
      for (const json& escape : result.at("escapes")) {
        process_escapes += escape.at("pid").is_number_integer();
      }
    }
  }
  EXPECT_GE(process_escapes, 5) << "the escape fixtures start processes and pool workers";
  ExpectNothingLeft();
}

TEST_F(CleanupTest, ASetsidGrandchildIgnoringSigtermIsReportedAndKilled) {
  const std::string target = "tests/e2e/data/stubborn_grandchild.py:fork_stubborn_grandchild";
  const json report = RunJson({target, "--input", "a", "--repeat", "2"});
  ASSERT_TRUE(report.is_object());
  const json entry = FindTarget(report, target);
  ASSERT_TRUE(entry.is_object());
  EXPECT_EQ(entry.at("verdict"), "ESCAPE");
  for (const json& result : entry.at("results")) {
    ASSERT_THAT(result.at("escapes"), SizeIs(1)) << result.dump();
    EXPECT_EQ(result.at("escapes")[0].at("kind"), "process");
    EXPECT_TRUE(result.at("escapes")[0].at("pid").is_number_integer());
  }
  ExpectNothingLeft();
}

}  // namespace
}  // namespace graphene::e2e
