#include "coordinator/coordinator_service.h"

#include <fmt/format.h>

#include <limits>

#include "base/log.h"
#include "base/overloaded.h"
#include "bundle/bundle.h"
#include "coordinator/store_sink.h"
#include "schema/database.h"

namespace graphene {
namespace {

constexpr Logger kLog("coordinator");

// A results page stops growing past this many bytes of output and errors, so
// that it stays far below the wire's message limit.
constexpr size_t kMaxPageBytes = 16u << 20;
constexpr uint32_t kMaxPageResults = 2000;
// What a Submit may ask for, so that one client cannot wedge the farm with
// an absurd campaign.
constexpr uint64_t kMaxCampaignJobs = uint64_t{1} << 40;
constexpr uint32_t kMaxRecentCampaigns = 1000;

Refused Refuse(std::string_view request, std::string reason) {
  return Refused{.request = std::string(request), .reason = std::move(reason)};
}

// The plan a campaign record describes, with the targets and inputs stored
// for it.
std::shared_ptr<CampaignPlan> PlanOf(const CampaignRecord& record,
                                     const std::vector<TargetInfo>& targets,
                                     std::vector<std::string> inputs) {
  auto plan = std::make_shared<CampaignPlan>();
  plan->campaign = record.id;
  for (const TargetInfo& target : targets) plan->targets.push_back(target.spec);
  plan->inputs = std::move(inputs);
  plan->repeat = record.repeat;
  plan->limits = record.limits;
  plan->root = record.root;
  plan->bundle = record.bundle;
  return plan;
}

// Why `spec` cannot be run, or nullopt.
std::optional<std::string> Invalid(const CampaignSpec& spec) {
  if (spec.targets.empty()) return "the campaign has no targets";
  if (spec.inputs.empty()) return "the campaign has no inputs";
  if (spec.repeat == 0) return "repeat must be at least 1";
  if (spec.limits.timeout_ms == 0) return "the timeout must be positive";
  for (const TargetInfo& target : spec.targets) {
    if (target.spec.empty()) return "a target has no name";
  }
  const double jobs = double(spec.targets.size()) * double(spec.inputs.size()) * spec.repeat;
  if (jobs > double(kMaxCampaignJobs)) {
    return fmt::format("the campaign has {:.0f} jobs, more than the {} a campaign may have", jobs,
                       kMaxCampaignJobs);
  }
  return std::nullopt;
}

}  // namespace

Result<std::unique_ptr<CoordinatorService>> CoordinatorService::Start(
    zmq::context_t& context, CoordinatorServiceOptions options) {
  Result<std::unique_ptr<Store>> store = Store::Open(options.db_path);
  if (!store.ok()) return store.status();
  Result<std::unique_ptr<Coordinator>> coordinator =
      Coordinator::Create(context, std::move(options.coordinator));
  if (!coordinator.ok()) return coordinator.status();
  std::unique_ptr<CoordinatorService> service(
      new CoordinatorService(std::move(store).value(), std::move(coordinator).value()));
  if (Status resumed = service->ResumeCampaigns(); !resumed.ok()) return resumed;
  return service;
}

CoordinatorService::CoordinatorService(std::unique_ptr<Store> store,
                                       std::unique_ptr<Coordinator> coordinator)
    : store_(std::move(store)), coordinator_(std::move(coordinator)) {}

CoordinatorService::~CoordinatorService() = default;

Status CoordinatorService::ResumeCampaigns() {
  Result<std::vector<CampaignRecord>> running = store_->CampaignsWithStatus(kCampaignRunning);
  if (!running.ok()) return running.status();
  for (const CampaignRecord& record : *running) {
    if (record.submission.empty()) continue;  // a local run's, not ours
    if (Status status = Serve(record); !status.ok()) {
      return Status::Error(fmt::format("resuming campaign {}: {}", record.id, status.message()));
    }
  }
  return Status::Ok();
}

Status CoordinatorService::Serve(const CampaignRecord& record) {
  Result<std::vector<TargetInfo>> targets = store_->CampaignTargets(record.id);
  if (!targets.ok()) return targets.status();
  Result<std::vector<std::string>> inputs = store_->CampaignInputs(record.id);
  if (!inputs.ok()) return inputs.status();
  std::shared_ptr<CampaignPlan> plan = PlanOf(record, *targets, std::move(inputs).value());
  if (plan->TotalJobs() != record.total_jobs) {
    return Status::Error(fmt::format("its plan has {} jobs, but {} were recorded",
                                     plan->TotalJobs(), record.total_jobs));
  }
  Result<std::vector<JobRange>> missing = store_->MissingJobs(record.id, record.total_jobs);
  if (!missing.ok()) return missing.status();
  // Done = everything outside the missing ranges.
  JobIndexSet done;
  uint64_t next = 0;
  uint64_t left = 0;
  auto mark_done = [&](uint64_t end) {
    for (; next < end; ++next) done.Insert(next);
  };
  for (const JobRange& range : *missing) {
    mark_done(range.begin);
    next = range.end;
    left += range.end - range.begin;
  }
  mark_done(record.total_jobs);
  Result<ResultCounts> counts = store_->CountResults(record.id);
  if (!counts.ok()) return counts.status();
  if (left < record.total_jobs) {
    kLog.Info("resuming campaign {}: {} of its {} jobs left", record.id, left, record.total_jobs);
  }
  return coordinator_->AddCampaign(std::move(plan), std::move(done), counts->escapes);
}

Status CoordinatorService::Run() {
  StoreSink sink(*store_);
  Status status = coordinator_->Serve(sink, *this, nullptr);
  coordinator_->SayGoodbye("the coordinator is stopping");
  return status;
}

void CoordinatorService::OnCampaignDone(uint64_t campaign) {
  if (Status status = store_->FinishCampaign(campaign, kCampaignDone); !status.ok()) {
    kLog.Warn("campaign {} is done but could not be marked so: {}", campaign, status.message());
    return;
  }
  kLog.Info("campaign {} is done", campaign);
}

std::optional<Message> CoordinatorService::OnRequest(const Message& request) {
  return std::visit(
      Overloaded{
          [&](const Submit& submit) { return OnSubmit(submit); },
          [&](const Watch& watch) { return OnWatch(watch); },
          [&](const FetchResults& fetch) { return OnFetchResults(fetch); },
          [&](const StatusRequest& status) { return OnStatus(status); },
          [&](const FetchBundle& fetch) { return OnFetchBundle(fetch); },
          [&](const auto&) -> Message { return Refuse(MessageName(request), "not a request"); },
      },
      request);
}

Message CoordinatorService::OnSubmit(const Submit& submit) {
  if (submit.submission.empty()) return Refuse("submit", "the submission has no token");
  // A retried Submit whose first copy got through: answer as before.
  Result<std::optional<uint64_t>> existing = store_->CampaignBySubmission(submit.submission);
  if (!existing.ok()) return Refuse("submit", existing.status().message());
  if (existing->has_value()) {
    return Submitted{.submission = submit.submission, .campaign = **existing};
  }
  if (std::optional<std::string> why = Invalid(submit.campaign)) return Refuse("submit", *why);
  if (submit.bundle.empty()) return Refuse("submit", "the submission has no bundle");
  if (BundleHash(submit.bundle) != submit.bundle_hash) {
    return Refuse("submit",
                  fmt::format("the bundle does not match its hash {}", submit.bundle_hash));
  }
  if (Status status = store_->PutBundle(submit.bundle_hash, submit.bundle); !status.ok()) {
    return Refuse("submit", status.message());
  }
  const CampaignSpec& spec = submit.campaign;
  CampaignRecord record;
  record.command = spec.command;
  record.seed = spec.seed;
  record.options_json = spec.options_json;
  record.root = spec.root;
  record.git_commit = spec.git_commit;
  record.submission = submit.submission;
  record.bundle = submit.bundle_hash;
  record.repeat = spec.repeat;
  record.limits = spec.limits;
  record.total_jobs = uint64_t{spec.targets.size()} * spec.inputs.size() * spec.repeat;
  Result<uint64_t> id = store_->CreateCampaign(record, spec.targets, spec.inputs);
  if (!id.ok()) return Refuse("submit", id.status().message());
  record.id = *id;
  std::vector<std::string> inputs = spec.inputs;
  if (Status status = coordinator_->AddCampaign(PlanOf(record, spec.targets, std::move(inputs)));
      !status.ok()) {
    return Refuse("submit", status.message());
  }
  kLog.Info("campaign {} submitted: {} targets, {} jobs ({})", record.id, spec.targets.size(),
            record.total_jobs, spec.command);
  return Submitted{.submission = submit.submission, .campaign = record.id};
}

Result<CampaignState> CoordinatorService::StateOf(const CampaignRecord& record) {
  CampaignState state{.campaign = record.id, .status = record.status, .total = record.total_jobs};
  if (std::optional<Progress> progress = coordinator_->CampaignProgress(record.id)) {
    state.done = progress->done;
    state.escapes = progress->escapes;
    return state;
  }
  Result<ResultCounts> counts = store_->CountResults(record.id);
  if (!counts.ok()) return counts.status();
  state.done = counts->results;
  state.escapes = counts->escapes;
  return state;
}

Message CoordinatorService::OnWatch(const Watch& watch) {
  Result<CampaignRecord> record = store_->GetCampaign(watch.campaign);
  if (!record.ok()) return Refuse("watch", record.status().message());
  Result<CampaignState> state = StateOf(*record);
  if (!state.ok()) return Refuse("watch", state.status().message());
  if (watch.details) {
    Result<std::vector<TargetInfo>> targets = store_->CampaignTargets(watch.campaign);
    if (!targets.ok()) return Refuse("watch", targets.status().message());
    state->targets = std::move(targets).value();
    state->command = record->command;
    state->seed = record->seed;
    state->options_json = record->options_json;
  }
  return *state;
}

Message CoordinatorService::OnFetchResults(const FetchResults& fetch) {
  const uint32_t limit = std::clamp<uint32_t>(fetch.limit, 1, kMaxPageResults);
  Result<std::vector<StoredExecution>> executions =
      store_->ExecutionsPage(fetch.campaign, fetch.first_index, limit);
  if (!executions.ok()) return Refuse("fetch-results", executions.status().message());
  ResultsPage page{.campaign = fetch.campaign, .first_index = fetch.first_index};
  size_t bytes = 0;
  for (StoredExecution& execution : *executions) {
    bytes += execution.result.output.size() + execution.result.error.size() +
             execution.input.size() + 256 * (execution.result.escapes.size() + 1);
    if (bytes > kMaxPageBytes && !page.executions.empty()) break;
    page.executions.push_back(std::move(execution));
  }
  page.next_index =
      page.executions.empty() ? fetch.first_index : page.executions.back().job_index + 1;
  page.end = page.executions.size() == executions->size() && executions->size() < limit;
  return page;
}

Message CoordinatorService::OnStatus(const StatusRequest& request) {
  StatusReply reply;
  reply.agents = coordinator_->Agents();
  auto list = [&](const CampaignRecord& record) -> std::optional<std::string> {
    Result<CampaignState> state = StateOf(record);
    if (!state.ok()) return state.status().message();
    reply.campaigns.push_back(CampaignListing{.state = std::move(state).value(),
                                              .created_at = record.created_at,
                                              .command = record.command});
    return std::nullopt;
  };
  // Every campaign being served, newest first...
  std::vector<uint64_t> served = coordinator_->ServedCampaigns();
  std::sort(served.rbegin(), served.rend());
  for (uint64_t id : served) {
    Result<CampaignRecord> record = store_->GetCampaign(id);
    if (!record.ok()) return Refuse("status-request", record.status().message());
    if (std::optional<std::string> error = list(*record)) return Refuse("status-request", *error);
  }
  // ...then the newest finished ones. A "running" campaign nobody serves (a
  // local run that was killed) is neither.
  const size_t wanted = std::min(request.recent_campaigns, kMaxRecentCampaigns);
  Result<std::vector<CampaignRecord>> recent =
      store_->RecentCampaigns(wanted + served.size() + kMaxRecentCampaigns);
  if (!recent.ok()) return Refuse("status-request", recent.status().message());
  size_t finished = 0;
  for (const CampaignRecord& record : *recent) {
    if (finished == wanted) break;
    if (record.status == kCampaignRunning) continue;
    if (std::optional<std::string> error = list(record)) return Refuse("status-request", *error);
    ++finished;
  }
  return reply;
}

Message CoordinatorService::OnFetchBundle(const FetchBundle& fetch) {
  Result<std::optional<std::string>> content = store_->GetBundle(fetch.hash);
  if (!content.ok()) {
    return BundleData{.hash = fetch.hash, .content = "", .error = content.status().message()};
  }
  if (!content->has_value()) {
    return BundleData{.hash = fetch.hash, .content = "", .error = "no such bundle"};
  }
  return BundleData{.hash = fetch.hash, .content = std::move(**content), .error = ""};
}

}  // namespace graphene
