#include "cli/campaign_command.h"

#include <fmt/format.h>

#include <filesystem>
#include <iostream>
#include <set>
#include <thread>

#include "agent/sandbox.h"
#include "cli/exit_codes.h"
#include "cli/local_cluster.h"
#include "cli/progress.h"
#include "cli/report.h"
#include "cli/summary.h"
#include "generator/input_generator.h"
#include "schema/database.h"
#include "store/store.h"

namespace graphene {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDefaultDatabase = ".graphene/results.db";
// Loading a module to describe or discover its targets may take this long.
constexpr uint32_t kLoadTimeoutMs = 30000;

// Thrown inside this file only, caught by RunCampaignCommand.
struct CommandError {
  int exit_code;
  std::string message;
};

// Stores results as the coordinator delivers them.
class StoreSink : public ResultSink {
 public:
  explicit StoreSink(Store& store) : store_(store) {}
  Status Accept(std::vector<std::pair<Job, ExecutionResult>> batch) override {
    Result<size_t> stored = store_.RecordResults(batch);
    return stored.ok() ? Status::Ok() : stored.status();
  }

 private:
  Store& store_;
};

size_t DefaultSlots() {
  // Most of an execution is the grace period, spent asleep: oversubscribe.
  return 16 * std::max(1u, std::thread::hardware_concurrency());
}

std::vector<TargetInfo> ResolveTargets(Sandbox& sandbox, const CampaignOptions& o, bool run_all,
                                       const std::string& root) {
  Result<std::vector<TargetInfo>> targets = Status::Ok();
  if (run_all) {
    if (!fs::exists(fs::path(root) / o.test_dir)) {
      throw CommandError{kExitUsage,
                         fmt::format("test folder or file '{}' does not exist", o.test_dir)};
    }
    targets = sandbox.Discover({o.test_dir}, root, kLoadTimeoutMs);
  } else {
    if (o.targets.empty()) throw CommandError{kExitUsage, "no target given"};
    targets = sandbox.Describe(o.targets, root, kLoadTimeoutMs);
  }
  if (!targets.ok()) throw CommandError{kExitUsage, targets.status().message()};
  for (const TargetInfo& target : *targets) {
    if (!target.ok) throw CommandError{kExitUsage, target.error};
  }
  if (targets->empty()) {
    throw CommandError{kExitUsage, fmt::format("no public functions found in '{}'", o.test_dir)};
  }
  return std::move(targets).value();
}

std::vector<std::string> CampaignInputs(const CampaignOptions& o) {
  std::vector<std::string> inputs;
  std::set<std::string> seen;
  for (const std::string& input : o.inputs) {
    if (seen.insert(input).second) inputs.push_back(input);
  }
  for (std::string& input : GenerateInputs(o.generate, o.seed)) {
    if (seen.insert(input).second) inputs.push_back(std::move(input));
  }
  if (inputs.empty()) inputs.push_back("");
  return inputs;
}

std::string OptionsJson(const CampaignOptions& o, size_t slots) {
  return nlohmann::json{{"repeat", o.repeat},   {"timeout_s", o.timeout_s},
                        {"grace_ms", o.grace_ms}, {"generate", o.generate},
                        {"memory_limit_mb", o.memory_limit_mb},
                        {"max_processes", o.max_processes}, {"strict", o.strict},
                        {"inputs", o.inputs.size()}, {"slots", slots},
                        {"test_dir", o.test_dir}}
      .dump();
}

void PrintSummary(const CampaignSummary& summary, const std::string& format) {
  if (format == "json") {
    std::cout << RenderJson(summary).dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
  } else {
    std::cout << RenderText(summary);
  }
  std::cout.flush();
}

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
  plan.timeout_ms = static_cast<uint32_t>(o.timeout_s * 1000);
  plan.grace_ms = o.grace_ms;
  plan.memory_limit_mb = o.memory_limit_mb;
  plan.max_processes = o.max_processes;
  plan.strict = o.strict;
  plan.root = root;

  CampaignRecord record;
  record.command = command_line;
  record.seed = o.seed;
  record.options_json = OptionsJson(o, slots);
  record.root = root;
  record.total_jobs = plan.TotalJobs();
  Result<uint64_t> campaign = (*store)->CreateCampaign(record);
  if (!campaign.ok()) throw CommandError{kExitInfrastructure, campaign.status().message()};
  plan.campaign = *campaign;
  Status added = (*store)->AddCampaignTargets(plan.campaign, targets);
  if (!added.ok()) throw CommandError{kExitInfrastructure, added.message()};

  StoreSink sink(**store);
  ProgressDisplay progress(!o.quiet);
  Status ran = RunLocalCampaign(plan, **sandbox, sink,
                                [&](const Progress& p) { progress.Update(p); });
  progress.Finish();
  if (!ran.ok()) {
    bool interrupted = ran.message() == "interrupted";
    (void)(*store)->FinishCampaign(plan.campaign,
                                   interrupted ? kCampaignInterrupted : kCampaignFailed);
    throw CommandError{interrupted ? 130 : kExitInfrastructure,
                       fmt::format("campaign {} {}; its results so far are in {}", plan.campaign,
                                   interrupted ? "interrupted" : "failed: " + ran.message(),
                                   db_path)};
  }
  (void)(*store)->FinishCampaign(plan.campaign, kCampaignDone);

  Result<CampaignSummary> summary = Summarize(**store, plan.campaign);
  if (!summary.ok()) throw CommandError{kExitInfrastructure, summary.status().message()};
  PrintSummary(*summary, o.format);
  if (summary->errors > 0) return kExitInfrastructure;
  return summary->mismatches > 0 ? kExitMismatch : kExitOk;
}

}  // namespace

int RunCampaignCommand(const CampaignOptions& options, bool run_all,
                       const std::string& command_line) {
  try {
    return Run(options, run_all, command_line);
  } catch (const CommandError& error) {
    fmt::print(stderr, "graphene: {}\n", error.message);
    return error.exit_code;
  }
}

}  // namespace graphene
