#include "tests/e2e/history_fixture.h"

#include <fstream>

#include "gtest/gtest.h"

namespace graphene::e2e {

std::string HistoryTarget(const std::string& function) {
  return std::string(kHistoryTargets) + ":" + function;
}

void HistoryTest::SetUp() {
  LeftoverCheckingTest::SetUp();
  if (HasFatalFailure()) return;
  const std::string flag = (scratch_dir() / "flag").string();
  for (int campaign = 1; campaign <= 3; ++campaign) {
    if (campaign == 3) std::ofstream(flag) << "on\n";
    RunOptions options;
    options.env.emplace_back("GRAPHENE_E2E_FLAG", flag);
    const RunResult run =
        Run({"run-all", "--test-dir", kHistoryTargets, "--input", "short", "--input",
             "a much longer input", "--repeat", "10", "--grace", "50", "-q"},
            options);
    ASSERT_EQ(run.exit_code, 0) << run.err;
  }
}

nlohmann::json HistoryTest::Json(std::vector<std::string> args) {
  args.insert(args.end(), {"--format", "json"});
  const RunResult run = Run(args);
  EXPECT_EQ(run.exit_code, 0) << DescribeCommand(args) << ": " << run.err;
  return nlohmann::json::parse(run.out, nullptr, false);
}

}  // namespace graphene::e2e
