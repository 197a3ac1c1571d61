// The ZeroMQ wire protocol between coordinator and agents. Every message is
// one ZeroMQ frame holding a msgpack array [protocol_version, type, body],
// where body is a msgpack map. Decode() is the only way bytes become a
// Message: it checks the version, the type and the body's shape, so a
// malformed or foreign peer yields an error, never a crash.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/status.h"
#include "schema/execution.h"

namespace graphene {

inline constexpr uint32_t kProtocolVersion = 1;
// Messages larger than this are refused (ZMQ_MAXMSGSIZE on every socket).
inline constexpr int64_t kMaxWireMessageBytes = 64ll << 20;

// Agent -> coordinator, first message on a connection.
struct Hello {
  std::string agent;  // human-readable agent name (host:pid)
  uint32_t slots = 1;
  MSGPACK_DEFINE_MAP(agent, slots);
};

// Agent -> coordinator: "I can take `credit` more jobs".
struct Ready {
  uint32_t credit = 0;
  MSGPACK_DEFINE_MAP(credit);
};

// Coordinator -> agent.
struct JobBatch {
  std::vector<Job> jobs;
  MSGPACK_DEFINE_MAP(jobs);
};

// Agent -> coordinator.
struct ResultBatch {
  std::vector<ExecutionResult> results;
  MSGPACK_DEFINE_MAP(results);
};

// Both ways, when otherwise idle, so each side can tell the other is alive.
struct Heartbeat {
  uint64_t sent_ms = 0;
  MSGPACK_DEFINE_MAP(sent_ms);
};

// Either side: "I am leaving". An agent hands back nothing: unfinished jobs
// are re-leased by the coordinator.
struct Bye {
  std::string reason;
  MSGPACK_DEFINE_MAP(reason);
};

// A Heartbeat stamped with the current wall-clock time.
Heartbeat HeartbeatNow();

using Message = std::variant<Hello, Ready, JobBatch, ResultBatch, Heartbeat, Bye>;

// The message's type name, for logs ("hello", "jobs", ...).
std::string_view MessageName(const Message& message);

std::string Encode(const Message& message);
Result<Message> Decode(std::string_view bytes);

}  // namespace graphene
