// The runner: the process, forked from the warm interpreter, in which a
// target actually runs. It loads the target, takes the baseline snapshot,
// calls the function on its main thread, waits out the grace period (or less,
// when nothing new is alive) and reports the diff to its supervisor.
#pragma once

#include <sys/types.h>

#include "schema/sandbox_protocol.h"

namespace graphene {

struct RunnerContext {
  pid_t supervisor = 0;              // our parent, the subreaper whose descendants we diff
  int report_fd = -1;                // RunnerReport frames go here
  int report_fd_in_supervisor = -1;  // the same pipe's write end, as the supervisor numbers it
  int registry_fd = -1;              // O_APPEND memfd the Python process hooks write to
};

// Serves `request` in this process and exits; never returns. The caller has
// already set up stdio and signal state for the target.
[[noreturn]] void RunRunner(const SandboxRequest& request, const RunnerContext& context);

}  // namespace graphene
