// A finished campaign, summarised per target: executions, escapes, verdict
// (SAFE, ESCAPE, FLAKY, INPUT-DEPENDENT), and whether it matches what the
// target's docstring expects. Built from what the store holds, so what is
// printed is exactly what was recorded.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "history/statistics.h"
#include "schema/execution.h"
#include "store/store.h"

namespace graphene {

using history::InputTally;

struct TargetSummary {
  TargetInfo info;
  uint64_t executions = 0;
  uint64_t escapes = 0;  // executions with at least one escape
  uint64_t errors = 0;   // executions the sandbox could not run (status "error")
  std::map<std::string, InputTally> inputs;
  std::vector<StoredExecution> results;  // in job order
  std::string verdict;                   // one of the kVerdict* names
  bool flaky = false;                    // some input's repeats disagree
  std::optional<bool> match;             // nullopt without an expectation

  double escape_rate() const { return executions ? double(escapes) / double(executions) : 0.0; }
};

struct CampaignSummary {
  uint64_t campaign = 0;
  uint64_t seed = 0;
  std::vector<TargetSummary> targets;
  uint64_t executions = 0, escapes = 0, mismatches = 0, errors = 0;
};

// SAFE when no execution escaped, ESCAPE when all did, FLAKY when some
// input's repeats disagree, INPUT-DEPENDENT when every input is consistent
// but inputs differ.
std::string ClassifyVerdict(const std::map<std::string, InputTally>& inputs);

// Whether `escapes` out of `executions` agrees with `expected` ("ESCAPE":
// it escaped at least once; "SAFE": it never did); nullopt if nothing is
// expected.
std::optional<bool> MatchesExpectation(const std::string& expected, uint64_t escapes);

// Reads campaign `campaign` back from `store` and summarises it.
Result<CampaignSummary> Summarize(Store& store, uint64_t campaign);

}  // namespace graphene
