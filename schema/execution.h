// The unit of work and its outcome: a Job (run one target once with one
// input) and its ExecutionResult. These travel on the ZeroMQ wire, over the
// agent's pipe to its sandbox, and into SQLite; they are msgpack maps so
// that fields can be added without breaking older peers.
#pragma once

#include <cstdint>
#include <msgpack.hpp>
#include <optional>
#include <string>
#include <vector>

namespace graphene {

// How each execution of a campaign is bounded and judged. Every job of a
// campaign carries the same limits.
struct ExecutionLimits {
  uint32_t timeout_ms = 5000;
  uint32_t grace_ms = 100;
  uint32_t memory_limit_mb = 4096;  // address-space limit of each process of the execution
  uint32_t max_processes = 256;     // processes the execution may have alive at once
  bool strict = false;              // transients count as escapes
  MSGPACK_DEFINE_MAP(timeout_ms, grace_ms, memory_limit_mb, max_processes, strict);
};

struct Job {
  uint64_t campaign = 0;  // campaign id, unique per database
  uint64_t index = 0;     // position in the campaign's expansion; (campaign, index) is unique
  std::string target;     // "path/to/file.py:function" or "package.module:function"
  std::string root;       // folder the target is resolved from (the sandbox's cwd)
  std::string input;
  uint32_t repeat = 0;
  ExecutionLimits limits{};
  // Hex SHA-256 of the bundle holding the target's code (bundle/); the agent
  // unpacks it and runs the job there instead of in `root`. Empty: `root` is
  // on this machine already (embedded mode).
  std::string bundle{};
  MSGPACK_DEFINE_MAP(campaign, index, target, root, input, repeat, limits, bundle);
};

// One thread, process or task that a target left running.
struct Escape {
  std::string kind;  // one of the kKind* names
  std::string name;
  bool daemon = false;
  std::optional<int64_t> pid;        // processes
  std::optional<int64_t> native_id;  // threads: the OS thread id
  std::string started_at;            // "file:line" of the target code that started it
  std::string started_in;            // the function containing `started_at`
  std::string running;               // what it runs: its function, or a process's command line
  MSGPACK_DEFINE_MAP(kind, name, daemon, pid, native_id, started_at, started_in, running);
};

struct ExecutionResult {
  uint64_t campaign = 0;
  uint64_t index = 0;
  std::string status;  // one of the kStatus* names
  bool escape_detected = false;
  std::vector<Escape> escapes;
  // Alive when the function returned but gone by the end of the grace period.
  std::vector<Escape> transient;
  double duration_ms = 0;  // the call itself, without the grace period
  std::string error;       // exception, signal or load failure, one paragraph
  std::string output;      // captured stdout/stderr, bounded
  std::string agent;       // which agent ran it
  MSGPACK_DEFINE_MAP(campaign, index, status, escape_detected, escapes, transient, duration_ms,
                     error, output, agent);
};

// One stored execution with the job it answers: what the store hands back
// and what a coordinator sends to a client fetching a campaign's results.
struct StoredExecution {
  uint64_t job_index = 0;
  std::string target;
  std::string input;
  uint32_t repeat = 0;
  ExecutionResult result;   // campaign and index filled in from the row
  std::string finished_at;  // when the result was stored
  MSGPACK_DEFINE_MAP(job_index, target, input, repeat, result, finished_at);
};

// What the sandbox found out about a target without running it: where it is,
// whether it loads, and what its docstring expects.
struct TargetInfo {
  std::string spec;      // as given ("pkg.mod:fn" or "dir/file.py:fn")
  bool ok = false;       // loads and names a callable
  std::string error;     // one line, when !ok
  std::string file;      // source file, relative to the root when inside it
  int64_t line = 0;      // line of the definition
  std::string expected;  // kExpectEscape, kExpectSafe or empty
  std::string reason;    // the docstring's "Reason:" line
  MSGPACK_DEFINE_MAP(spec, ok, error, file, line, expected, reason);
};

}  // namespace graphene
