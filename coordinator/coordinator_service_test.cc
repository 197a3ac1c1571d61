// The standalone coordinator over a real SQLite store: a raw DEALER plays the
// client (Submit, Watch, FetchResults, StatusRequest, FetchBundle) and real
// Agents on FakeExecutors do the work, all over inproc:// in one process.
// Timeouts are upper bounds that fail a test, never what a test asserts.
#include "coordinator/coordinator_service.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent/agent.h"
#include "agent/fake_executor.h"
#include "base/test_util.h"
#include "bundle/bundle.h"
#include "bundle/bundle_cache.h"
#include "coordinator/campaign_plan.h"
#include "schema/database.h"
#include "schema/names.h"
#include "store/store.h"

namespace graphene {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

std::string NewEndpoint() {
  static std::atomic<int> counter{0};
  return fmt::format("inproc://coordinator-service-test-{}", counter++);
}

// A CoordinatorService serving on its own thread until Stop().
class ServiceThread {
 public:
  ServiceThread(zmq::context_t& context, const std::string& endpoint, const std::string& db_path) {
    CoordinatorServiceOptions options;
    options.coordinator.endpoint = endpoint;
    options.coordinator.heartbeat_interval = milliseconds{50};
    options.db_path = db_path;
    Result<std::unique_ptr<CoordinatorService>> started =
        CoordinatorService::Start(context, std::move(options));
    EXPECT_TRUE(started.ok()) << started.status().message();
    if (!started.ok()) return;
    service_ = std::move(started).value();
    thread_ = std::thread([this] { status_ = service_->Run(); });
  }
  ~ServiceThread() { Stop(); }

  bool started() const { return service_ != nullptr; }
  Status Stop() {
    if (service_) service_->RequestStop();
    if (thread_.joinable()) thread_.join();
    return status_;
  }

 private:
  std::unique_ptr<CoordinatorService> service_;
  Status status_;
  std::thread thread_;
};

// A client: one DEALER, one request at a time.
class Client {
 public:
  Client(zmq::context_t& context, const std::string& endpoint)
      : socket_(context, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.connect(endpoint);
  }

  // Sends `request` and returns the answer, which must be a T; T{} after
  // failing the test.
  template <typename T>
  T Ask(const Message& request, seconds limit = seconds{20}) {
    socket_.send(zmq::buffer(Encode(request)));
    const Clock::time_point deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
      if (zmq_poll(&item, 1, 100) <= 0) continue;
      zmq::message_t frame;
      if (!socket_.recv(frame)) continue;
      Result<Message> message = Decode(frame.to_string_view());
      if (!message.ok()) {
        ADD_FAILURE() << message.status().message();
        return T{};
      }
      if (std::holds_alternative<Heartbeat>(*message)) continue;
      if (T* typed = std::get_if<T>(&*message)) return std::move(*typed);
      if (const Refused* refused = std::get_if<Refused>(&*message)) {
        ADD_FAILURE() << "refused: " << refused->reason;
      } else {
        ADD_FAILURE() << "got " << MessageName(*message);
      }
      return T{};
    }
    ADD_FAILURE() << "no answer to " << MessageName(request) << " in time";
    return T{};
  }

  // Watches `campaign` until its status is `status`; false after `limit`.
  bool WaitForStatus(uint64_t campaign, std::string_view status, seconds limit = seconds{30}) {
    const Clock::time_point deadline = Clock::now() + limit;
    while (Clock::now() < deadline && !::testing::Test::HasFailure()) {
      if (Ask<CampaignState>(Watch{.campaign = campaign, .details = false}).status == status) {
        return true;
      }
      std::this_thread::sleep_for(milliseconds{10});
    }
    return false;
  }

 private:
  zmq::socket_t socket_;
};

