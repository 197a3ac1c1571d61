// What a local campaign says about itself while and after it runs: a
// progress bar on a terminal, plain progress lines when stderr is not one,
// silence with --quiet, and the git commit of the tested code in its
// campaign record.
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/e2e_test_base.h"

namespace graphene::e2e {
namespace {

namespace fs = std::filesystem;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kThreads = "fixtures/python/escape_threads.py:spawn_non_daemon_thread";

TEST_F(GrapheneE2eTest, LocalRunOffATerminalPrintsPlainProgressLines) {
  const RunResult run = Run({"analyze", kThreads, "--input", "a", "--repeat", "3"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  // No bar and no terminal control sequences in a log, but the final count.
  EXPECT_THAT(run.err, HasSubstr("campaign 1: 3/3 executions, 3 escaped"));
  EXPECT_THAT(run.err, Not(HasSubstr("\x1b[")));
  EXPECT_THAT(run.err, Not(HasSubstr("\r")));
}

TEST_F(GrapheneE2eTest, TerminalShowsOneProgressBarRedrawnInPlace) {
  if (std::system("script --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "no script(1)";
  // script(1) gives graphene a terminal and copies what it draws to a file.
  const fs::path out = scratch_dir() / "terminal.out";
  const std::string command = "cd '" + std::string(kSourceDir) + "' && GRAPHENE_DB='" + db_path() +
                              "' script -qefc '" + kGrapheneBinary + " analyze " + kThreads +
                              " --input a --repeat 10' /dev/null </dev/null >'" + out.string() +
                              "'";
  ASSERT_EQ(std::system(command.c_str()), 0);
  std::ifstream in(out);
  const std::string drawn((std::istreambuf_iterator<char>(in)), {});
  EXPECT_THAT(drawn, ContainsRegex("\r\\[[#.]{30}\\] [0-9]+/10 executions, [0-9]+ escaped"));
  EXPECT_THAT(drawn, HasSubstr("\r\x1b[K")) << "the bar is cleared before the report";
  EXPECT_THAT(drawn, Not(HasSubstr("campaign 1: 10/10 executions"))) << "no plain lines";
  EXPECT_THAT(drawn, HasSubstr("1 targets, 10 executions, 10 escaped"));
}

TEST_F(GrapheneE2eTest, QuietRunPrintsNoProgress) {
  const RunResult run = Run({"analyze", kThreads, "--input", "a", "--quiet"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.err, "");
}

// `git` with `args` in `folder`; true when it exits 0.
bool Git(const fs::path& folder, const std::string& args) {
  const std::string command = "git -C '" + folder.string() + "' -c user.name=t -c user.email=t@e " +
                              args + " >/dev/null 2>&1";
  return std::system(command.c_str()) == 0;
}

std::string HeadOf(const fs::path& folder) {
  const std::string path = (folder / "head.txt").string();
  const std::string command = "git -C '" + folder.string() + "' rev-parse HEAD > '" + path + "'";
  if (std::system(command.c_str()) != 0) return "";
  std::string head;
  std::ifstream(path) >> head;
  fs::remove(path);
  return head;
}

TEST_F(GrapheneE2eTest, CampaignsRecordTheGitCommitOfTheTestedCode) {
  if (std::system("git --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "git is not installed";
  // The same targets in a git checkout and in a plain folder.
  const fs::path checkout = scratch_dir() / "checkout", plain = scratch_dir() / "plain";
  for (const fs::path& folder : {checkout, plain}) {
    fs::create_directories(folder);
    fs::copy_file(fs::path(kSourceDir) / "tests/e2e/data/farm/farm_targets.py",
                  folder / "farm_targets.py");
    fs::copy_file(fs::path(kSourceDir) / "tests/e2e/data/farm/farm_helper.py",
                  folder / "farm_helper.py");
  }
  ASSERT_TRUE(Git(checkout, "init -q") && Git(checkout, "add .") &&
              Git(checkout, "commit -q -m targets"));
  const std::string head = HeadOf(checkout);
  ASSERT_EQ(head.size(), 40u);

  for (const fs::path& folder : {checkout, plain}) {
    RunOptions in_folder;
    in_folder.cwd = folder;
    const RunResult run =
        Run({"run-all", "--test-dir", "farm_targets.py", "--input", "a", "--repeat", "1", "-q"},
            in_folder);
    ASSERT_LE(run.exit_code, 1) << run.err;  // ran (1: a verdict against a docstring)
    ASSERT_GE(run.exit_code, 0) << run.err;
  }
  const RunResult listed = Run({"campaigns", "--format", "json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  const nlohmann::json rows = nlohmann::json::parse(listed.out);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_TRUE(rows[0]["git_commit"].is_null()) << "not a checkout: " << rows[0];
  EXPECT_EQ(rows[1]["git_commit"], head);

  // The text listing shows it too.
  const RunResult text = Run({"campaigns"});
  EXPECT_THAT(text.out, HasSubstr(head));
}

}  // namespace
}  // namespace graphene::e2e
