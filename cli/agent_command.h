// `graphene agent`: runs a farm's jobs on this machine until stopped.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "cli/security_options.h"

namespace graphene {

struct AgentCommandOptions {
  std::string connect;
  size_t slots = 0;  // 0: 16 per core
  std::string name;
  std::string cache;  // bundle cache; empty: a default for the user
  size_t cache_keep = 32;  // bundles kept in the cache at startup
  std::string user;   // who runs targets when started as root; empty: nobody
  ClientSecurityOptions security;
  uint32_t heartbeat_ms = 1000;
  uint32_t heartbeat_timeout_ms = 10000;
  double drain_timeout_s = 60;
};

CLI::App* AddAgentCommand(CLI::App& app, AgentCommandOptions& options);
// Runs until SIGINT/SIGTERM (the first drains, a second stops at once);
// 0 then, 2 on bad options, 3 on failures.
int RunAgentCommand(const AgentCommandOptions& options);

}  // namespace graphene