// An Agent on a FakeExecutor with a BundleCache, serving on its own thread.
class FarmAgent {
 public:
  FarmAgent(zmq::context_t& context, const std::string& endpoint, const std::string& cache_dir,
            std::string name = "farmhand", size_t capacity = 4) {
    Result<BundleCache> cache = BundleCache::Open(cache_dir);
    EXPECT_TRUE(cache.ok()) << cache.status().message();
    if (!cache.ok()) return;
    cache_.emplace(std::move(cache).value());
    executor_ = Value(FakeExecutor::Create({.capacity = capacity}));
    if (!executor_) return;
    AgentOptions options;
    options.endpoint = endpoint;
    options.name = std::move(name);
    options.heartbeat_interval = milliseconds{50};
    options.bundles = &*cache_;
    agent_ = Value(Agent::Create(context, std::move(options), *executor_));
    if (agent_) thread_ = std::thread([this] { status_ = agent_->Run(); });
  }
  ~FarmAgent() { Stop(); }

  Status Stop() {
    if (agent_) agent_->RequestStop(true);
    if (thread_.joinable()) thread_.join();
    return status_;
  }
  // Jobs its executor ran; safe at any time.
  uint64_t submitted() const { return executor_ ? executor_->submitted() : 0; }
  // Only after Stop().
  const BundleCache& cache() const { return *cache_; }

 private:
  std::optional<BundleCache> cache_;
  std::unique_ptr<FakeExecutor> executor_;
  std::unique_ptr<Agent> agent_;
  Status status_;
  std::thread thread_;
};

// A temporary folder with a database, a test folder to bundle and a place
// for the agents' cache; and a context for all sockets.
struct Farm {
  Farm() {
    folder.Write("mod.py", "def fn0(x):\n    pass\n\ndef fn1(x):\n    pass\n");
    folder.Write("pkg/helper.py", "VALUE = 1\n");
    Result<Bundle> packed = PackBundle(folder.path(), {"."});
    EXPECT_TRUE(packed.ok()) << packed.status().message();
    if (packed.ok()) bundle = std::move(packed).value();
  }

  std::string db() const { return scratch.File("farm.db"); }
  std::string cache() const { return scratch.File("cache"); }

  TempDir folder;   // the client's code
  TempDir scratch;  // database and cache
  Bundle bundle;
  zmq::context_t context;  // after the folders: sockets close before they go
};

// Inputs alternate between the escaping one and others.
CampaignSpec Spec(size_t targets, size_t inputs, uint32_t repeat) {
  CampaignSpec spec;
  spec.command = "graphene run-all --coordinator test";
  spec.seed = 7;
  spec.options_json = R"({"repeat":3})";
  spec.root = "/client/folder";
  for (size_t t = 0; t < targets; ++t) {
    TargetInfo target;
    target.spec = fmt::format("mod.py:fn{}", t);
    target.ok = true;
    target.file = "mod.py";
    target.line = static_cast<int64_t>(1 + 3 * t);
    spec.targets.push_back(target);
  }
  for (size_t i = 0; i < inputs; ++i) {
    spec.inputs.push_back(i % 2 == 0 ? std::string(kFakeEscapeInput) : fmt::format("in{}", i));
  }
  spec.repeat = repeat;
  spec.limits.timeout_ms = 1000;
  spec.limits.grace_ms = 10;
  return spec;
}

uint64_t TotalOf(const CampaignSpec& spec) {
  return uint64_t{spec.targets.size()} * spec.inputs.size() * spec.repeat;
}

uint64_t EscapesOf(const CampaignSpec& spec) {
  uint64_t escaping = 0;
  for (const std::string& input : spec.inputs) escaping += input == kFakeEscapeInput ? 1 : 0;
  return uint64_t{spec.targets.size()} * escaping * spec.repeat;
}

Submit MakeSubmit(std::string token, CampaignSpec spec, const Bundle& bundle) {
  Submit submit;
  submit.submission = std::move(token);
  submit.campaign = std::move(spec);
  submit.bundle_hash = bundle.hash;
  submit.bundle = bundle.bytes;
  return submit;
}

// The answer to `submit`, which must be a Refused; its reason.
std::string RefusalOf(Client& client, const Submit& submit) {
  const Refused refused = client.Ask<Refused>(submit);
  EXPECT_EQ(refused.request, "submit");
  EXPECT_FALSE(refused.reason.empty());
  return refused.reason;
}

