// What the history commands and the HTML report compute from the store's
// rows: (target, input) rows grouped by target, a target's totals and
// verdict over its inputs, and its per-campaign counts as the points that
// history::DetectChanges compares. Pure: no SQLite, no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "history/statistics.h"
#include "store/store.h"

namespace graphene {

// One target's (target, input) rows, in the store's order.
struct TargetRows {
  std::string target;
  std::vector<InputHistory> inputs;
};

// `rows` (ordered by target, as Store::InputHistories returns them) grouped
// by target, keeping the order.
std::vector<TargetRows> ByTarget(std::vector<InputHistory> rows);

// A target's executions over all its inputs.
struct TargetTotals {
  std::string verdict;  // a kVerdict* name, from history::ClassifyTarget
  uint64_t inputs = 0;
  uint64_t escaping_inputs = 0;  // inputs that escaped at least once
  uint64_t flaky_inputs = 0;     // inputs whose repeats disagree (history::IsFlaky)
  uint64_t executions = 0;
  uint64_t escapes = 0;
  double escape_rate = 0.0;    // 0 without executions
  history::Interval interval;  // 95% Wilson interval of the escape rate
  std::string last_run;        // the latest of the inputs' last runs
};

TargetTotals Totals(const TargetRows& target);

// escapes / executions, or 0 without executions.
double Rate(uint64_t escapes, uint64_t executions);

// `rates` as points for history::DetectChanges, keeping those of campaigns
// created at or after `since` (an ISO-8601 prefix, compared as text, as
// Store::InputHistories does; empty: all) and, unless `campaign` is 0, of
// that campaign only.
std::vector<history::RatePoint> RatePoints(const std::vector<CampaignRate>& rates,
                                           const std::string& since = "", uint64_t campaign = 0);

}  // namespace graphene
