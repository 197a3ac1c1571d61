// The pure part of escape detection: turning what was alive before a call,
// when it returned, and after the grace period into escapes and transients,
// and merging the Python view of threads with the kernel's. No I/O here, so
// every rule is unit-tested.
#pragma once

#include <cstdint>
#include <set>
#include <string_view>
#include <vector>

#include "agent/os_threads.h"
#include "agent/process_tree.h"
#include "schema/execution.h"

namespace graphene {

// What was alive at one moment, by identity only (cheap to take often).
struct LiveSet {
  std::set<int64_t> threads;    // OS thread ids
  std::set<int64_t> processes;  // pids
  bool empty() const { return threads.empty() && processes.empty(); }
};

// What is in `now` but not in `baseline`.
LiveSet NewSince(const LiveSet& baseline, const LiveSet& now);

// What was alive at one moment, described. Thread entries carry `native_id`,
// process entries `pid`.
struct DetailedSnapshot {
  std::vector<Escape> threads;
  std::vector<Escape> processes;
};

struct EscapeDiff {
  std::vector<Escape> escapes;    // new since the baseline and still alive at the end
  std::vector<Escape> transient;  // new and alive at return, gone by the end
};

// Compares the end of the grace period (and the moment of return) against
// the baseline. Native threads gone by the end are not reported as transient:
// a joined Python thread's OS thread outlives join() by a few microseconds.
EscapeDiff DiffSnapshots(const LiveSet& baseline, const DetailedSnapshot& at_return,
                         const DetailedSnapshot& at_end);

// The thread view: every OS thread except `main_tid`, described by its Python
// record when Python knows it (matched by native id), else as a native thread
// named by the kernel.
std::vector<Escape> MergeThreads(const std::vector<Escape>& python_threads,
                                 const std::vector<OsThread>& os_threads, int64_t main_tid);

// One line of the process registry that the Python hooks append to.
struct RegistryEntry {
  int64_t pid = 0;
  std::string kind, name;
  bool daemon = false;
  std::string started_at, started_in;
};

// Parses "pid\tkind\tname\tdaemon\tfile:line\tfunction" lines; skips
// malformed ones (a target can write anything to any fd it inherited).
std::vector<RegistryEntry> ParseRegistry(std::string_view text);

// Describes live (non-zombie) processes: from the registry when the pid was
// registered, else as a plain process attributed to its nearest registered
// ancestor (a grandchild inherits where its parent was started).
std::vector<Escape> DescribeProcesses(const std::vector<ProcessInfo>& processes,
                                      const std::vector<RegistryEntry>& registry);

}  // namespace graphene
