// The options of `analyze` and `run-all`, declared in one place with their
// help text and defaults.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "cli/security_options.h"

namespace graphene {

struct CampaignOptions {
  std::vector<std::string> targets;          // analyze: MODULE:FUNCTION or FILE.py:FUNCTION
  std::string test_dir = "fixtures/python";  // run-all: where to discover targets
  std::vector<std::string> inputs;
  size_t generate = 0;
  uint32_t repeat = 3;
  double timeout_s = 5;
  uint32_t grace_ms = 100;
  uint32_t memory_limit_mb = 4096;
  uint32_t max_processes = 256;
  bool strict = false;
  uint64_t seed = 0;
  std::string format = "text";
  std::string db;
  size_t slots = 0;  // 0: a default from the core count
  bool quiet = false;
  std::string language = "python";
  bool python_only = false;       // accepted: Python is the only language
  bool main_thread_mode = false;  // accepted: every execution runs on its main thread
  // Farm mode: submit to this coordinator instead of running here.
  std::string coordinator;
  ClientSecurityOptions security;
  std::vector<std::string> bundle_paths;  // extra files or folders to ship with the targets
  // Also write the report here as JUnit XML / SARIF 2.1.0 (nothing when empty).
  std::string junit, sarif;
};

// Executions at once when --slots is not given: most of an execution is the
// grace period, spent asleep, so the cores are oversubscribed.
size_t DefaultSlots();

// Declares the options shared by `analyze` and `run-all` on `app`.
void AddCampaignOptions(CLI::App& app, CampaignOptions& options);

}  // namespace graphene
