#include "tests/e2e/leftover_check.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "gtest/gtest.h"

namespace graphene::e2e {
namespace {

// Orphans re-parented to this process that have exited stay zombies until
// reaped.
void ReapOrphans() {
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

// /proc changes under our feet: a read may fail when a process exits.
template <typename Read>
std::invoke_result_t<Read> Retrying(Read read) {
  for (int attempt = 1;; ++attempt) {
    try {
      return read();
    } catch (const std::exception&) {
      if (attempt == 5) throw;
    }
  }
}

}  // namespace

void LeftoverCheckingTest::SetUp() {
  GrapheneE2eTest::SetUp();
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0) << "becoming a child subreaper";
  before_ = Retrying(SnapshotProcessIds);
}

void LeftoverCheckingTest::TearDown() {
  for (const ProcessEntry& entry : LeftBehind()) ::kill(entry.pid, SIGKILL);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ReapOrphans();
  ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  GrapheneE2eTest::TearDown();
}

std::vector<ProcessEntry> LeftoverCheckingTest::LeftBehind() {
  ReapOrphans();
  std::set<pid_t> descendants;
  for (pid_t pid : Retrying([] { return DescendantsOf(::getpid()); })) descendants.insert(pid);
  std::vector<ProcessEntry> left;
  for (const ProcessEntry& entry : Retrying(ListProcesses)) {
    if (entry.pid == ::getpid() || entry.state == 'Z') continue;  // a zombie runs nothing
    if (before_.count({entry.pid, entry.start_time})) continue;
    if (descendants.count(entry.pid) ||
        EnvironmentValue(entry, kRunMarkerVariable) == run_marker()) {
      left.push_back(entry);
    }
  }
  return left;
}

void LeftoverCheckingTest::ExpectNothingLeft() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  std::vector<ProcessEntry> left = LeftBehind();
  while (!left.empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    left = LeftBehind();
  }
  EXPECT_TRUE(left.empty()) << left.size() << " processes left running after graphene exited:\n"
                            << DescribeProcesses(left).substr(0, 4000);
}

}  // namespace graphene::e2e
