#include "cli/campaigns_command.h"

#include <fmt/format.h>

#include <iostream>

#include "cli/database_options.h"
#include "cli/exit_codes.h"
#include "cli/history_commands.h"
#include "cli/table_output.h"
#include "store/store.h"

namespace graphene {

CLI::App* AddCampaignsCommand(CLI::App& app, CampaignsOptions& o) {
  CLI::App* command =
      app.add_subcommand("campaigns", "List the campaigns in a results database, newest first");
  AddDatabaseOption(*command, o.db);
  AddTableFormatOption(*command, o.format);
  command->add_option("--limit", o.limit, "Most campaigns to list")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  return command;
}

int RunCampaignsCommand(const CampaignsOptions& o) {
  std::unique_ptr<Store> store;
  try {
    store = OpenExistingDatabase(o.db);
  } catch (const CommandError& error) {
    fmt::print(stderr, "graphene: {}\n", error.message);
    return error.exit_code;
  }
  Result<std::vector<CampaignRecord>> campaigns = store->RecentCampaigns(o.limit);
  if (!campaigns.ok()) {
    fmt::print(stderr, "graphene: {}\n", campaigns.status().message());
    return kExitInfrastructure;
  }
  Table table{.columns = {"campaign", "created_at", "finished_at", "status", "targets", "jobs",
                          "executions", "escapes", "seed", "git_commit", "command"},
              .rows = {}};
  for (const CampaignRecord& c : *campaigns) {
    Result<std::vector<TargetInfo>> targets = store->CampaignTargets(c.id);
    Result<ResultCounts> counts = store->CountResults(c.id);
    for (const Status& status : {targets.status(), counts.status()}) {
      if (!status.ok()) {
        fmt::print(stderr, "graphene: {}\n", status.message());
        return kExitInfrastructure;
      }
    }
    table.rows.push_back(
        {c.id, c.created_at,
         c.finished_at.empty() ? nlohmann::json() : nlohmann::json(c.finished_at), c.status,
         targets->size(), c.total_jobs, counts->results, counts->escapes, std::to_string(c.seed),
         c.git_commit.empty() ? nlohmann::json() : nlohmann::json(c.git_commit), c.command});
  }
  std::cout << RenderTable(table, o.format);
  return kExitOk;
}

}  // namespace graphene
