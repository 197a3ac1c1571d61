#include "cli/history_commands.h"

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>

#include "cli/database_options.h"
#include "cli/escaping.h"
#include "cli/exit_codes.h"
#include "cli/history_aggregates.h"
#include "cli/since_option.h"
#include "cli/table_output.h"
#include "history/statistics.h"
#include "schema/names.h"
#include "store/store.h"

namespace graphene {
namespace {

// Inputs may hold any bytes; text and CSV show control bytes and invalid UTF-8
// escaped.
nlohmann::json InputCell(const std::string& input, const std::string& format) {
  if (format == "json") return input;
  constexpr size_t kMaxShown = 40;
  return ShowBytes(input, format == "text" ? kMaxShown : std::string_view::npos);
}

std::vector<TargetRows> Load(const HistoryOptions& o) {
  std::unique_ptr<Store> store = OpenExistingDatabase(o.db);
  return LoadTargetRows(*store, o);
}

int Stats(const HistoryOptions& o) {
  Table table{
      .columns = {"target", "verdict", "inputs", "escaping_inputs", "flaky_inputs", "executions",
                  "escapes", "escape_rate", "wilson_low", "wilson_high", "last_run"},
      .rows = {}};
  for (const TargetRows& target : Load(o)) {
    const TargetTotals t = Totals(target);
    table.rows.push_back({target.target, t.verdict, t.inputs, t.escaping_inputs, t.flaky_inputs,
                          t.executions, t.escapes, t.escape_rate, t.interval.low, t.interval.high,
                          t.last_run});
  }
  std::cout << RenderTable(table, o.format);
  return kExitOk;
}

int Flaky(const HistoryOptions& o) {
  Table table{
      .columns = {"target", "verdict", "input", "executions", "escapes", "escape_rate", "flaky"},
      .rows = {}};
  for (const TargetRows& target : Load(o)) {
    const std::string verdict = Totals(target).verdict;
    if (verdict != kVerdictFlaky && verdict != kVerdictInputDependent) continue;
    for (const InputHistory& input : target.inputs) {
      if (input.escapes == 0) continue;
      table.rows.push_back(
          {target.target, verdict, InputCell(input.input, o.format), input.executions,
           input.escapes, Rate(input.escapes, input.executions),
           history::IsFlaky({.executions = input.executions, .escapes = input.escapes})});
    }
  }
  std::cout << RenderTable(table, o.format);
  return kExitOk;
}

int History(const HistoryOptions& o) {
  std::unique_ptr<Store> store = OpenExistingDatabase(o.db);
  Result<std::vector<CampaignRate>> rates = store->TargetHistory(o.target);
  if (!rates.ok()) throw CommandError{kExitInfrastructure, rates.status().message()};
  if (rates->empty()) {
    throw CommandError{kExitUsage, fmt::format("no executions of target {} in {}", o.target, o.db)};
  }
  const std::vector<history::RatePoint> points = RatePoints(*rates);
  std::map<size_t, history::Change> changes;
  for (const history::Change& change : history::DetectChanges(points, o.alpha)) {
    changes[change.index] = change;
  }
  Table table{.columns = {"campaign", "created_at", "executions", "escapes", "escape_rate",
                          "wilson_low", "wilson_high", "change", "p_value"},
              .rows = {}};
  for (size_t i = 0; i < rates->size(); ++i) {
    const CampaignRate& rate = (*rates)[i];
    const history::Interval interval = history::WilsonInterval(rate.escapes, rate.executions);
    nlohmann::json change = nullptr, p_value = nullptr;
    if (auto it = changes.find(i); it != changes.end()) {
      p_value = it->second.p_value;
      if (it->second.significant) change = it->second.after > it->second.before ? "up" : "down";
    }
    table.rows.push_back({rate.campaign, rate.created_at, rate.executions, rate.escapes,
                          Rate(rate.escapes, rate.executions), interval.low, interval.high, change,
                          p_value});
  }
  std::cout << RenderTable(table, o.format);
  return kExitOk;
}

int Guarded(int (*run)(const HistoryOptions&), const HistoryOptions& o) {
  try {
    return run(o);
  } catch (const CommandError& error) {
    fmt::print(stderr, "graphene: {}\n", error.message);
    return error.exit_code;
  }
}

void AddCommonOptions(CLI::App& command, HistoryOptions& o) {
  AddDatabaseOption(command, o.db);
  AddTableFormatOption(command, o.format);
}

}  // namespace

void AddFilterOptions(CLI::App& command, HistoryOptions& o) {
  command.add_option("pattern", o.target, "Targets to include (glob, e.g. '*threads*')");
  command
      .add_option("--since", o.since,
                  "Only campaigns created at or after this UTC time (2026-11-01, "
                  "2026-11-01T10:00) or this long ago (90m, 36h, 7d, 2w)")
      ->transform(CLI::Validator(
          [](std::string& since) -> std::string {
            Result<std::string> parsed = ParseSince(since, std::chrono::system_clock::now());
            if (!parsed.ok()) return parsed.status().message();
            since = *parsed;
            return "";
          },
          "TIME"));
  command.add_option("--campaign", o.campaign, "Only this campaign")->check(CLI::PositiveNumber);
}

void AddAlphaOption(CLI::App& command, HistoryOptions& o) {
  command.add_option("--alpha", o.alpha, "Significance level of a change")
      ->capture_default_str()
      ->check(CLI::Range(1e-9, 0.5));
}

HistoryFilter HistoryFilterOf(const HistoryOptions& o) {
  return HistoryFilter{
      .target_glob = o.target.empty() ? "*" : o.target, .since = o.since, .campaign = o.campaign};
}

std::vector<TargetRows> LoadTargetRows(Store& store, const HistoryOptions& o) {
  Result<std::vector<InputHistory>> rows = store.InputHistories(HistoryFilterOf(o));
  if (!rows.ok()) throw CommandError{kExitInfrastructure, rows.status().message()};
  return ByTarget(std::move(rows).value());
}

std::unique_ptr<Store> OpenExistingDatabase(const std::string& db) {
  // Reading must not create a database where there is none.
  if (!std::filesystem::exists(db)) {
    throw CommandError{kExitUsage, fmt::format("no results database at {}", db)};
  }
  Result<std::unique_ptr<Store>> store = Store::Open(db);
  if (!store.ok()) throw CommandError{kExitUsage, store.status().message()};
  return std::move(store).value();
}

CLI::App* AddStatsCommand(CLI::App& app, HistoryOptions& o) {
  CLI::App* command = app.add_subcommand(
      "stats", "Escape rates per target across campaigns, with 95% Wilson intervals and verdicts");
  AddFilterOptions(*command, o);
  AddCommonOptions(*command, o);
  return command;
}

CLI::App* AddFlakyCommand(CLI::App& app, HistoryOptions& o) {
  CLI::App* command =
      app.add_subcommand("flaky", "Flaky and input-dependent targets, with the inputs that escape");
  AddFilterOptions(*command, o);
  AddCommonOptions(*command, o);
  return command;
}

CLI::App* AddHistoryCommand(CLI::App& app, HistoryOptions& o) {
  CLI::App* command = app.add_subcommand(
      "history", "One target's escape rate per campaign, and where it changed significantly");
  command->add_option("target", o.target, "The target, as it was run")->required();
  AddAlphaOption(*command, o);
  AddCommonOptions(*command, o);
  return command;
}

int RunStatsCommand(const HistoryOptions& o) { return Guarded(Stats, o); }
int RunFlakyCommand(const HistoryOptions& o) { return Guarded(Flaky, o); }
int RunHistoryCommand(const HistoryOptions& o) { return Guarded(History, o); }

}  // namespace graphene
