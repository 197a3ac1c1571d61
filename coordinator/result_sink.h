// ResultSink: where a campaign's finished jobs go. The coordinator hands over
// each job's one result exactly once; the real sink writes SQLite (store/),
// tests collect in memory.
#pragma once

#include <utility>
#include <vector>

#include "base/status.h"
#include "schema/execution.h"

namespace graphene {

class ResultSink {
 public:
  virtual ~ResultSink() = default;

  // Takes finished jobs, each paired with its one result, in arrival order.
  // Called on the thread running the campaign, never with an empty `batch`,
  // never twice for the same job of a campaign run. A failure ends the
  // campaign with that status; the failed batch counts as not delivered.
  virtual Status Accept(std::vector<std::pair<Job, ExecutionResult>> batch) = 0;
};

}  // namespace graphene
