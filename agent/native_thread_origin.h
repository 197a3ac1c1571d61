// Where native threads come from. C code (faulthandler's watchdog, extension
// modules) starts threads Python never hears of; graphene interposes
// pthread_create in the runner and, when the creating thread holds the GIL,
// records the Python frame that led to it, keyed by the new thread's id.
// The graphene binary exports its pthread_create so that libraries' calls
// reach it; outside a runner it only forwards to libc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace graphene {

struct NativeOrigin {
  std::string started_at;  // "file:line"
  std::string started_in;  // function
};

// Starts recording in this process. Call in the runner, with the GIL held
// and graphene's runtime module loaded.
void StartRecordingThreadOrigins();

// Where thread `tid` was started, if it was recorded.
std::optional<NativeOrigin> NativeThreadOrigin(int64_t tid);

}  // namespace graphene
