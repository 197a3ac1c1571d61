// graphene's command line. One binary: `analyze` (the default when the first
// argument is a target), `run-all` (also spelled `--run-all`), the farm's
// `coordinator`, `agent`, `keygen`, `status` and `attach`, the history's
// `campaigns`, `stats`, `flaky`, `history` and `report`, and the hidden
// `__zygote` mode in which the sandbox re-executes this binary.
#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <string>
#include <vector>

#include "agent/zygote.h"
#include "base/log.h"
#include "cli/agent_command.h"
#include "cli/campaign_command.h"
#include "cli/campaigns_command.h"
#include "cli/coordinator_command.h"
#include "cli/exit_codes.h"
#include "cli/history_commands.h"
#include "cli/keygen_command.h"
#include "cli/local_cluster.h"
#include "cli/remote_campaign.h"
#include "cli/report_command.h"
#include "cli/status_command.h"
#include "cli/stop_signals.h"

namespace graphene {
namespace {

const std::vector<std::string> kSubcommands = {"analyze", "run-all", "coordinator", "agent",
                                               "keygen",  "status",  "attach",      "campaigns",
                                               "stats",   "flaky",   "history",     "report"};

bool IsSubcommand(const std::string& word) {
  return std::find(kSubcommands.begin(), kSubcommands.end(), word) != kSubcommands.end();
}

// Accepts the seed document's spellings: `graphene MODULE:FUNC ...` means
// `graphene analyze MODULE:FUNC ...`, and `--run-all` anywhere means the
// `run-all` subcommand.
std::vector<std::string> NormalizeArguments(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto run_all = std::find(args.begin(), args.end(), "--run-all");
  if (run_all != args.end()) {
    args.erase(run_all);
    args.insert(args.begin(), "run-all");
  } else if (!args.empty() && !args[0].empty() && args[0][0] != '-' && !IsSubcommand(args[0])) {
    args.insert(args.begin(), "analyze");
  }
  return args;
}

// Ctrl-C during analyze/run-all: a local campaign stops, a farm campaign is
// left running and the client detaches.
void StopCampaign(int) {
  StopLocalCampaign();
  DetachFromCampaign();
}

std::string JoinCommandLine(int argc, char** argv) {
  std::string line = "graphene";
  for (int i = 1; i < argc; ++i) line += std::string(" ") + argv[i];
  return line;
}

int Main(int argc, char** argv) {
  CLI::App app{"graphene: finds threads, processes and other concurrent work that Python "
               "functions leave running.",
               "graphene"};
  app.set_version_flag("--version", std::string(GRAPHENE_VERSION));
  // At most one; none is reported below, after parsing, so that an unknown
  // option alone ("graphene --frobnicate") is named as such.
  app.require_subcommand(0, 1);

  CampaignOptions analyze_options;
  CLI::App* analyze = app.add_subcommand(
      "analyze", "Run one or more targets with inputs and report what they leave running");
  analyze->add_option("target", analyze_options.targets,
                      "MODULE:FUNCTION or FILE.py:FUNCTION");
  analyze->add_option("--target", analyze_options.targets, "Same as the positional TARGET");
  AddCampaignOptions(*analyze, analyze_options);

  CampaignOptions run_all_options;
  CLI::App* run_all = app.add_subcommand(
      "run-all", "Discover every public function in the test folder's .py files and analyze them");
  run_all->add_option("--test-dir", run_all_options.test_dir, "Folder to discover targets in")
      ->capture_default_str();
  AddCampaignOptions(*run_all, run_all_options);

  CoordinatorCommandOptions coordinator_options;
  CLI::App* coordinator = AddCoordinatorCommand(app, coordinator_options);
  AgentCommandOptions agent_options;
  CLI::App* agent = AddAgentCommand(app, agent_options);
  KeygenOptions keygen_options;
  CLI::App* keygen = AddKeygenCommand(app, keygen_options);
  StatusOptions status_options;
  CLI::App* status = AddStatusCommand(app, status_options);
  AttachOptions attach_options;
  CLI::App* attach = AddAttachCommand(app, attach_options);
  CampaignsOptions campaigns_options;
  CLI::App* campaigns = AddCampaignsCommand(app, campaigns_options);
  HistoryOptions stats_options, flaky_options, history_options;
  CLI::App* stats = AddStatsCommand(app, stats_options);
  CLI::App* flaky = AddFlakyCommand(app, flaky_options);
  CLI::App* history = AddHistoryCommand(app, history_options);
  ReportOptions report_options;
  CLI::App* report = AddReportCommand(app, report_options);

  std::vector<std::string> args = NormalizeArguments(argc, argv);
  std::reverse(args.begin(), args.end());  // CLI11 takes them last-first
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "graphene: {} (see graphene --help)\n", e.what());
    return kExitUsage;
  }
  if (app.get_subcommands().empty()) {
    fmt::print(stderr, "graphene: a subcommand is required (see graphene --help)\n");
    return kExitUsage;
  }
  // The farm's long-running processes log what happens; the rest only warn.
  if (coordinator->parsed()) return RunCoordinatorCommand(coordinator_options);
  if (agent->parsed()) return RunAgentCommand(agent_options);
  SetMinLogLevel(LogLevel::kWarning);
  if (keygen->parsed()) return RunKeygenCommand(keygen_options);
  if (status->parsed()) return RunStatusCommand(status_options);
  if (campaigns->parsed()) return RunCampaignsCommand(campaigns_options);
  if (stats->parsed()) return RunStatsCommand(stats_options);
  if (flaky->parsed()) return RunFlakyCommand(flaky_options);
  if (history->parsed()) return RunHistoryCommand(history_options);
  if (report->parsed()) return RunReportCommand(report_options);
  InstallStopHandler(StopCampaign);
  if (attach->parsed()) return RunAttachCommand(attach_options);
  std::string command_line = JoinCommandLine(argc, argv);
  if (analyze->parsed()) {
    if (analyze_options.targets.empty()) {
      fmt::print(stderr, "graphene: analyze needs a TARGET (MODULE:FUNCTION or FILE.py:FUNCTION)\n");
      return kExitUsage;
    }
    return RunCampaignCommand(analyze_options, false, command_line);
  }
  return RunCampaignCommand(run_all_options, true, command_line);
}

}  // namespace
}  // namespace graphene

int main(int argc, char** argv) {
  // The sandbox re-executes this binary as its zygote: decide that before
  // anything else runs, so the zygote starts with no threads.
  if (argc == 2 && std::string(argv[1]) == graphene::kZygoteCommand) {
    return graphene::RunZygote(graphene::kZygoteSocketFd);
  }
  return graphene::Main(argc, argv);
}
