// The history commands: questions asked of every campaign in a results
// database. `stats` gives escape rates per target with 95% Wilson intervals
// and a verdict; `flaky` lists the flaky and input-dependent targets with
// the inputs that escape; `history TARGET` follows one target's escape rate
// campaign by campaign and marks where it changed significantly. Each
// prints text, json or csv.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "store/store.h"

namespace graphene {

struct HistoryOptions {
  std::string db = ".graphene/results.db";
  std::string format = "text";
  std::string target;     // stats: a glob pattern; history: one target
  std::string since;      // only campaigns created at or after this (ISO-8601 prefix)
  uint64_t campaign = 0;  // only this campaign
  double alpha = 0.05;    // history: significance level of a change
};

// Opens `db` for reading the history; throws CommandError (exit 2) if there
// is no database there, rather than creating an empty one.
std::unique_ptr<Store> OpenExistingDatabase(const std::string& db);

CLI::App* AddStatsCommand(CLI::App& app, HistoryOptions& options);
CLI::App* AddFlakyCommand(CLI::App& app, HistoryOptions& options);
CLI::App* AddHistoryCommand(CLI::App& app, HistoryOptions& options);
int RunStatsCommand(const HistoryOptions& options);
int RunFlakyCommand(const HistoryOptions& options);
int RunHistoryCommand(const HistoryOptions& options);

}  // namespace graphene
