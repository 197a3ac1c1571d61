// Reading and ending process trees through /proc. The sandbox uses these to
// find every process an execution started (children, grandchildren, and
// orphans re-parented to the supervisor, which is a child subreaper) and to
// make sure none is left running when the execution ends.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace graphene {

struct ProcessInfo {
  pid_t pid = 0;
  pid_t ppid = 0;
  char state = '?';     // /proc/PID/stat state: R, S, D, Z, T, ...
  std::string comm;     // /proc/PID/comm
  std::string cmdline;  // /proc/PID/cmdline, NULs as spaces, bounded

  bool zombie() const { return state == 'Z' || state == 'X'; }
};

// Direct children of `pid`, from /proc/PID/task/*/children. Empty when the
// process is gone.
std::vector<pid_t> ChildrenOf(pid_t pid);

// Every descendant of `root` (not `root` itself), parents before children.
// Processes that exit while the tree is read are simply missing.
std::vector<pid_t> DescendantPids(pid_t root);

// /proc details of `pid`, or nullopt-like (pid == 0) when it is gone.
ProcessInfo ReadProcess(pid_t pid);

// Sends SIGKILL to every descendant of the calling process and reaps them,
// repeating while new ones appear (a fork racing the kill), until none is
// left or `limit` passes. The caller should be a child subreaper so that
// orphans come back to it. Returns how many descendants are still alive.
size_t KillAllDescendants(std::chrono::milliseconds limit);

}  // namespace graphene
