// Executor: what an agent runs jobs on. The real one is the Sandbox (a warm
// CPython zygote forking one isolated process per execution); tests and the
// coordinator benchmark use an instant fake. The agent only sees this
// interface, so it knows nothing of how executions are isolated.
#pragma once

#include <cstddef>
#include <vector>

#include "base/status.h"
#include "schema/execution.h"

namespace graphene {

class Executor {
 public:
  virtual ~Executor() = default;

  // How many jobs may be in flight at once.
  virtual size_t capacity() const = 0;
  // Jobs submitted whose results have not been collected yet.
  virtual size_t in_flight() const = 0;
  // Starts `job`. The caller keeps in_flight() < capacity(). A failure here
  // means the executor itself is broken (not the job).
  virtual Status Submit(const Job& job) = 0;
  // A file descriptor that becomes readable when results may be ready, for
  // poll()/zmq_poll(); -1 if results are ready as soon as Submit returns.
  virtual int ready_fd() const = 0;
  // Finished results, without blocking. Every submitted job yields exactly one
  // result, even if its execution crashed or the sandbox failed.
  virtual std::vector<ExecutionResult> Collect() = 0;
};

}  // namespace graphene