TEST(CoordinatorServiceTest, StartFailsOnABadEndpoint) {
  Farm farm;
  CoordinatorServiceOptions options;
  options.coordinator.endpoint = "nonsense://x";
  options.db_path = farm.db();
  Result<std::unique_ptr<CoordinatorService>> started =
      CoordinatorService::Start(farm.context, std::move(options));
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.status().message().find("nonsense://x"), std::string::npos);
}

TEST(CoordinatorServiceTest, SubmitCreatesOneCampaignPerTokenAndRefusesBadOnes) {
  Farm farm;
  const std::string endpoint = NewEndpoint();
  ServiceThread service(farm.context, endpoint, farm.db());
  ASSERT_TRUE(service.started());
  Client client(farm.context, endpoint);

  const Submit submit = MakeSubmit("token-a", Spec(2, 3, 2), farm.bundle);
  const Submitted first = client.Ask<Submitted>(submit);
  EXPECT_EQ(first.submission, "token-a");
  EXPECT_EQ(first.campaign, 1u);
  // A retry of the same Submit: the same campaign, not a second one.
  const Submitted again = client.Ask<Submitted>(submit);
  EXPECT_EQ(again.submission, "token-a");
  EXPECT_EQ(again.campaign, 1u);

  Submit mismatched = MakeSubmit("token-b", Spec(1, 1, 1), farm.bundle);
  mismatched.bundle_hash = BundleHash("something else");
  EXPECT_NE(RefusalOf(client, mismatched).find("hash"), std::string::npos);
  Submit corrupted = MakeSubmit("token-c", Spec(1, 1, 1), farm.bundle);
  corrupted.bundle += "x";
  RefusalOf(client, corrupted);
  RefusalOf(client, MakeSubmit("token-d", Spec(0, 1, 1), farm.bundle));  // no targets
  RefusalOf(client, MakeSubmit("token-e", Spec(1, 0, 1), farm.bundle));  // no inputs
  RefusalOf(client, MakeSubmit("token-f", Spec(1, 1, 0), farm.bundle));  // no repeats
  Submit unbundled = MakeSubmit("token-g", Spec(1, 1, 1), farm.bundle);
  unbundled.bundle.clear();
  RefusalOf(client, unbundled);
  RefusalOf(client, MakeSubmit("", Spec(1, 1, 1), farm.bundle));  // no token

  ASSERT_TRUE(service.Stop().ok());
  std::unique_ptr<Store> store = Value(Store::Open(farm.db()));
  ASSERT_TRUE(store);
  const std::vector<CampaignRecord> campaigns = Value(store->RecentCampaigns(100));
  ASSERT_EQ(campaigns.size(), 1u) << "refused or repeated submits created campaigns";
  EXPECT_EQ(campaigns[0].id, 1u);
  EXPECT_EQ(campaigns[0].submission, "token-a");
  EXPECT_EQ(campaigns[0].bundle, farm.bundle.hash);
  EXPECT_EQ(campaigns[0].status, kCampaignRunning);
  EXPECT_EQ(campaigns[0].total_jobs, 12u);
  EXPECT_EQ(campaigns[0].repeat, 2u);
  EXPECT_EQ(Value(store->CampaignInputs(1)), submit.campaign.inputs);
  EXPECT_EQ(Value(store->GetBundle(farm.bundle.hash)),
            std::optional<std::string>(farm.bundle.bytes))
      << "the bundle was stored before the client heard back";
}

