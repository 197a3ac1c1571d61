// `graphene analyze` and `graphene run-all`: resolve the targets, expand the
// campaign, run it on the embedded coordinator and local agent, store every
// result, print the summary, and choose the exit status.
#pragma once

#include <string>

#include "cli/campaign_options.h"

namespace graphene {

// Runs the campaign described by `options`; `run_all` discovers targets in
// `options.test_dir` instead of taking `options.targets`. `command_line` is
// recorded with the campaign. Returns the process exit status.
int RunCampaignCommand(const CampaignOptions& options, bool run_all,
                       const std::string& command_line);

}  // namespace graphene
