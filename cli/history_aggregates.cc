#include "cli/history_aggregates.h"

#include <algorithm>
#include <utility>

namespace graphene {

std::vector<TargetRows> ByTarget(std::vector<InputHistory> rows) {
  std::vector<TargetRows> targets;
  for (InputHistory& row : rows) {
    if (targets.empty() || targets.back().target != row.target) {
      targets.push_back(TargetRows{.target = row.target, .inputs = {}});
    }
    targets.back().inputs.push_back(std::move(row));
  }
  return targets;
}

TargetTotals Totals(const TargetRows& target) {
  TargetTotals totals;
  std::vector<history::InputTally> tallies;
  for (const InputHistory& input : target.inputs) {
    const history::InputTally tally{.executions = input.executions, .escapes = input.escapes};
    tallies.push_back(tally);
    totals.executions += input.executions;
    totals.escapes += input.escapes;
    totals.escaping_inputs += input.escapes > 0;
    totals.flaky_inputs += history::IsFlaky(tally);
    totals.last_run = std::max(totals.last_run, input.last_run);
  }
  totals.inputs = target.inputs.size();
  totals.verdict = history::ClassifyTarget(tallies);
  totals.escape_rate = Rate(totals.escapes, totals.executions);
  totals.interval = history::WilsonInterval(totals.escapes, totals.executions);
  return totals;
}

double Rate(uint64_t escapes, uint64_t executions) {
  return executions ? double(escapes) / double(executions) : 0.0;
}

std::vector<history::RatePoint> RatePoints(const std::vector<CampaignRate>& rates,
                                           const std::string& since, uint64_t campaign) {
  std::vector<history::RatePoint> points;
  for (const CampaignRate& rate : rates) {
    if (rate.created_at < since || (campaign != 0 && rate.campaign != campaign)) continue;
    points.push_back(history::RatePoint{.campaign = rate.campaign,
                                        .created_at = rate.created_at,
                                        .executions = rate.executions,
                                        .escapes = rate.escapes});
  }
  return points;
}

}  // namespace graphene