TEST(CoordinatorServiceTest, WatchReportsTheSubmittedCampaign) {
  Farm farm;
  const std::string endpoint = NewEndpoint();
  ServiceThread service(farm.context, endpoint, farm.db());
  ASSERT_TRUE(service.started());
  Client client(farm.context, endpoint);

  const Refused unknown = client.Ask<Refused>(Watch{.campaign = 42, .details = false});
  EXPECT_EQ(unknown.request, "watch");

  const CampaignSpec spec = Spec(2, 3, 4);
  const uint64_t id = client.Ask<Submitted>(MakeSubmit("token", spec, farm.bundle)).campaign;
  ASSERT_EQ(id, 1u);
  const CampaignState brief = client.Ask<CampaignState>(Watch{.campaign = id, .details = false});
  EXPECT_EQ(brief.campaign, id);
  EXPECT_EQ(brief.status, kCampaignRunning);
  EXPECT_EQ(brief.done, 0u);
  EXPECT_EQ(brief.total, 24u);
  EXPECT_TRUE(brief.targets.empty()) << "details only when asked";

  const CampaignState detailed = client.Ask<CampaignState>(Watch{.campaign = id, .details = true});
  EXPECT_EQ(detailed.status, kCampaignRunning);
  EXPECT_EQ(detailed.total, TotalOf(spec));
  EXPECT_EQ(detailed.command, spec.command);
  EXPECT_EQ(detailed.seed, spec.seed);
  ASSERT_EQ(detailed.targets.size(), 2u);
  EXPECT_EQ(detailed.targets[0].spec, "mod.py:fn0");
  EXPECT_EQ(detailed.targets[1].spec, "mod.py:fn1");
  EXPECT_EQ(detailed.targets[1].line, 4);
}

TEST(CoordinatorServiceTest, AgentCompletesTheCampaignAndResultsPageThroughOnce) {
  Farm farm;
  const std::string endpoint = NewEndpoint();
  ServiceThread service(farm.context, endpoint, farm.db());
  ASSERT_TRUE(service.started());
  Client client(farm.context, endpoint);
  const CampaignSpec spec = Spec(2, 3, 2);
  const uint64_t id = client.Ask<Submitted>(MakeSubmit("token", spec, farm.bundle)).campaign;
  ASSERT_EQ(id, 1u);

  FarmAgent agent(farm.context, endpoint, farm.cache());
  ASSERT_TRUE(client.WaitForStatus(id, kCampaignDone));
  const CampaignState state = client.Ask<CampaignState>(Watch{.campaign = id, .details = false});
  EXPECT_EQ(state.done, TotalOf(spec));
  EXPECT_EQ(state.total, TotalOf(spec));
  EXPECT_EQ(state.escapes, EscapesOf(spec));

  // Pages of 5 out of 12: 5, 5, then the last 2 with `end`.
  std::map<uint64_t, StoredExecution> fetched;
  uint64_t next = 0;
  size_t pages = 0;
  while (!::testing::Test::HasFailure()) {
    ASSERT_LT(pages++, 10u) << "the pages never end";
    const ResultsPage page =
        client.Ask<ResultsPage>(FetchResults{.campaign = id, .first_index = next, .limit = 5});
    EXPECT_EQ(page.campaign, id);
    EXPECT_EQ(page.first_index, next);
    EXPECT_LE(page.executions.size(), 5u);
    for (const StoredExecution& execution : page.executions) {
      EXPECT_GE(execution.job_index, next);
      EXPECT_TRUE(fetched.emplace(execution.job_index, execution).second)
          << "job " << execution.job_index << " fetched twice";
    }
    if (page.end) break;
    EXPECT_GT(page.next_index, next) << "a page that is not the end moves on";
    next = page.next_index;
  }
  EXPECT_EQ(pages, 3u);
  ASSERT_EQ(fetched.size(), TotalOf(spec));
  CampaignPlan plan;
  plan.campaign = id;
  for (const TargetInfo& target : spec.targets) plan.targets.push_back(target.spec);
  plan.inputs = spec.inputs;
  plan.repeat = spec.repeat;
  for (uint64_t index = 0; index < TotalOf(spec); ++index) {
    ASSERT_TRUE(fetched.contains(index)) << index;
    const StoredExecution& execution = fetched.at(index);
    const Job job = plan.JobAt(index);
    EXPECT_EQ(execution.target, job.target) << index;
    EXPECT_EQ(execution.input, job.input) << index;
    EXPECT_EQ(execution.repeat, job.repeat) << index;
    EXPECT_EQ(execution.result.status, kStatusOk) << index;
    EXPECT_EQ(execution.result.agent, "farmhand") << index;
    EXPECT_EQ(execution.result.escape_detected, job.input == kFakeEscapeInput) << index;
  }
  // Past the end: an empty last page.
  const ResultsPage past =
      client.Ask<ResultsPage>(FetchResults{.campaign = id, .first_index = 100, .limit = 5});
  EXPECT_TRUE(past.executions.empty());
  EXPECT_TRUE(past.end);
  EXPECT_EQ(past.next_index, 100u);

  ASSERT_TRUE(agent.Stop().ok());
  EXPECT_EQ(agent.submitted(), TotalOf(spec));
  // The agent got the code through FetchBundle and unpacked it in its cache.
  EXPECT_TRUE(agent.cache().Has(farm.bundle.hash));
  EXPECT_TRUE(std::filesystem::is_regular_file(
      std::filesystem::path(agent.cache().PathOf(farm.bundle.hash)) / "pkg" / "helper.py"));
  ASSERT_TRUE(service.Stop().ok());
  std::unique_ptr<Store> store = Value(Store::Open(farm.db()));
  ASSERT_TRUE(store);
  EXPECT_EQ(Value(store->GetCampaign(id)).status, kCampaignDone);
  EXPECT_EQ(Value(store->CountResults(id)).results, TotalOf(spec));
}

