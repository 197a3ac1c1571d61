// The runner the end-to-end tests rely on: it must report what a program
// printed and how it ended, and turn a hang into a test failure instead of
// hanging the suite.
#include "tests/e2e/graphene_runner.h"

#include <signal.h>

#include "gtest/gtest-spi.h"
#include "gtest/gtest.h"

namespace graphene::e2e {
namespace {

TEST(GrapheneRunnerTest, CapturesOutputAndExitStatusInTheGivenFolder) {
  RunOptions options;
  options.cwd = "/";
  options.env.emplace_back("GRAPHENE_E2E_RUNNER_PROBE", "probe-value");
  const RunResult run = RunProgram(
      "/bin/sh", {"-c", "pwd; echo \"$GRAPHENE_E2E_RUNNER_PROBE\" >&2; read x; exit 3"}, options);
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_EQ(run.term_signal, 0);
  EXPECT_FALSE(run.timed_out);
  EXPECT_EQ(run.out, "/\n");
  EXPECT_EQ(run.err, "probe-value\n");
}

TEST(GrapheneRunnerTest, ReportsTheSignalThatKilledTheProgram) {
  const RunResult run = RunProgram("/bin/sh", {"-c", "kill -SEGV $$"});
  EXPECT_EQ(run.exit_code, -1);
  EXPECT_EQ(run.term_signal, SIGSEGV);
}

TEST(GrapheneRunnerTest, KillsAProgramThatOutlivesItsDeadlineAndFailsTheTest) {
  RunOptions options;
  options.deadline = std::chrono::seconds(1);
  RunResult run;
  EXPECT_NONFATAL_FAILURE(run = RunProgram("/bin/sleep", {"600"}, options),
                          "did not finish within 1 s");
  EXPECT_TRUE(run.timed_out);
  EXPECT_EQ(run.term_signal, SIGKILL);
}

}  // namespace
}  // namespace graphene::e2e
