// Requests and replies between an agent and its sandbox zygote, sent as
// length-prefixed msgpack frames over a socketpair (see base/frame_io.h).
// The sandbox never sees ZeroMQ; this is its whole interface.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "schema/execution.h"

namespace graphene {

// What a SandboxRequest asks for.
inline constexpr std::string_view kRequestExecute = "execute";    // run `job`
inline constexpr std::string_view kRequestDescribe = "describe";  // load each of `specs`
inline constexpr std::string_view kRequestDiscover = "discover";  // list public functions in `specs` (files or folders)

struct SandboxRequest {
  uint64_t id = 0;
  std::string kind;
  Job job;                         // execute
  std::string root;                // describe/discover: folder targets resolve from
  std::vector<std::string> specs;  // describe: target specs; discover: .py files or folders
  uint32_t timeout_ms = 10000;     // describe/discover: limit for importing
  MSGPACK_DEFINE_MAP(id, kind, job, root, specs, timeout_ms);
};

struct SandboxReply {
  uint64_t id = 0;
  ExecutionResult result;           // execute
  std::vector<TargetInfo> targets;  // describe/discover
  std::string error;                // the request itself failed
  MSGPACK_DEFINE_MAP(id, result, targets, error);
};

// msgpack encode/decode for any MSGPACK_DEFINE_MAP type; decoding errors come
// back as a Status, never as an exception.
template <typename T>
std::string Pack(const T& value) {
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, value);
  return std::string(buffer.data(), buffer.size());
}

template <typename T>
Result<T> Unpack(std::string_view bytes) {
  try {
    msgpack::object_handle handle = msgpack::unpack(bytes.data(), bytes.size());
    return handle.get().as<T>();
  } catch (const std::exception& e) {
    return Status::Error(std::string("malformed msgpack: ") + e.what());
  }
}

}  // namespace graphene

namespace graphene {

// Runner -> supervisor, inside one execution: first "baseline" (the pids that
// already existed before the call, so a crash can still be diffed), then
// "done" with the reply. Both are frames on the runner's report pipe.
inline constexpr std::string_view kReportBaseline = "baseline";
inline constexpr std::string_view kReportDone = "done";

struct RunnerReport {
  std::string kind;
  std::vector<int64_t> baseline_pids;
  SandboxReply reply;
  MSGPACK_DEFINE_MAP(kind, baseline_pids, reply);
};

}  // namespace graphene