// Jobs [0, total) of the campaign `spec` became, as the coordinator plans them.
CampaignPlan PlanFor(uint64_t id, const CampaignSpec& spec) {
  CampaignPlan plan;
  plan.campaign = id;
  for (const TargetInfo& target : spec.targets) plan.targets.push_back(target.spec);
  plan.inputs = spec.inputs;
  plan.repeat = spec.repeat;
  return plan;
}

TEST(CoordinatorServiceTest, RestartedServiceResumesSubmittedCampaignsWhereTheyStopped) {
  Farm farm;
  const CampaignSpec spec = Spec(2, 4, 2);
  const uint64_t total = TotalOf(spec);
  uint64_t id = 0;
  {
    const std::string endpoint = NewEndpoint();
    ServiceThread service(farm.context, endpoint, farm.db());
    ASSERT_TRUE(service.started());
    Client client(farm.context, endpoint);
    id = client.Ask<Submitted>(MakeSubmit("token", spec, farm.bundle)).campaign;
    ASSERT_EQ(id, 1u);
    ASSERT_TRUE(service.Stop().ok());
  }
  // Some results were stored before the restart (as if an agent had sent them).
  const std::set<uint64_t> stored_before = {0, 1, 2, 7, total - 1};
  uint64_t escapes_before = 0;
  {
    std::unique_ptr<Store> store = Value(Store::Open(farm.db()));
    ASSERT_TRUE(store);
    EXPECT_EQ(Value(store->GetCampaign(id)).status, kCampaignRunning);
    const CampaignPlan plan = PlanFor(id, spec);
    std::vector<std::pair<Job, ExecutionResult>> batch;
    for (uint64_t index : stored_before) {
      ExecutionResult result;
      result.campaign = id;
      result.index = index;
      result.status = std::string(kStatusOk);
      result.escape_detected = plan.JobAt(index).input == kFakeEscapeInput;
      result.agent = "before";
      escapes_before += result.escape_detected ? 1 : 0;
      batch.emplace_back(plan.JobAt(index), result);
    }
    ASSERT_EQ(Value(store->RecordResults(batch)), stored_before.size());
  }

  const std::string endpoint = NewEndpoint();
  ServiceThread service(farm.context, endpoint, farm.db());
  ASSERT_TRUE(service.started());
  Client client(farm.context, endpoint);
  const CampaignState resumed = client.Ask<CampaignState>(Watch{.campaign = id, .details = true});
  EXPECT_EQ(resumed.status, kCampaignRunning);
  EXPECT_EQ(resumed.done, stored_before.size());
  EXPECT_EQ(resumed.total, total);
  EXPECT_EQ(resumed.escapes, escapes_before);
  EXPECT_EQ(resumed.targets.size(), spec.targets.size());
  // The same Submit again still names the same campaign.
  EXPECT_EQ(client.Ask<Submitted>(MakeSubmit("token", spec, farm.bundle)).campaign, id);

  FarmAgent agent(farm.context, endpoint, farm.cache());
  ASSERT_TRUE(client.WaitForStatus(id, kCampaignDone));
  const CampaignState done = client.Ask<CampaignState>(Watch{.campaign = id, .details = false});
  EXPECT_EQ(done.done, total);
  EXPECT_EQ(done.escapes, EscapesOf(spec));
  ASSERT_TRUE(agent.Stop().ok());
  EXPECT_EQ(agent.submitted(), total - stored_before.size()) << "only the missing jobs ran";
  ASSERT_TRUE(service.Stop().ok());

  std::unique_ptr<Store> store = Value(Store::Open(farm.db()));
  ASSERT_TRUE(store);
  EXPECT_EQ(Value(store->CountResults(id)).results, total);
  EXPECT_EQ(Value(store->CountResults(id)).escapes, EscapesOf(spec));
  EXPECT_TRUE(Value(store->MissingJobs(id, total)).empty());
  EXPECT_EQ(Value(store->RecentCampaigns(10)).size(), 1u);
}

