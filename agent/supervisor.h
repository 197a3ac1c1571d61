// The supervisor: one per execution slot, forked from the zygote, serving
// one execution at a time. It runs no Python itself, so its copy of the warm
// interpreter stays pristine and each runner it forks starts from the
// zygote's state. It is a child subreaper, so every process an execution
// starts stays in its tree even after double forks; it forks the runner,
// captures its output, enforces the timeout, turns a crash or a timeout into
// a result, and kills whatever is left before it reports. Nothing a target
// does can skip that last step short of killing the supervisor itself.
#pragma once

#include <signal.h>

#include "schema/sandbox_protocol.h"

namespace graphene {

// Sent to the runner when its call exceeds the timeout: the runner's Python
// handler stops the call with an exception and still reports what was left.
inline int TimeoutSignal() { return SIGRTMIN + 3; }

// Output kept per execution; the rest is counted and marked as truncated.
inline constexpr size_t kMaxCapturedOutput = 64 * 1024;

// Serves SandboxRequest frames read from `request_fd` one at a time, writing
// exactly one SandboxReply frame per request to `reply_fd`, until the zygote
// closes `request_fd` or sends SIGTERM. Must be called in a process freshly
// forked from the zygote (single threaded); never returns.
[[noreturn]] void RunSupervisor(int request_fd, int reply_fd);

}  // namespace graphene
