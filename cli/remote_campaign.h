// Farm mode of `analyze` and `run-all` (--coordinator), and `attach`. The
// client resolves the targets here, ships their folder as a bundle with the
// campaign, then follows the campaign on the coordinator: progress while it
// runs, then every result, summarised exactly as the embedded mode does.
// Ctrl-C detaches: the campaign keeps running, and `graphene attach`
// follows it again from any machine with a key the coordinator accepts.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "cli/campaign_options.h"

namespace graphene {

// Throws CommandError (cli/campaign_setup.h); returns the exit status.
int RunRemoteCampaign(const CampaignOptions& options, bool run_all,
                      const std::string& command_line);

struct AttachOptions {
  uint64_t campaign = 0;
  std::string coordinator;
  ClientSecurityOptions security;
  std::string format = "text";
  std::string db;  // keep a copy of the results here; empty: a temporary database
  bool quiet = false;
};

CLI::App* AddAttachCommand(CLI::App& app, AttachOptions& options);
int RunAttachCommand(const AttachOptions& options);

// Makes a following client detach (from a signal handler).
void DetachFromCampaign();

}  // namespace graphene