TEST(CoordinatorServiceTest, RestartBeforeAnyAgentLosesNothing) {
  Farm farm;
  const CampaignSpec spec = Spec(1, 5, 3);
  uint64_t id = 0;
  {
    const std::string endpoint = NewEndpoint();
    ServiceThread service(farm.context, endpoint, farm.db());
    ASSERT_TRUE(service.started());
    Client client(farm.context, endpoint);
    id = client.Ask<Submitted>(MakeSubmit("token", spec, farm.bundle)).campaign;
    ASSERT_TRUE(service.Stop().ok());
  }
  const std::string endpoint = NewEndpoint();
  ServiceThread service(farm.context, endpoint, farm.db());
  ASSERT_TRUE(service.started());
  Client client(farm.context, endpoint);
  const CampaignState state = client.Ask<CampaignState>(Watch{.campaign = id, .details = false});
  EXPECT_EQ(state.status, kCampaignRunning);
  EXPECT_EQ(state.done, 0u);
  EXPECT_EQ(state.total, TotalOf(spec));
  FarmAgent agent(farm.context, endpoint, farm.cache());
  ASSERT_TRUE(client.WaitForStatus(id, kCampaignDone));
  ASSERT_TRUE(agent.Stop().ok());
  EXPECT_EQ(agent.submitted(), TotalOf(spec));
  ASSERT_TRUE(service.Stop().ok());
  std::unique_ptr<Store> store = Value(Store::Open(farm.db()));
  ASSERT_TRUE(store);
  EXPECT_EQ(Value(store->CountResults(id)).results, TotalOf(spec));
}

TEST(CoordinatorServiceTest, LocalCampaignsAreNotResumed) {
  Farm farm;
  const CampaignSpec local_spec = Spec(1, 4, 1);
  uint64_t local = 0;
  {
    std::unique_ptr<Store> store = Value(Store::Open(farm.db()));
    ASSERT_TRUE(store);
    CampaignRecord record;
    record.command = "graphene run-all";
    record.root = farm.folder.path();
    record.total_jobs = TotalOf(local_spec);
    local = Value(store->CreateCampaign(record, local_spec.targets, local_spec.inputs));
    ASSERT_NE(local, 0u);
    EXPECT_EQ(Value(store->GetCampaign(local)).status, kCampaignRunning);
  }
  const std::string endpoint = NewEndpoint();
  ServiceThread service(farm.context, endpoint, farm.db());
  ASSERT_TRUE(service.started());
  Client client(farm.context, endpoint);
  // Work that is the service's own, to know when the agent has been served.
  const CampaignSpec spec = Spec(1, 3, 1);
  const uint64_t id = client.Ask<Submitted>(MakeSubmit("token", spec, farm.bundle)).campaign;
  EXPECT_NE(id, local);
  FarmAgent agent(farm.context, endpoint, farm.cache());
  ASSERT_TRUE(client.WaitForStatus(id, kCampaignDone));
  // The local campaign is still visible to clients, untouched.
  const CampaignState state = client.Ask<CampaignState>(Watch{.campaign = local, .details = false});
  EXPECT_EQ(state.status, kCampaignRunning);
  EXPECT_EQ(state.done, 0u);
  ASSERT_TRUE(agent.Stop().ok());
  EXPECT_EQ(agent.submitted(), TotalOf(spec)) << "the agent ran jobs of the local campaign";
  ASSERT_TRUE(service.Stop().ok());
  std::unique_ptr<Store> store = Value(Store::Open(farm.db()));
  ASSERT_TRUE(store);
  EXPECT_EQ(Value(store->CountResults(local)).results, 0u);
  EXPECT_EQ(Value(store->GetCampaign(local)).status, kCampaignRunning);
}

