// The zygote: a process holding a warm embedded CPython that forks one
// supervisor per request. It has no ZeroMQ context and no threads (forking a
// process with either is unsafe); it talks to its agent through length-
// prefixed SandboxRequest/SandboxReply frames on one socket.
#pragma once

namespace graphene {

// The file descriptor the agent hands the zygote its socket on.
inline constexpr int kZygoteSocketFd = 3;

// Hidden first argument that makes the graphene binary run as a zygote.
inline constexpr const char* kZygoteCommand = "__zygote";

// Serves requests on `socket_fd` until the agent closes it or SIGTERM, then
// ends every execution still running. Returns the process exit code.
int RunZygote(int socket_fd);

}  // namespace graphene
