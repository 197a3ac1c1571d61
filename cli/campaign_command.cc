#include "cli/campaign_command.h"

#include <fmt/format.h>

#include <filesystem>

#include "agent/sandbox.h"
#include "cli/campaign_setup.h"
#include "cli/database_options.h"
#include "cli/exit_codes.h"
#include "cli/git_commit.h"
#include "cli/local_cluster.h"
#include "cli/progress.h"
#include "cli/remote_campaign.h"
#include "cli/summary.h"
#include "coordinator/store_sink.h"
#include "schema/database.h"
#include "store/store.h"

namespace graphene {
namespace {

namespace fs = std::filesystem;

int Run(const CampaignOptions& o, bool run_all, const std::string& command_line) {
  const std::string root = fs::current_path().string();
  const std::string db_path = o.db.empty() ? kDefaultDatabase : o.db;
  Result<std::unique_ptr<Store>> store = Store::Open(db_path);
  if (!store.ok()) throw CommandError{kExitUsage, store.status().message()};

  size_t slots = o.slots ? o.slots : DefaultSlots();
  Result<std::unique_ptr<Sandbox>> sandbox = Sandbox::Start(SandboxOptions{slots});
  if (!sandbox.ok()) throw CommandError{kExitInfrastructure, sandbox.status().message()};
  std::vector<TargetInfo> targets = ResolveTargets(**sandbox, o, run_all, root);

  CampaignPlan plan;
  for (const TargetInfo& target : targets) plan.targets.push_back(target.spec);
  plan.inputs = CampaignInputs(o);
  plan.repeat = o.repeat;
  plan.limits = LimitsOf(o);
  plan.root = root;

  CampaignRecord record;
  record.command = command_line;
  record.seed = o.seed;
  record.options_json = OptionsJson(o, slots);
  record.root = root;
  record.git_commit = GitCommitOf(targets, root);
  record.total_jobs = plan.TotalJobs();
  record.repeat = plan.repeat;
  record.limits = plan.limits;
  Result<uint64_t> campaign = (*store)->CreateCampaign(record, targets, plan.inputs);
  if (!campaign.ok()) throw CommandError{kExitInfrastructure, campaign.status().message()};
  plan.campaign = *campaign;

  StoreSink sink(**store);
  ProgressDisplay progress(!o.quiet, fmt::format("campaign {}: ", plan.campaign));
  Status ran =
      RunLocalCampaign(plan, **sandbox, sink, [&](const Progress& p) { progress.Update(p); });
  progress.Finish();
  if (!ran.ok()) {
    bool interrupted = ran.message() == "interrupted";
    (void)(*store)->FinishCampaign(plan.campaign,
                                   interrupted ? kCampaignInterrupted : kCampaignFailed);
    throw CommandError{
        interrupted ? 130 : kExitInfrastructure,
        fmt::format("campaign {} {}; its results so far are in {}", plan.campaign,
                    interrupted ? "interrupted" : "failed: " + ran.message(), db_path)};
  }
  (void)(*store)->FinishCampaign(plan.campaign, kCampaignDone);

  Result<CampaignSummary> summary = Summarize(**store, plan.campaign);
  if (!summary.ok()) throw CommandError{kExitInfrastructure, summary.status().message()};
  return PrintSummary(*summary, o.format, {.junit = o.junit, .sarif = o.sarif});
}

}  // namespace

int RunCampaignCommand(const CampaignOptions& options, bool run_all,
                       const std::string& command_line) {
  try {
    if (!options.coordinator.empty()) return RunRemoteCampaign(options, run_all, command_line);
    return Run(options, run_all, command_line);
  } catch (const CommandError& error) {
    fmt::print(stderr, "graphene: {}\n", error.message);
    return error.exit_code;
  }
}

}  // namespace graphene