TEST(CoordinatorServiceTest, FetchBundleServesStoredBundlesOnly) {
  Farm farm;
  const std::string endpoint = NewEndpoint();
  ServiceThread service(farm.context, endpoint, farm.db());
  ASSERT_TRUE(service.started());
  Client client(farm.context, endpoint);
  const std::string unknown = BundleHash("not stored");
  BundleData missing = client.Ask<BundleData>(FetchBundle{.hash = farm.bundle.hash});
  EXPECT_EQ(missing.hash, farm.bundle.hash);
  EXPECT_TRUE(missing.content.empty());
  EXPECT_FALSE(missing.error.empty()) << "not submitted yet";

  ASSERT_EQ(client.Ask<Submitted>(MakeSubmit("token", Spec(1, 1, 1), farm.bundle)).campaign, 1u);
  const BundleData known = client.Ask<BundleData>(FetchBundle{.hash = farm.bundle.hash});
  EXPECT_EQ(known.hash, farm.bundle.hash);
  EXPECT_TRUE(known.error.empty()) << known.error;
  EXPECT_EQ(known.content, farm.bundle.bytes);
  EXPECT_EQ(BundleHash(known.content), farm.bundle.hash);

  missing = client.Ask<BundleData>(FetchBundle{.hash = unknown});
  EXPECT_EQ(missing.hash, unknown);
  EXPECT_TRUE(missing.content.empty());
  EXPECT_FALSE(missing.error.empty());
}

TEST(CoordinatorServiceTest, StatusListsTheAgentsAndTheCampaigns) {
  Farm farm;
  const std::string endpoint = NewEndpoint();
  ServiceThread service(farm.context, endpoint, farm.db());
  ASSERT_TRUE(service.started());
  Client client(farm.context, endpoint);
  StatusReply empty = client.Ask<StatusReply>(StatusRequest{});
  EXPECT_TRUE(empty.agents.empty());
  EXPECT_TRUE(empty.campaigns.empty());

  const CampaignSpec spec = Spec(2, 2, 1);
  const uint64_t id = client.Ask<Submitted>(MakeSubmit("token", spec, farm.bundle)).campaign;
  FarmAgent agent(farm.context, endpoint, farm.cache(), "status-agent", 3);
  ASSERT_TRUE(client.WaitForStatus(id, kCampaignDone));
  StatusReply status;
  const Clock::time_point deadline = Clock::now() + seconds{20};
  while (status.agents.empty() && Clock::now() < deadline && !HasFailure()) {
    status = client.Ask<StatusReply>(StatusRequest{});
  }
  ASSERT_EQ(status.agents.size(), 1u);
  EXPECT_EQ(status.agents[0].name, "status-agent");
  EXPECT_EQ(status.agents[0].slots, 3u);
  EXPECT_EQ(status.agents[0].leased, 0u) << "the campaign is done";
  ASSERT_EQ(status.campaigns.size(), 1u);
  EXPECT_EQ(status.campaigns[0].state.campaign, id);
  EXPECT_EQ(status.campaigns[0].state.status, kCampaignDone);
  EXPECT_EQ(status.campaigns[0].state.done, TotalOf(spec));
  EXPECT_EQ(status.campaigns[0].state.total, TotalOf(spec));
  EXPECT_EQ(status.campaigns[0].command, spec.command);
  EXPECT_FALSE(status.campaigns[0].created_at.empty());

  // A second campaign, while nothing can run it, is listed first, running.
  ASSERT_TRUE(agent.Stop().ok());
  const uint64_t second = client.Ask<Submitted>(MakeSubmit("token-2", spec, farm.bundle)).campaign;
  status = client.Ask<StatusReply>(StatusRequest{.recent_campaigns = 1});
  ASSERT_EQ(status.campaigns.size(), 2u) << "the running one, then one finished one";
  EXPECT_EQ(status.campaigns[0].state.campaign, second);
  EXPECT_EQ(status.campaigns[0].state.status, kCampaignRunning);
  EXPECT_EQ(status.campaigns[0].state.done, 0u);
  EXPECT_EQ(status.campaigns[1].state.campaign, id);
}

