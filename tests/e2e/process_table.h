// ProcessTable: what the end-to-end tests see of the machine's processes in
// /proc, to check that graphene leaves nothing running. A process is named by
// its pid and its start time together, so that a pid reused by the kernel
// counts as a new process.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace graphene::e2e {

// (pid, start time in clock ticks since boot).
using ProcessId = std::pair<pid_t, uint64_t>;

struct ProcessEntry {
  pid_t pid = 0;
  pid_t ppid = 0;
  char state = '?';  // R, S, D, Z, ... from /proc/PID/stat
  uint64_t start_time = 0;
  std::string cmdline;      // arguments joined by spaces
  std::string environment;  // NUL-separated NAME=value entries; empty if unreadable
};

// Every process in /proc right now. Processes that vanish while being read
// are left out.
std::vector<ProcessEntry> ListProcesses();

// The identities of every process in /proc right now.
std::set<ProcessId> SnapshotProcessIds();

// Every descendant of `root` (children, their children, ...), read from
// /proc/ROOT/task/*/children, so children of any of its threads count.
std::vector<pid_t> DescendantsOf(pid_t root);

// The value of `name` in `entry`'s environment; nullopt when it is not set
// (or the environment could not be read).
std::optional<std::string> EnvironmentValue(const ProcessEntry& entry, const std::string& name);

// "PID (state) CMDLINE" lines, for failure messages.
std::string DescribeProcesses(const std::vector<ProcessEntry>& entries);

}  // namespace graphene::e2e
