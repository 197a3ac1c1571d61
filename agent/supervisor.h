// The supervisor: one per execution, forked from the zygote. It is a child
// subreaper, so every process the execution starts stays in its tree even
// after double forks; it forks the runner, captures its output, enforces the
// timeout, turns a crash or a timeout into a result, and kills whatever is
// left before it reports. Nothing a target does can skip that last step short
// of killing the supervisor itself.
#pragma once

#include "schema/sandbox_protocol.h"

namespace graphene {

// Output kept per execution; the rest is counted and marked as truncated.
inline constexpr size_t kMaxCapturedOutput = 64 * 1024;

// Serves `request` and writes exactly one SandboxReply frame to `reply_fd`.
// Must be called in a process freshly forked from the zygote (single
// threaded, SIGTERM blocked); never returns.
[[noreturn]] void RunSupervisor(const SandboxRequest& request, int reply_fd);

}  // namespace graphene
