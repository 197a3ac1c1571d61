// What `analyze` and `run-all` do before a campaign runs, whether it runs
// here or on a farm: resolve the targets, choose the inputs, record the
// options; and what they do after: print the summary and pick the exit code.
#pragma once

#include <string>
#include <vector>

#include "agent/sandbox.h"
#include "cli/campaign_options.h"
#include "cli/exit_codes.h"
#include "cli/summary.h"
#include "schema/execution.h"

namespace graphene {

// Loading a module to describe or discover its targets may take this long.
inline constexpr uint32_t kLoadTimeoutMs = 30000;

// The targets: discovered in `options.test_dir` when `run_all`, else those
// named. Throws CommandError (exit 2) when one does not load.
std::vector<TargetInfo> ResolveTargets(Sandbox& sandbox, const CampaignOptions& options,
                                       bool run_all, const std::string& root);
// The execution limits the options ask for.
ExecutionLimits LimitsOf(const CampaignOptions& options);
// --input values, then --generate ones, without duplicates; "" if none.
std::vector<std::string> CampaignInputs(const CampaignOptions& options);
// The options worth recording with the campaign, as a JSON object.
std::string OptionsJson(const CampaignOptions& options, size_t slots);
// Files to write the report to besides stdout; empty names are skipped.
struct ReportFiles {
  std::string junit;  // JUnit XML
  std::string sarif;  // SARIF 2.1.0
};

// Writes `summary` to the files `files` names. Throws CommandError (exit 2)
// when one cannot be written.
void WriteReportFiles(const CampaignSummary& summary, const ReportFiles& files);
// Prints `summary` in `format`, writes the report files, and returns the exit
// status it calls for.
int PrintSummary(const CampaignSummary& summary, const std::string& format,
                 const ReportFiles& files = {});

}  // namespace graphene
