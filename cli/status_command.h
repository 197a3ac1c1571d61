// `graphene status --coordinator ...`: a running coordinator's agents, slots
// and campaigns.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cli/security_options.h"

namespace graphene {

struct StatusOptions {
  std::string coordinator;
  ClientSecurityOptions security;
  std::string format = "text";
  uint32_t recent = 20;
  double timeout_s = 10;
};

CLI::App* AddStatusCommand(CLI::App& app, StatusOptions& options);
int RunStatusCommand(const StatusOptions& options);

}  // namespace graphene
