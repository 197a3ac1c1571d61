#include "agent/process_tree.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

namespace graphene {
namespace {

// Runs `body` in a forked child that is a subreaper, returning its exit code.
template <typename Body>
int InSubreaper(Body body) {
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    _exit(body());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

pid_t SleepingChild() {
  pid_t pid = fork();
  if (pid == 0) {
    pause();
    _exit(0);
  }
  return pid;
}

TEST(ProcessTree, FindsChildrenAndGrandchildren) {
  int code = InSubreaper([] {
    pid_t child = fork();
    if (child == 0) {
      SleepingChild();
      pause();
      _exit(0);
    }
    for (int i = 0; i < 200 && DescendantPids(getpid()).size() < 2; ++i) usleep(5000);
    std::vector<pid_t> all = DescendantPids(getpid());
    bool ok = all.size() == 2 && all[0] == child && ReadProcess(all[1]).ppid == child;
    return ok && KillAllDescendants(std::chrono::seconds(5)) == 0 &&
                   DescendantPids(getpid()).empty()
               ? 0
               : 1;
  });
  EXPECT_EQ(code, 0);
}

TEST(ProcessTree, KillsOrphansReparentedToTheSubreaper) {
  int code = InSubreaper([] {
    pid_t middle = fork();
    if (middle == 0) {
      if (fork() == 0) {
        setsid();
        signal(SIGTERM, SIG_IGN);
        pause();
      }
      _exit(0);
    }
    waitpid(middle, nullptr, 0);
    for (int i = 0; i < 200 && ChildrenOf(getpid()).empty(); ++i) usleep(5000);
    if (ChildrenOf(getpid()).size() != 1) return 2;
    return KillAllDescendants(std::chrono::seconds(5)) == 0 && ChildrenOf(getpid()).empty() ? 0 : 1;
  });
  EXPECT_EQ(code, 0);
}

TEST(ProcessTree, ReadsStateAndCommand) {
  pid_t child = SleepingChild();
  ProcessInfo info;
  for (int i = 0; i < 200 && info.state != 'S'; ++i) {
    usleep(2000);
    info = ReadProcess(child);
  }
  EXPECT_EQ(info.pid, child);
  EXPECT_EQ(info.ppid, getpid());
  EXPECT_EQ(info.state, 'S');
  EXPECT_FALSE(info.zombie());
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  EXPECT_EQ(ReadProcess(child).pid, 0);
}

}  // namespace
}  // namespace graphene
