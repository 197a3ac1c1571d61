#include "cli/summary.h"

#include "schema/names.h"

namespace graphene {

std::string ClassifyVerdict(const std::map<std::string, InputTally>& inputs) {
  std::vector<InputTally> tallies;
  for (const auto& [input, tally] : inputs) tallies.push_back(tally);
  return history::ClassifyTarget(tallies);
}

std::optional<bool> MatchesExpectation(const std::string& expected, uint64_t escapes) {
  if (expected == kExpectEscape) return escapes > 0;
  if (expected == kExpectSafe) return escapes == 0;
  return std::nullopt;
}

Result<CampaignSummary> Summarize(Store& store, uint64_t campaign) {
  Result<CampaignRecord> record = store.GetCampaign(campaign);
  if (!record.ok()) return record.status();
  Result<std::vector<TargetInfo>> targets = store.CampaignTargets(campaign);
  if (!targets.ok()) return targets.status();

  CampaignSummary summary;
  summary.campaign = campaign;
  summary.seed = record->seed;
  std::map<std::string, size_t> position;
  for (TargetInfo& info : *targets) {
    position[info.spec] = summary.targets.size();
    TargetSummary target;
    target.info = std::move(info);
    summary.targets.push_back(std::move(target));
  }
  Status read = store.ForEachExecution(campaign, [&](const StoredExecution& e) {
    auto found = position.find(e.target);
    if (found == position.end()) return;
    TargetSummary& t = summary.targets[found->second];
    if (e.result.status == kStatusError) {
      ++t.errors;
    } else {
      InputTally& tally = t.inputs[e.input];
      ++tally.executions;
      tally.escapes += e.result.escape_detected;
      ++t.executions;
      t.escapes += e.result.escape_detected;
    }
    t.results.push_back(e);
  });
  if (!read.ok()) return read;

  for (TargetSummary& t : summary.targets) {
    t.verdict = ClassifyVerdict(t.inputs);
    for (const auto& [input, tally] : t.inputs) {
      t.flaky |= tally.escapes > 0 && tally.escapes < tally.executions;
    }
    t.match = MatchesExpectation(t.info.expected, t.escapes);
    summary.executions += t.executions;
    summary.escapes += t.escapes;
    summary.errors += t.errors;
    summary.mismatches += t.match == false;
  }
  return summary;
}

}  // namespace graphene
