#include "cli/remote_campaign.h"

#include <fmt/format.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <thread>

#include "bundle/bundle.h"
#include "cli/campaign_setup.h"
#include "cli/coordinator_client.h"
#include "cli/exit_codes.h"
#include "cli/git_commit.h"
#include "cli/progress.h"
#include "cli/summary.h"
#include "schema/database.h"
#include "store/store.h"

namespace graphene {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

// How long a coordinator may stay silent before the client gives up: long
// enough for it to be restarted.
constexpr milliseconds kAnswerTimeout = std::chrono::minutes{5};
// Between two progress questions.
constexpr milliseconds kWatchInterval{250};
constexpr uint32_t kResultsPerPage = 1000;

std::atomic<bool> detach_requested{false};

bool Is(const Message& message, uint64_t campaign) {
  if (const auto* state = std::get_if<CampaignState>(&message)) return state->campaign == campaign;
  return false;
}

// A random token naming this submission, so a retried Submit is recognised.
std::string NewSubmissionToken() {
  std::random_device random;
  std::string token;
  for (int i = 0; i < 4; ++i) token += fmt::format("{:08x}", random());
  return token;
}

// The files the targets need, relative to `root`: the test folder for
// run-all; for named targets, each file's folder or each module's top-level
// package; plus --bundle paths.
std::vector<std::string> BundlePaths(const CampaignOptions& o, bool run_all,
                                     const std::vector<TargetInfo>& targets,
                                     const std::string& root) {
  std::vector<std::string> paths = o.bundle_paths;
  if (run_all) {
    paths.push_back(o.test_dir);
    return paths;
  }
  for (const TargetInfo& target : targets) {
    const std::string module = target.spec.substr(0, target.spec.rfind(':'));
    if (module.ends_with(".py")) {
      const fs::path folder = fs::path(module).parent_path();
      paths.push_back(folder.empty() ? module : folder.string());
      continue;
    }
    const std::string top = module.substr(0, module.find('.'));
    if (fs::is_directory(fs::path(root) / top)) {
      paths.push_back(top);
    } else if (fs::is_regular_file(fs::path(root) / (top + ".py"))) {
      paths.push_back(top + ".py");
    }  // else installed on the agents (the standard library, say): nothing to ship
  }
  return paths;
}

// A temporary folder, removed with everything in it.
class ScratchFolder {
 public:
  ScratchFolder() {
    std::string pattern = (fs::temp_directory_path() / "graphene-client-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw CommandError{kExitInfrastructure, "cannot create a temporary folder"};
    }
    path_ = pattern;
  }
  ~ScratchFolder() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Follows `campaign` until it ends, showing progress. Returns its last state.
CampaignState Follow(CoordinatorClient& client, uint64_t campaign, bool quiet) {
  ProgressDisplay progress(!quiet, fmt::format("campaign {}: ", campaign));
  while (true) {
    Result<Message> reply = client.Call(
        Watch{.campaign = campaign}, [&](const Message& m) { return Is(m, campaign); },
        kAnswerTimeout, detach_requested);
    if (!reply.ok()) {
      progress.Finish();
      if (reply.status().message() == "interrupted") {
        throw CommandError{
            130, fmt::format("detached from campaign {}, which goes on running; follow it again "
                             "with: graphene attach {} --coordinator {}",
                             campaign, campaign, client.endpoint())};
      }
      // A campaign the coordinator does not know is the user's mistake.
      throw CommandError{client.refused() ? kExitUsage : kExitInfrastructure,
                         reply.status().message()};
    }
    const CampaignState& state = std::get<CampaignState>(*reply);
    progress.Update(
        Progress{.campaign = campaign, .done = state.done, .total = state.total,
                 .escapes = state.escapes});
    if (state.status != kCampaignRunning) {
      progress.Finish();
      return state;
    }
    for (milliseconds waited{0}; waited < kWatchInterval && !detach_requested.load();
         waited += milliseconds{50}) {
      std::this_thread::sleep_for(milliseconds{50});
    }
  }
}

// Copies the finished `campaign` into `store` and summarises it from there,
// exactly as a local run is summarised.
int Report(CoordinatorClient& client, uint64_t campaign, Store& store, const std::string& format,
           const ReportFiles& files = {}) {
  Result<Message> reply = client.Call(
      Watch{.campaign = campaign, .details = true},
      [&](const Message& m) { return Is(m, campaign); }, kAnswerTimeout, detach_requested);
  if (!reply.ok()) throw CommandError{kExitInfrastructure, reply.status().message()};
  const CampaignState& state = std::get<CampaignState>(*reply);
  if (state.status != kCampaignDone) {
    throw CommandError{kExitInfrastructure,
                       fmt::format("campaign {} on {} is {}", campaign, client.endpoint(),
                                   state.status)};
  }
  CampaignRecord record;
  record.command = state.command;
  record.seed = state.seed;
  record.options_json = state.options_json;
  record.total_jobs = state.total;
  // Copying twice into the same --db stores one copy.
  record.submission = fmt::format("copy of campaign {} of {}", campaign, client.endpoint());
  Result<uint64_t> local = store.CreateCampaign(record, state.targets, {});
  if (!local.ok()) throw CommandError{kExitInfrastructure, local.status().message()};

  uint64_t next = 0;
  while (true) {
    Result<Message> page_reply = client.Call(
        FetchResults{.campaign = campaign, .first_index = next, .limit = kResultsPerPage},
        [&](const Message& m) {
          const auto* page = std::get_if<ResultsPage>(&m);
          return page && page->campaign == campaign && page->first_index == next;
        },
        kAnswerTimeout, detach_requested);
    if (!page_reply.ok()) throw CommandError{kExitInfrastructure, page_reply.status().message()};
    ResultsPage& page = std::get<ResultsPage>(*page_reply);
    std::vector<std::pair<Job, ExecutionResult>> batch;
    for (StoredExecution& execution : page.executions) {
      Job job{.campaign = *local,
              .index = execution.job_index,
              .target = execution.target,
              .root = "",
              .input = execution.input,
              .repeat = execution.repeat};
      batch.emplace_back(std::move(job), std::move(execution.result));
    }
    if (!batch.empty()) {
      Result<size_t> stored = store.RecordResults(batch);
      if (!stored.ok()) throw CommandError{kExitInfrastructure, stored.status().message()};
    }
    if (page.end || page.executions.empty()) break;
    next = page.next_index;
  }
  if (Status finished = store.FinishCampaign(*local, kCampaignDone); !finished.ok()) {
    throw CommandError{kExitInfrastructure, finished.message()};
  }
  Result<CampaignSummary> summary = Summarize(store, *local);
  if (!summary.ok()) throw CommandError{kExitInfrastructure, summary.status().message()};
  if (summary->executions != state.total) {
    throw CommandError{kExitInfrastructure,
                       fmt::format("campaign {} has {} results on {}, expected {}", campaign,
                                   summary->executions, client.endpoint(), state.total)};
  }
  summary->campaign = campaign;  // the farm's number, which attach and status use
  return PrintSummary(*summary, format, files);
}

std::unique_ptr<Store> OpenResultsCopy(const std::string& db, const ScratchFolder& scratch) {
  Result<std::unique_ptr<Store>> store =
      Store::Open(db.empty() ? scratch.path() + "/results.db" : db);
  if (!store.ok()) throw CommandError{kExitUsage, store.status().message()};
  return std::move(store).value();
}

std::unique_ptr<CoordinatorClient> ConnectClient(zmq::context_t& context,
                                                 const std::string& endpoint,
                                                 const ClientSecurityOptions& security) {
  Result<std::function<void(zmq::socket_t&)>> configure = SetUpClientSecurity(security);
  if (!configure.ok()) throw CommandError{kExitUsage, configure.status().message()};
  Result<std::unique_ptr<CoordinatorClient>> client =
      CoordinatorClient::Connect(context, endpoint, *configure);
  if (!client.ok()) throw CommandError{kExitUsage, client.status().message()};
  return std::move(client).value();
}

}  // namespace

void DetachFromCampaign() { detach_requested.store(true); }

int RunRemoteCampaign(const CampaignOptions& o, bool run_all, const std::string& command_line) {
  const std::string root = fs::current_path().string();
  zmq::context_t context;
  std::unique_ptr<CoordinatorClient> client = ConnectClient(context, o.coordinator, o.security);
  ScratchFolder scratch;
  std::unique_ptr<Store> store = OpenResultsCopy(o.db, scratch);

  // Targets are checked here, so a typo fails at once with exit 2, as it
  // does without a farm.
  Result<std::unique_ptr<Sandbox>> sandbox = Sandbox::Start(SandboxOptions{.slots = 1});
  if (!sandbox.ok()) throw CommandError{kExitInfrastructure, sandbox.status().message()};
  std::vector<TargetInfo> targets = ResolveTargets(**sandbox, o, run_all, root);
  sandbox->reset();

  Result<Bundle> bundle = PackBundle(root, BundlePaths(o, run_all, targets, root));
  if (!bundle.ok()) throw CommandError{kExitUsage, bundle.status().message()};

  Submit submit;
  submit.submission = NewSubmissionToken();
  CampaignSpec& spec = submit.campaign;
  spec.command = command_line;
  spec.seed = o.seed;
  spec.options_json = OptionsJson(o, 0);
  spec.root = root;
  spec.git_commit = GitCommitOf(targets, root);
  spec.targets = std::move(targets);
  spec.inputs = CampaignInputs(o);
  spec.repeat = o.repeat;
  spec.limits = LimitsOf(o);
  submit.bundle_hash = bundle->hash;
  submit.bundle = std::move(bundle->bytes);
  // The coordinator would drop a larger message without a word.
  if (const size_t bytes = Encode(submit).size(); bytes > kMaxWireMessageBytes) {
    throw CommandError{kExitUsage,
                       fmt::format("the campaign takes {} MB to submit ({} MB of test files, the "
                                   "rest inputs and targets), more than the {} MB a message may "
                                   "hold; use fewer --generate inputs or a smaller test folder",
                                   bytes >> 20, submit.bundle.size() >> 20,
                                   kMaxWireMessageBytes >> 20)};
  }

  Result<Message> reply = client->Call(
      submit,
      [&](const Message& m) {
        const auto* submitted = std::get_if<Submitted>(&m);
        return submitted && submitted->submission == submit.submission;
      },
      kAnswerTimeout, detach_requested, seconds{10});
  if (!reply.ok()) {
    if (reply.status().message() == "interrupted") throw CommandError{130, "interrupted"};
    throw CommandError{kExitInfrastructure, fmt::format("submitting to {}: {}", o.coordinator,
                                                        reply.status().message())};
  }
  const uint64_t campaign = std::get<Submitted>(*reply).campaign;
  if (!o.quiet) {
    fmt::print(stderr, "graphene: campaign {} submitted to {} (Ctrl-C detaches; it goes on)\n",
               campaign, o.coordinator);
  }
  const CampaignState state = Follow(*client, campaign, o.quiet);
  if (state.status != kCampaignDone) {
    throw CommandError{kExitInfrastructure,
                       fmt::format("campaign {} on {} ended {}", campaign, o.coordinator,
                                   state.status)};
  }
  return Report(*client, campaign, *store, o.format, {.junit = o.junit, .sarif = o.sarif});
}

CLI::App* AddAttachCommand(CLI::App& app, AttachOptions& o) {
  CLI::App* command = app.add_subcommand(
      "attach", "Follow a campaign running on a coordinator, then print its summary");
  command->add_option("campaign", o.campaign, "The campaign's number")->required();
  AddCoordinatorClientOptions(*command, o.coordinator, o.security);
  command->add_option("--format", o.format, "Output format")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
  command->add_option("--db", o.db, "Also keep a copy of the results in this database");
  command->add_flag("--quiet,-q", o.quiet, "No progress display");
  return command;
}

int RunAttachCommand(const AttachOptions& o) {
  try {
    zmq::context_t context;
    std::unique_ptr<CoordinatorClient> client = ConnectClient(context, o.coordinator, o.security);
    ScratchFolder scratch;
    std::unique_ptr<Store> store = OpenResultsCopy(o.db, scratch);
    const CampaignState state = Follow(*client, o.campaign, o.quiet);
    if (state.status != kCampaignDone) {
      throw CommandError{kExitInfrastructure, fmt::format("campaign {} on {} ended {}", o.campaign,
                                                          o.coordinator, state.status)};
    }
    return Report(*client, o.campaign, *store, o.format);
  } catch (const CommandError& error) {
    fmt::print(stderr, "graphene: {}\n", error.message);
    return error.exit_code;
  }
}

}  // namespace graphene
