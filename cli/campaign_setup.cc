#include "cli/campaign_setup.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "cli/exit_codes.h"
#include "cli/junit_report.h"
#include "cli/report.h"
#include "cli/sarif_report.h"
#include "generator/input_generator.h"

namespace graphene {

namespace fs = std::filesystem;

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

ExecutionLimits LimitsOf(const CampaignOptions& o) {
  return ExecutionLimits{.timeout_ms = static_cast<uint32_t>(o.timeout_s * 1000),
                         .grace_ms = o.grace_ms,
                         .memory_limit_mb = o.memory_limit_mb,
                         .max_processes = o.max_processes,
                         .strict = o.strict};
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
  nlohmann::json options{{"repeat", o.repeat},
                         {"timeout_s", o.timeout_s},
                         {"grace_ms", o.grace_ms},
                         {"generate", o.generate},
                         {"memory_limit_mb", o.memory_limit_mb},
                         {"max_processes", o.max_processes},
                         {"strict", o.strict},
                         {"inputs", o.inputs.size()},
                         {"test_dir", o.test_dir}};
  if (slots > 0) options["slots"] = slots;
  if (!o.coordinator.empty()) options["coordinator"] = o.coordinator;
  return options.dump();
}

namespace {

// Writes `contents` to `path` (replacing it), or throws CommandError (exit 2).
void WriteFile(const std::string& path, const std::string& contents, const char* what) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (out) out << contents;
  if (out) out.close();
  if (!out) {
    throw CommandError{kExitUsage, fmt::format("cannot write the {} report to '{}': {}", what, path,
                                               std::strerror(errno))};
  }
}

}  // namespace

void WriteReportFiles(const CampaignSummary& summary, const ReportFiles& files) {
  if (!files.junit.empty()) WriteFile(files.junit, RenderJunit(summary), "JUnit");
  if (!files.sarif.empty()) {
    WriteFile(files.sarif,
              RenderSarif(summary, GRAPHENE_VERSION)
                      .dump(2, ' ', false, nlohmann::json::error_handler_t::replace) +
                  "\n",
              "SARIF");
  }
}

int PrintSummary(const CampaignSummary& summary, const std::string& format,
                 const ReportFiles& files) {
  if (format == "json") {
    std::cout << RenderJson(summary).dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
  } else {
    std::cout << RenderText(summary);
  }
  std::cout.flush();
  WriteReportFiles(summary, files);
  if (summary.errors > 0) return kExitInfrastructure;
  return summary.mismatches > 0 ? kExitMismatch : kExitOk;
}

}  // namespace graphene
