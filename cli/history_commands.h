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
#include <vector>

#include "cli/database_options.h"
#include "cli/history_aggregates.h"
#include "store/store.h"

namespace graphene {

struct HistoryOptions {
  std::string db = kDefaultDatabase;
  std::string format = "text";
  std::string target;     // stats: a glob pattern; history: one target
  std::string since;      // only campaigns created at or after this (ISO-8601 prefix)
  uint64_t campaign = 0;  // only this campaign
  double alpha = 0.05;    // history: significance level of a change
};

// Opens `db` for reading the history; throws CommandError (exit 2) if there
// is no database there, rather than creating an empty one.
std::unique_ptr<Store> OpenExistingDatabase(const std::string& db);

// The options the history commands (and `report`) share, bound to `options`:
// the positional target pattern, `--since` and `--campaign`; `--alpha`.
// (`--db` is cli/database_options.h's.)
void AddFilterOptions(CLI::App& command, HistoryOptions& options);
void AddAlphaOption(CLI::App& command, HistoryOptions& options);

// The store's filter for `options.target`, `options.since` and
// `options.campaign`.
HistoryFilter HistoryFilterOf(const HistoryOptions& options);

// The (target, input) rows of the targets matching `options.target` (a glob;
// empty: all) in the campaigns `options.since` and `options.campaign` select,
// grouped by target. Throws CommandError (exit 3) if the store fails.
std::vector<TargetRows> LoadTargetRows(Store& store, const HistoryOptions& options);

CLI::App* AddStatsCommand(CLI::App& app, HistoryOptions& options);
CLI::App* AddFlakyCommand(CLI::App& app, HistoryOptions& options);
CLI::App* AddHistoryCommand(CLI::App& app, HistoryOptions& options);
int RunStatsCommand(const HistoryOptions& options);
int RunFlakyCommand(const HistoryOptions& options);
int RunHistoryCommand(const HistoryOptions& options);

}  // namespace graphene