TEST(CoordinatorServiceTest, ResumedCampaignWithEveryResultStoredIsMarkedDone) {
  Farm farm;
  const CampaignSpec spec = Spec(1, 2, 2);
  uint64_t id = 0;
  {
    const std::string endpoint = NewEndpoint();
    ServiceThread service(farm.context, endpoint, farm.db());
    ASSERT_TRUE(service.started());
    Client client(farm.context, endpoint);
    id = client.Ask<Submitted>(MakeSubmit("token", spec, farm.bundle)).campaign;
    ASSERT_TRUE(service.Stop().ok());
  }
  {
    // Every result was stored, but the coordinator stopped before it could
    // mark the campaign done.
    std::unique_ptr<Store> store = Value(Store::Open(farm.db()));
    ASSERT_TRUE(store);
    const CampaignPlan plan = PlanFor(id, spec);
    std::vector<std::pair<Job, ExecutionResult>> batch;
    for (uint64_t index = 0; index < plan.TotalJobs(); ++index) {
      ExecutionResult result;
      result.status = std::string(kStatusOk);
      batch.emplace_back(plan.JobAt(index), result);
    }
    ASSERT_EQ(Value(store->RecordResults(batch)), TotalOf(spec));
  }
  const std::string endpoint = NewEndpoint();
  ServiceThread service(farm.context, endpoint, farm.db());
  ASSERT_TRUE(service.started());
  Client client(farm.context, endpoint);
  EXPECT_TRUE(client.WaitForStatus(id, kCampaignDone)) << "no agent is needed to finish it";
}

TEST(CoordinatorServiceTest, StatusListsRunningCampaignsBesidesTheRecentFinishedOnes) {
  Farm farm;
  const std::string endpoint = NewEndpoint();
  ServiceThread service(farm.context, endpoint, farm.db());
  ASSERT_TRUE(service.started());
  Client client(farm.context, endpoint);
  // A submitted campaign that runs (no agent), then two newer finished ones.
  const uint64_t running =
      client.Ask<Submitted>(MakeSubmit("token", Spec(1, 1, 1), farm.bundle)).campaign;
  {
    std::unique_ptr<Store> store = Value(Store::Open(farm.db()));
    ASSERT_TRUE(store);
    for (int i = 0; i < 2; ++i) {
      CampaignRecord record;
      record.command = "graphene analyze";
      record.total_jobs = 0;
      const uint64_t id = Value(store->CreateCampaign(record));
      ASSERT_TRUE(store->FinishCampaign(id, kCampaignDone).ok());
    }
  }
  // StatusRequest.recent_campaigns counts finished campaigns (messages.h,
  // and `graphene status --recent`); running ones are always listed first.
  const StatusReply one = client.Ask<StatusReply>(StatusRequest{.recent_campaigns = 1});
  ASSERT_EQ(one.campaigns.size(), 2u);
  EXPECT_EQ(one.campaigns[0].state.campaign, running);
  EXPECT_EQ(one.campaigns[0].state.status, kCampaignRunning);
  EXPECT_EQ(one.campaigns[1].state.campaign, running + 2) << "the newest finished one";
  const StatusReply none = client.Ask<StatusReply>(StatusRequest{.recent_campaigns = 0});
  ASSERT_EQ(none.campaigns.size(), 1u);
  EXPECT_EQ(none.campaigns[0].state.campaign, running);
}

}  // namespace
}  // namespace graphene
