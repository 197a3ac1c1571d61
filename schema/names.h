// The names graphene's outputs, wire messages and database share: execution
// statuses, escape kinds, verdicts and expectations. Defined once here; use
// the constants, never the literals.
#pragma once

#include <string_view>

namespace graphene {

// How one execution ended.
inline constexpr std::string_view kStatusOk = "ok";                // returned normally
inline constexpr std::string_view kStatusException = "exception";  // raised (incl. SystemExit)
inline constexpr std::string_view kStatusCrash = "crash";          // signal or os._exit
inline constexpr std::string_view kStatusTimeout = "timeout";      // exceeded --timeout
inline constexpr std::string_view kStatusError = "error";  // could not load the target / sandbox failure

// What kind of concurrent work escaped.
inline constexpr std::string_view kKindThread = "thread";
inline constexpr std::string_view kKindTimer = "timer";
inline constexpr std::string_view kKindExecutorWorker = "executor_worker";
inline constexpr std::string_view kKindProcess = "process";
inline constexpr std::string_view kKindPoolWorker = "pool_worker";
inline constexpr std::string_view kKindNativeThread = "native_thread";
inline constexpr std::string_view kKindAsyncTask = "async_task";

// A target's verdict over all its executions.
inline constexpr std::string_view kVerdictEscape = "ESCAPE";
inline constexpr std::string_view kVerdictSafe = "SAFE";
inline constexpr std::string_view kVerdictFlaky = "FLAKY";
inline constexpr std::string_view kVerdictInputDependent = "INPUT-DEPENDENT";

// What a docstring says a target should do ("Expected Behavior: ...").
inline constexpr std::string_view kExpectEscape = "ESCAPE";
inline constexpr std::string_view kExpectSafe = "SAFE";

}  // namespace graphene
