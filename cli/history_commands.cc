#include "cli/history_commands.h"

#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <map>

#include "cli/exit_codes.h"
#include "cli/table_output.h"
#include "history/statistics.h"
#include "schema/names.h"
#include "store/store.h"

namespace graphene {
namespace {

// Inputs may hold anything; text and CSV show control bytes escaped.
nlohmann::json InputCell(const std::string& input, const std::string& format) {
  if (format == "json") return input;
  std::string shown;
  for (unsigned char c : input) {
    if (c < 0x20 || c == 0x7f) {
      shown += fmt::format("\\x{:02x}", c);
    } else {
      shown += static_cast<char>(c);
    }
  }
  constexpr size_t kMaxShown = 40;
  if (format == "text" && shown.size() > kMaxShown) shown = shown.substr(0, kMaxShown) + "...";
  return shown;
}

// One target's (target, input) rows, in order.
struct TargetRows {
  std::string target;
  std::vector<InputHistory> inputs;
};

std::vector<TargetRows> ByTarget(std::vector<InputHistory> rows) {
  std::vector<TargetRows> targets;
  for (InputHistory& row : rows) {
    if (targets.empty() || targets.back().target != row.target) {
      targets.push_back(TargetRows{.target = row.target, .inputs = {}});
    }
    targets.back().inputs.push_back(std::move(row));
  }
  return targets;
}

std::string Verdict(const TargetRows& target) {
  std::vector<history::InputTally> tallies;
  for (const InputHistory& input : target.inputs) {
    tallies.push_back(
        history::InputTally{.executions = input.executions, .escapes = input.escapes});
  }
  return history::ClassifyTarget(tallies);
}

double Rate(uint64_t escapes, uint64_t executions) {
  return executions ? double(escapes) / double(executions) : 0.0;
}

std::vector<TargetRows> Load(const HistoryOptions& o) {
  std::unique_ptr<Store> store = OpenExistingDatabase(o.db);
  HistoryFilter filter{
      .target_glob = o.target.empty() ? "*" : o.target, .since = o.since, .campaign = o.campaign};
  Result<std::vector<InputHistory>> rows = store->InputHistories(filter);
  if (!rows.ok()) throw CommandError{kExitInfrastructure, rows.status().message()};
  return ByTarget(std::move(rows).value());
}

int Stats(const HistoryOptions& o) {
  Table table{
      .columns = {"target", "verdict", "inputs", "escaping_inputs", "flaky_inputs", "executions",
                  "escapes", "escape_rate", "wilson_low", "wilson_high", "last_run"},
      .rows = {}};
  for (const TargetRows& target : Load(o)) {
    uint64_t executions = 0, escapes = 0, escaping = 0, flaky = 0;
    std::string last_run;
    for (const InputHistory& input : target.inputs) {
      executions += input.executions;
      escapes += input.escapes;
      escaping += input.escapes > 0;
      flaky += history::IsFlaky({.executions = input.executions, .escapes = input.escapes});
      last_run = std::max(last_run, input.last_run);
    }
    const history::Interval interval = history::WilsonInterval(escapes, executions);
    table.rows.push_back({target.target, Verdict(target), target.inputs.size(), escaping, flaky,
                          executions, escapes, Rate(escapes, executions), interval.low,
                          interval.high, last_run});
  }
  std::cout << RenderTable(table, o.format);
  return kExitOk;
}

int Flaky(const HistoryOptions& o) {
  Table table{
      .columns = {"target", "verdict", "input", "executions", "escapes", "escape_rate", "flaky"},
      .rows = {}};
  for (const TargetRows& target : Load(o)) {
    const std::string verdict = Verdict(target);
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
  std::vector<history::RatePoint> points;
  for (const CampaignRate& rate : *rates) {
    points.push_back(history::RatePoint{.campaign = rate.campaign,
                                        .created_at = rate.created_at,
                                        .executions = rate.executions,
                                        .escapes = rate.escapes});
  }
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
  command.add_option("--db", o.db, "SQLite database of results")
      ->capture_default_str()
      ->envname("GRAPHENE_DB");
  command.add_option("--format", o.format, "Output format")
      ->capture_default_str()
      ->check(CLI::IsMember(kTableFormats));
}

void AddFilterOptions(CLI::App& command, HistoryOptions& o) {
  command.add_option("--since", o.since,
                     "Only campaigns created at or after this time (ISO-8601, e.g. 2026-11-01)");
  command.add_option("--campaign", o.campaign, "Only this campaign")->check(CLI::PositiveNumber);
}

}  // namespace

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
  command->add_option("pattern", o.target, "Targets to include (glob, e.g. '*threads*')");
  AddFilterOptions(*command, o);
  AddCommonOptions(*command, o);
  return command;
}

CLI::App* AddFlakyCommand(CLI::App& app, HistoryOptions& o) {
  CLI::App* command =
      app.add_subcommand("flaky", "Flaky and input-dependent targets, with the inputs that escape");
  command->add_option("pattern", o.target, "Targets to include (glob)");
  AddFilterOptions(*command, o);
  AddCommonOptions(*command, o);
  return command;
}

CLI::App* AddHistoryCommand(CLI::App& app, HistoryOptions& o) {
  CLI::App* command = app.add_subcommand(
      "history", "One target's escape rate per campaign, and where it changed significantly");
  command->add_option("target", o.target, "The target, as it was run")->required();
  command->add_option("--alpha", o.alpha, "Significance level of a change")
      ->capture_default_str()
      ->check(CLI::Range(1e-9, 0.5));
  AddCommonOptions(*command, o);
  return command;
}

int RunStatsCommand(const HistoryOptions& o) { return Guarded(Stats, o); }
int RunFlakyCommand(const HistoryOptions& o) { return Guarded(Flaky, o); }
int RunHistoryCommand(const HistoryOptions& o) { return Guarded(History, o); }

}  // namespace graphene
