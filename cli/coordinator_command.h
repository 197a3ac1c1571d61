// `graphene coordinator`: the standalone coordinator of a farm.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "cli/database_options.h"
#include "cli/security_options.h"

namespace graphene {

struct CoordinatorCommandOptions {
  std::string bind = "tcp://127.0.0.1:5555";
  std::string db = kDefaultDatabase;
  ServerSecurityOptions security;
  uint32_t heartbeat_ms = 1000;
  uint32_t heartbeat_timeout_ms = 10000;
};

CLI::App* AddCoordinatorCommand(CLI::App& app, CoordinatorCommandOptions& options);
// Runs until SIGINT/SIGTERM; 0 then, 2 on bad options, 3 on failures.
int RunCoordinatorCommand(const CoordinatorCommandOptions& options);

}  // namespace graphene
