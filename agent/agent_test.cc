// The agent against a hand-driven ROUTER standing in for the coordinator, so
// each test controls exactly what the agent is sent and sees every message
// it sends back. Timeouts are upper bounds that fail a test.
#include "agent/agent.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <zmq_addon.hpp>

#include "agent/fake_executor.h"
#include "bundle/bundle.h"
#include "bundle/bundle_cache.h"
#include "base/test_util.h"
#include "schema/names.h"

namespace graphene {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

std::string NewEndpoint() {
  static std::atomic<int> counter{0};
  return fmt::format("inproc://agent-test-{}", counter++);
}

Job MakeJob(uint64_t index, std::string input = "in") {
  return Job{.campaign = 1, .index = index, .target = "m:f", .root = "", .input = std::move(input)};
}

// A ROUTER playing the coordinator.
class TestCoordinator {
 public:
  explicit TestCoordinator(zmq::context_t& context) : socket_(context, zmq::socket_type::router) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind(endpoint);
  }

  // The next message, skipping heartbeats unless `want_heartbeats`; fails
  // the test if nothing comes within `limit`.
  Message Next(bool want_heartbeats = false, seconds limit = seconds{20}) {
    const Clock::time_point deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
      if (zmq_poll(&item, 1, 100) <= 0) continue;
      std::vector<zmq::message_t> frames;
      if (!zmq::recv_multipart(socket_, std::back_inserter(frames))) continue;
      EXPECT_EQ(frames.size(), 2u);
      agent_id_ = frames[0].to_string();
      Result<Message> message = Decode(frames[1].to_string_view());
      EXPECT_TRUE(message.ok()) << message.status().message();
      if (!message.ok()) continue;
      if (!want_heartbeats && std::holds_alternative<Heartbeat>(*message)) continue;
      return std::move(message).value();
    }
    ADD_FAILURE() << "the agent sent nothing in time";
    return Bye{.reason = "test timeout"};
  }

  template <typename T>
  T Expect() {
    Message message = Next();
    EXPECT_TRUE(std::holds_alternative<T>(message)) << "got " << MessageName(message);
    if (T* typed = std::get_if<T>(&message)) return *typed;
    return T{};
  }

  void Send(const Message& message) { SendBytes(Encode(message)); }
  void SendBytes(const std::string& bytes) {
    socket_.send(zmq::buffer(agent_id_), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(bytes));
  }
  void SendTwoFrames() {
    socket_.send(zmq::buffer(agent_id_), zmq::send_flags::sndmore);
    socket_.send(zmq::str_buffer("a"), zmq::send_flags::sndmore);
    socket_.send(zmq::str_buffer("b"));
  }

  // Collects results until `count` have come, answering nothing. Ready
  // credits seen meanwhile are added to `credit`.
  std::map<uint64_t, ExecutionResult> Results(size_t count, uint64_t* credit = nullptr) {
    std::map<uint64_t, ExecutionResult> results;
    while (results.size() < count && !::testing::Test::HasFailure()) {
      Message message = Next();
      if (Ready* ready = std::get_if<Ready>(&message); ready && credit) *credit += ready->credit;
      if (ResultBatch* batch = std::get_if<ResultBatch>(&message)) {
        for (ExecutionResult& result : batch->results) {
          EXPECT_TRUE(results.emplace(result.index, result).second) << "twice: " << result.index;
        }
      }
    }
    return results;
  }

  std::string endpoint = NewEndpoint();

 private:
  zmq::socket_t socket_;
  std::string agent_id_;
};

// An Agent on a FakeExecutor, serving on its own thread until Stop().
class AgentThread {
 public:
  AgentThread(zmq::context_t& context, AgentOptions options, FakeExecutorOptions fake = {}) {
    Result<std::unique_ptr<FakeExecutor>> executor = FakeExecutor::Create(fake);
    EXPECT_TRUE(executor.ok()) << executor.status().message();
    executor_ = std::move(executor).value();
    Start(context, std::move(options), *executor_);
  }
  AgentThread(zmq::context_t& context, AgentOptions options, Executor& executor) {
    Start(context, std::move(options), executor);
  }
  ~AgentThread() { Stop(); }

  Status Stop() {
    agent_->RequestStop();
    if (thread_.joinable()) thread_.join();
    return status_;
  }

 private:
  void Start(zmq::context_t& context, AgentOptions options, Executor& executor) {
    Result<std::unique_ptr<Agent>> agent = Agent::Create(context, std::move(options), executor);
    EXPECT_TRUE(agent.ok()) << agent.status().message();
    agent_ = std::move(agent).value();
    thread_ = std::thread([this] { status_ = agent_->Run(); });
  }

  std::unique_ptr<FakeExecutor> executor_;
  std::unique_ptr<Agent> agent_;
  Status status_;
  std::thread thread_;
};

AgentOptions Options(const TestCoordinator& coordinator) {
  return AgentOptions{.endpoint = coordinator.endpoint,
                      .name = "tester",
                      .heartbeat_interval = milliseconds{50},
                      .heartbeat_timeout = seconds{10}};
}

TEST(AgentTest, DefaultNameIsHostColonPid) {
  const std::string name = DefaultAgentName();
  EXPECT_NE(name.find(':'), std::string::npos);
  EXPECT_TRUE(name.ends_with(fmt::format(":{}", getpid()))) << name;
}

TEST(AgentTest, SaysHelloThenAsksForEverySlot) {
  zmq::context_t context;
  TestCoordinator coordinator(context);
  AgentThread agent(context, Options(coordinator), {.capacity = 5});
  const Hello hello = coordinator.Expect<Hello>();
  EXPECT_EQ(hello.agent, "tester");
  EXPECT_EQ(hello.slots, 5u);
  EXPECT_EQ(coordinator.Expect<Ready>().credit, 5u);
  EXPECT_TRUE(agent.Stop().ok());
  EXPECT_EQ(coordinator.Expect<Bye>().reason, "stopping");
}

class AgentRoundsTest : public ::testing::TestWithParam<bool> {};

// Rounds of "fill the credit, get every result back": each job yields one
// result, and the credit asked for never exceeds the free slots.
TEST_P(AgentRoundsTest, EveryJobYieldsOneResultWithinCredit) {
  zmq::context_t context;
  TestCoordinator coordinator(context);
  const size_t capacity = 6;
  AgentThread agent(context, Options(coordinator),
                    {.capacity = capacity, .use_ready_fd = GetParam()});
  coordinator.Expect<Hello>();
  uint64_t credit = coordinator.Expect<Ready>().credit;
  uint64_t next_index = 0;
  for (int round = 0; round < 200 && !HasFailure(); ++round) {
    ASSERT_LE(credit, capacity);
    const uint64_t first = next_index;
    JobBatch batch;
    // Vary the batch size to exercise partial credit.
    const uint64_t count = 1 + round % credit;
    for (uint64_t i = 0; i < count; ++i) {
      batch.jobs.push_back(MakeJob(next_index, next_index % 3 == 0 ? "escape" : "x"));
      ++next_index;
    }
    credit -= count;
    coordinator.Send(batch);
    uint64_t more_credit = 0;
    const auto results = coordinator.Results(count, &more_credit);
    credit += more_credit;
    for (uint64_t index = first; index < next_index; ++index) {
      ASSERT_TRUE(results.contains(index)) << index;
      EXPECT_EQ(results.at(index).agent, "tester");
      EXPECT_EQ(results.at(index).status, kStatusOk);
      EXPECT_EQ(results.at(index).escape_detected, index % 3 == 0);
    }
    // The freed slots are asked for again, possibly after the results.
    while (credit < capacity && !HasFailure()) credit += coordinator.Expect<Ready>().credit;
    ASSERT_EQ(credit, capacity);
  }
  EXPECT_TRUE(agent.Stop().ok());
}

INSTANTIATE_TEST_SUITE_P(WithAndWithoutReadyFd, AgentRoundsTest, ::testing::Bool());

TEST(AgentTest, JobsBeyondCapacityWaitForSlotsAndAllComeBack) {
  zmq::context_t context;
  TestCoordinator coordinator(context);
  AgentThread agent(context, Options(coordinator), {.capacity = 2, .delay = milliseconds{5}});
  coordinator.Expect<Hello>();
  coordinator.Expect<Ready>();
  JobBatch batch;
  for (uint64_t index = 0; index < 20; ++index) batch.jobs.push_back(MakeJob(index));
  coordinator.Send(batch);
  EXPECT_EQ(coordinator.Results(20).size(), 20u);
  // FakeExecutor refuses a submit beyond capacity, which would end Run().
  EXPECT_TRUE(agent.Stop().ok());
}

TEST(AgentTest, ByeFromTheCoordinatorStartsANewSession) {
  zmq::context_t context;
  TestCoordinator coordinator(context);
  AgentThread agent(context, Options(coordinator), {.capacity = 3});
  coordinator.Expect<Hello>();
  EXPECT_EQ(coordinator.Expect<Ready>().credit, 3u);
  coordinator.Send(Bye{.reason = "unknown agent: say hello"});
  coordinator.Expect<Hello>();
  // The credit asked for in the old session is void, so all of it again.
  EXPECT_EQ(coordinator.Expect<Ready>().credit, 3u);
}

TEST(AgentTest, SaysHelloAgainWhenTheCoordinatorSpeaksAfterSilence) {
  zmq::context_t context;
  TestCoordinator coordinator(context);
  AgentOptions options = Options(coordinator);
  options.heartbeat_timeout = milliseconds{200};
  AgentThread agent(context, options, {.capacity = 3});
  coordinator.Expect<Hello>();
  coordinator.Expect<Ready>();
  // Stay silent well past the agent's timeout, draining its heartbeats.
  const Clock::time_point quiet_until = Clock::now() + 3 * options.heartbeat_timeout;
  while (Clock::now() < quiet_until && !HasFailure()) {
    EXPECT_TRUE(std::holds_alternative<Heartbeat>(coordinator.Next(true)));
  }
  coordinator.Send(Heartbeat{});
  coordinator.Expect<Hello>();
  EXPECT_EQ(coordinator.Expect<Ready>().credit, 3u);
}

TEST(AgentTest, SendsHeartbeatsWhenIdle) {
  zmq::context_t context;
  TestCoordinator coordinator(context);
  AgentThread agent(context, Options(coordinator));
  coordinator.Expect<Hello>();
  coordinator.Expect<Ready>();
  EXPECT_TRUE(std::holds_alternative<Heartbeat>(coordinator.Next(true)));
}

TEST(AgentTest, MalformedMessagesAreDroppedAndServiceContinues) {
  zmq::context_t context;
  TestCoordinator coordinator(context);
  AgentThread agent(context, Options(coordinator), {.capacity = 2});
  coordinator.Expect<Hello>();
  coordinator.Expect<Ready>();
  coordinator.SendBytes("garbage");
  coordinator.SendBytes("");
  coordinator.SendTwoFrames();
  coordinator.Send(Ready{.credit = 9});  // not a coordinator's message
  coordinator.Send(JobBatch{.jobs = {MakeJob(41), MakeJob(42)}});
  const auto results = coordinator.Results(2);
  EXPECT_TRUE(results.contains(41));
  EXPECT_TRUE(results.contains(42));
  EXPECT_TRUE(agent.Stop().ok());
}

// An executor whose Submit always fails, as a broken sandbox would.
class BrokenExecutor : public Executor {
 public:
  size_t capacity() const override { return 1; }
  size_t in_flight() const override { return 0; }
  Status Submit(const Job&) override { return Status::Error("zygote died"); }
  int ready_fd() const override { return -1; }
  std::vector<ExecutionResult> Collect() override { return {}; }
};

TEST(AgentTest, ExecutorFailureEndsRunWithByeAndTheReason) {
  zmq::context_t context;
  TestCoordinator coordinator(context);
  BrokenExecutor executor;
  AgentThread agent(context, Options(coordinator), executor);
  coordinator.Expect<Hello>();
  coordinator.Expect<Ready>();
  coordinator.Send(JobBatch{.jobs = {MakeJob(0)}});
  const Bye bye = coordinator.Expect<Bye>();
  EXPECT_NE(bye.reason.find("zygote died"), std::string::npos) << bye.reason;
  const Status status = agent.Stop();
  EXPECT_NE(status.message().find("zygote died"), std::string::npos) << status.message();
}

TEST(AgentTest, ConnectFailureIsAnError) {
  zmq::context_t context;
  Result<std::unique_ptr<FakeExecutor>> executor = FakeExecutor::Create();
  ASSERT_TRUE(executor.ok());
  AgentOptions options;
  options.endpoint = "bogus";
  Result<std::unique_ptr<Agent>> agent = Agent::Create(context, options, **executor);
  ASSERT_FALSE(agent.ok());
  EXPECT_NE(agent.status().message().find("bogus"), std::string::npos);
}

// ---- Bundles and draining ----

// A FakeExecutor that also keeps every job it was given, so a test can see
// what the agent submitted (e.g. the root it rewrote). Safe to read while the
// agent runs.
class RecordingExecutor : public Executor {
 public:
  explicit RecordingExecutor(FakeExecutorOptions options = {}) {
    Result<std::unique_ptr<FakeExecutor>> fake = FakeExecutor::Create(options);
    EXPECT_TRUE(fake.ok()) << fake.status().message();
    fake_ = std::move(fake).value();
  }

  size_t capacity() const override { return fake_->capacity(); }
  size_t in_flight() const override { return fake_->in_flight(); }
  Status Submit(const Job& job) override {
    {
      std::lock_guard lock(mutex_);
      jobs_.push_back(job);
    }
    return fake_->Submit(job);
  }
  int ready_fd() const override { return fake_->ready_fd(); }
  std::vector<ExecutionResult> Collect() override { return fake_->Collect(); }

  std::vector<Job> jobs() const {
    std::lock_guard lock(mutex_);
    return jobs_;
  }
  uint64_t submitted() const { return fake_->submitted(); }

 private:
  std::unique_ptr<FakeExecutor> fake_;
  mutable std::mutex mutex_;
  std::vector<Job> jobs_;
};

Job BundleJob(uint64_t index, const std::string& bundle) {
  Job job = MakeJob(index, index % 2 == 0 ? "escape" : "in");
  job.root = "/the/client/folder";
  job.bundle = bundle;
  return job;
}

// What the agent sent until `count` results came: the results by index, and
// how many FetchBundles for each hash.
struct Traffic {
  std::map<uint64_t, ExecutionResult> results;
  std::map<std::string, int> fetches;
};

Traffic ResultsAndFetches(TestCoordinator& coordinator, size_t count) {
  Traffic traffic;
  while (traffic.results.size() < count && !::testing::Test::HasFailure()) {
    Message message = coordinator.Next();
    if (const FetchBundle* fetch = std::get_if<FetchBundle>(&message))
      ++traffic.fetches[fetch->hash];
    if (const ResultBatch* batch = std::get_if<ResultBatch>(&message)) {
      for (const ExecutionResult& result : batch->results) {
        EXPECT_TRUE(traffic.results.emplace(result.index, result).second)
            << "twice: " << result.index;
      }
    }
  }
  return traffic;
}

// The next FetchBundle the agent sends, skipping credit; fails the test on
// anything else.
FetchBundle NextFetch(TestCoordinator& coordinator) {
  while (!::testing::Test::HasFailure()) {
    Message message = coordinator.Next();
    if (std::holds_alternative<Ready>(message)) continue;
    EXPECT_TRUE(std::holds_alternative<FetchBundle>(message)) << "got " << MessageName(message);
    if (FetchBundle* fetch = std::get_if<FetchBundle>(&message)) return *fetch;
  }
  return FetchBundle{};
}

// A bundle made from a small test folder, and a cache for the agent.
struct BundleSetup {
  BundleSetup() {
    folder.Write("pkg/mod.py", "def f(x):\n    pass\n");
    Result<Bundle> packed = PackBundle(folder.path(), {"."});
    EXPECT_TRUE(packed.ok()) << packed.status().message();
    if (packed.ok()) bundle = std::move(packed).value();
    folder.Write("other.py", "X = 2\n");
    Result<Bundle> packed_other = PackBundle(folder.path(), {"other.py"});
    EXPECT_TRUE(packed_other.ok()) << packed_other.status().message();
    if (packed_other.ok()) other = std::move(packed_other).value();
    Result<BundleCache> opened = BundleCache::Open(scratch.File("cache"));
    EXPECT_TRUE(opened.ok()) << opened.status().message();
    if (opened.ok()) cache.emplace(std::move(opened).value());
  }

  AgentOptions Options(const TestCoordinator& coordinator) {
    AgentOptions options = graphene::Options(coordinator);
    options.bundles = cache ? &*cache : nullptr;
    options.bundle_retry = seconds{600};  // a second FetchBundle is never a retry
    return options;
  }

  TempDir folder;
  TempDir scratch;
  Bundle bundle;
  Bundle other;
  // Used by the agent on its thread; the test only calls PathOf and Has,
  // which look at the file system.
  std::optional<BundleCache> cache;
};

TEST(AgentBundleTest, FetchesAMissingBundleOnceAndRunsItsJobsFromTheCache) {
  BundleSetup setup;
  ASSERT_TRUE(setup.cache.has_value());
  zmq::context_t context;
  TestCoordinator coordinator(context);
  RecordingExecutor executor({.capacity = 8});
  AgentThread agent(context, setup.Options(coordinator), executor);
  coordinator.Expect<Hello>();
  EXPECT_EQ(coordinator.Expect<Ready>().credit, 8u);

  const std::string& hash = setup.bundle.hash;
  JobBatch batch;
  for (uint64_t index = 0; index < 6; ++index) batch.jobs.push_back(BundleJob(index, hash));
  coordinator.Send(batch);
  EXPECT_EQ(NextFetch(coordinator).hash, hash);
  EXPECT_TRUE(executor.jobs().empty()) << "jobs ran before their bundle arrived";
  coordinator.Send(BundleData{.hash = hash, .content = setup.bundle.bytes, .error = ""});
  Traffic traffic = ResultsAndFetches(coordinator, 6);
  EXPECT_TRUE(traffic.fetches.empty()) << "one FetchBundle serves every job of the bundle";
  for (uint64_t index = 0; index < 6; ++index) {
    ASSERT_TRUE(traffic.results.contains(index)) << index;
    EXPECT_EQ(traffic.results.at(index).status, kStatusOk);
    EXPECT_EQ(traffic.results.at(index).escape_detected, index % 2 == 0);
  }
  const std::string folder = setup.cache->PathOf(hash);
  EXPECT_TRUE(setup.cache->Has(hash));
  EXPECT_TRUE(std::filesystem::is_regular_file(folder + "/pkg/mod.py"));
  std::vector<Job> ran = executor.jobs();
  ASSERT_EQ(ran.size(), 6u);
  for (const Job& job : ran) {
    EXPECT_EQ(job.root, folder) << "job " << job.index;
    EXPECT_EQ(job.bundle, hash) << "job " << job.index;
  }

  // The next jobs of the bundle find it in the cache.
  batch.jobs.clear();
  for (uint64_t index = 6; index < 10; ++index) batch.jobs.push_back(BundleJob(index, hash));
  coordinator.Send(batch);
  traffic = ResultsAndFetches(coordinator, 4);
  EXPECT_TRUE(traffic.fetches.empty()) << "a cached bundle was fetched again";
  ran = executor.jobs();
  ASSERT_EQ(ran.size(), 10u);
  for (const Job& job : ran) EXPECT_EQ(job.root, folder) << "job " << job.index;
  EXPECT_TRUE(agent.Stop().ok());
}

TEST(AgentBundleTest, JobsWithoutABundleKeepTheirRootAndDoNotWait) {
  BundleSetup setup;
  zmq::context_t context;
  TestCoordinator coordinator(context);
  RecordingExecutor executor({.capacity = 4});
  AgentThread agent(context, setup.Options(coordinator), executor);
  coordinator.Expect<Hello>();
  coordinator.Expect<Ready>();
  Job plain = MakeJob(0);
  plain.root = "/here";
  // A bundle job waits for its bundle, never answered; the plain one runs.
  coordinator.Send(JobBatch{.jobs = {BundleJob(1, setup.bundle.hash), plain}});
  const Traffic traffic = ResultsAndFetches(coordinator, 1);
  EXPECT_TRUE(traffic.results.contains(0));
  const std::vector<Job> ran = executor.jobs();
  ASSERT_EQ(ran.size(), 1u);
  EXPECT_EQ(ran[0].root, "/here");
}

enum class BadBundle { kError, kWrongContent, kNotABundle };

class AgentBadBundleTest : public ::testing::TestWithParam<BadBundle> {};

TEST_P(AgentBadBundleTest, EveryWaitingJobGetsAnErrorNamingTheBundle) {
  BundleSetup setup;
  ASSERT_TRUE(setup.cache.has_value());
  zmq::context_t context;
  TestCoordinator coordinator(context);
  RecordingExecutor executor({.capacity = 4});
  AgentThread agent(context, setup.Options(coordinator), executor);
  coordinator.Expect<Hello>();
  coordinator.Expect<Ready>();

  const std::string& bad = setup.bundle.hash;
  const std::string& good = setup.other.hash;
  // Jobs of a bundle that cannot be had, of one that can, and of none: more
  // than the agent's capacity, so some also wait for slots.
  JobBatch batch;
  std::set<uint64_t> bad_jobs;
  for (uint64_t index = 0; index < 5; ++index) {
    batch.jobs.push_back(BundleJob(index, bad));
    bad_jobs.insert(index);
  }
  for (uint64_t index = 5; index < 8; ++index) batch.jobs.push_back(BundleJob(index, good));
  for (uint64_t index = 8; index < 10; ++index) batch.jobs.push_back(MakeJob(index));
  coordinator.Send(batch);
  std::set<std::string> asked = {NextFetch(coordinator).hash, NextFetch(coordinator).hash};
  EXPECT_EQ(asked, (std::set<std::string>{bad, good}));

  BundleData answer{.hash = bad, .content = "", .error = ""};
  switch (GetParam()) {
    case BadBundle::kError:
      answer.error = "no such bundle";
      break;
    case BadBundle::kWrongContent:
      answer.content = setup.other.bytes;  // a real bundle, but not this one
      break;
    case BadBundle::kNotABundle:
      answer.content = "definitely not msgpack";
      break;
  }
  coordinator.Send(answer);
  coordinator.Send(BundleData{.hash = good, .content = setup.other.bytes, .error = ""});
  const Traffic traffic = ResultsAndFetches(coordinator, 10);
  EXPECT_TRUE(traffic.fetches.empty());
  ASSERT_EQ(traffic.results.size(), 10u) << "a job was lost";
  for (const auto& [index, result] : traffic.results) {
    if (bad_jobs.contains(index)) {
      EXPECT_EQ(result.status, kStatusError) << index;
      EXPECT_NE(result.error.find(bad), std::string::npos) << index << ": " << result.error;
      EXPECT_EQ(result.campaign, 1u);
      EXPECT_EQ(result.agent, "tester") << index;
      if (GetParam() == BadBundle::kError) {
        EXPECT_NE(result.error.find("no such bundle"), std::string::npos) << result.error;
      }
    } else {
      EXPECT_EQ(result.status, kStatusOk) << index << ": " << result.error;
    }
  }
  EXPECT_FALSE(setup.cache->Has(bad)) << "a bad bundle was left in the cache";
  for (const Job& job : executor.jobs()) {
    EXPECT_FALSE(bad_jobs.contains(job.index)) << "job " << job.index << " ran without its bundle";
  }
  EXPECT_EQ(executor.jobs().size(), 5u);

  // A later job of the bad bundle asks for it again, and runs once it comes.
  coordinator.Send(JobBatch{.jobs = {BundleJob(10, bad)}});
  EXPECT_EQ(NextFetch(coordinator).hash, bad);
  coordinator.Send(BundleData{.hash = bad, .content = setup.bundle.bytes, .error = ""});
  const Traffic retried = ResultsAndFetches(coordinator, 1);
  ASSERT_TRUE(retried.results.contains(10));
  EXPECT_EQ(retried.results.at(10).status, kStatusOk) << retried.results.at(10).error;
  EXPECT_TRUE(agent.Stop().ok());
}

INSTANTIATE_TEST_SUITE_P(AllWays, AgentBadBundleTest,
                         ::testing::Values(BadBundle::kError, BadBundle::kWrongContent,
                                           BadBundle::kNotABundle));

TEST(AgentBundleTest, WithoutACacheBundleJobsFail) {
  zmq::context_t context;
  TestCoordinator coordinator(context);
  RecordingExecutor executor({.capacity = 2});
  AgentThread agent(context, Options(coordinator), executor);  // bundles = nullptr
  coordinator.Expect<Hello>();
  coordinator.Expect<Ready>();
  coordinator.Send(JobBatch{.jobs = {BundleJob(0, std::string(64, 'a')), MakeJob(1)}});
  const Traffic traffic = ResultsAndFetches(coordinator, 2);
  EXPECT_TRUE(traffic.fetches.empty());
  ASSERT_TRUE(traffic.results.contains(0));
  EXPECT_EQ(traffic.results.at(0).status, kStatusError);
  EXPECT_FALSE(traffic.results.at(0).error.empty());
  ASSERT_TRUE(traffic.results.contains(1));
  EXPECT_EQ(traffic.results.at(1).status, kStatusOk);
  EXPECT_EQ(executor.jobs().size(), 1u);
}

// An Agent run by hand, to stop it in different ways.
class StoppableAgent {
 public:
  StoppableAgent(zmq::context_t& context, AgentOptions options, Executor& executor) {
    Result<std::unique_ptr<Agent>> agent = Agent::Create(context, std::move(options), executor);
    EXPECT_TRUE(agent.ok()) << agent.status().message();
    agent_ = std::move(agent).value();
    thread_ = std::thread([this] {
      status_ = agent_->Run();
      returned_.store(true);
    });
  }
  ~StoppableAgent() {
    agent_->RequestStop(true);
    if (thread_.joinable()) thread_.join();
  }

  void RequestStop(bool now = false) { agent_->RequestStop(now); }
  // Whether Run() returned within `limit`; joins it if so.
  bool Returned(milliseconds limit) {
    const Clock::time_point deadline = Clock::now() + limit;
    while (!returned_.load() && Clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds{5});
    }
    if (!returned_.load()) return false;
    thread_.join();
    return true;
  }
  const Status& status() const { return status_; }

 private:
  std::unique_ptr<Agent> agent_;
  Status status_;
  std::atomic<bool> returned_{false};
  std::thread thread_;
};

// True once `condition` holds; false after `limit`.
template <typename Condition>
bool Eventually(Condition condition, milliseconds limit = milliseconds{20000}) {
  const Clock::time_point deadline = Clock::now() + limit;
  while (!condition()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds{2});
  }
  return true;
}

TEST(AgentDrainTest, FirstStopFinishesJobsInFlightThenSaysBye) {
  zmq::context_t context;
  TestCoordinator coordinator(context);
  // Two slots, jobs that take a while, and more jobs than slots.
  RecordingExecutor executor({.capacity = 2, .delay = milliseconds{500}});
  StoppableAgent agent(context, Options(coordinator), executor);
  coordinator.Expect<Hello>();
  coordinator.Expect<Ready>();
  JobBatch batch;
  for (uint64_t index = 0; index < 5; ++index) batch.jobs.push_back(MakeJob(index));
  coordinator.Send(batch);
  ASSERT_TRUE(Eventually([&] { return executor.submitted() == 2; }));
  const Clock::time_point stopped_at = Clock::now();
  agent.RequestStop();
  ASSERT_TRUE(agent.Returned(milliseconds{20000}));
  EXPECT_TRUE(agent.status().ok()) << agent.status().message();
  EXPECT_GE(Clock::now() - stopped_at, milliseconds{200}) << "it did not wait for its jobs";

  // Everything it sent after the jobs: their results, then Bye, and no
  // request for more work.
  std::set<uint64_t> results;
  while (true) {  // Next() returns a Bye when nothing comes
    Message message = coordinator.Next();
    EXPECT_FALSE(std::holds_alternative<Ready>(message)) << "a draining agent asked for work";
    if (const ResultBatch* got = std::get_if<ResultBatch>(&message)) {
      for (const ExecutionResult& result : got->results) {
        EXPECT_TRUE(results.insert(result.index).second) << result.index;
        EXPECT_EQ(result.status, kStatusOk);
      }
    }
    if (const Bye* bye = std::get_if<Bye>(&message)) {
      EXPECT_EQ(bye->reason, "stopping");
      break;
    }
  }
  EXPECT_EQ(results, (std::set<uint64_t>{0, 1})) << "the jobs in flight, and only those";
  EXPECT_EQ(executor.submitted(), 2u) << "jobs waiting for a slot are left to the coordinator";
}

class AgentStopNowTest : public ::testing::TestWithParam<int> {};

// Stopping at once, three ways: RequestStop(true), a second RequestStop(),
// and a drain that times out. Run() returns promptly although jobs are in
// flight for a long time, and the agent still says Bye.
TEST_P(AgentStopNowTest, ReturnsPromptlyWithJobsInFlight) {
  zmq::context_t context;
  TestCoordinator coordinator(context);
  RecordingExecutor executor({.capacity = 2, .delay = milliseconds{60000}});
  AgentOptions options = Options(coordinator);
  if (GetParam() == 2) options.drain_timeout = milliseconds{200};
  StoppableAgent agent(context, options, executor);
  coordinator.Expect<Hello>();
  coordinator.Expect<Ready>();
  coordinator.Send(JobBatch{.jobs = {MakeJob(0), MakeJob(1)}});
  ASSERT_TRUE(Eventually([&] { return executor.submitted() == 2; }));
  switch (GetParam()) {
    case 0:
      agent.RequestStop(true);
      break;
    case 1:
      agent.RequestStop();
      EXPECT_FALSE(agent.Returned(milliseconds{300})) << "the first stop drains";
      agent.RequestStop();
      break;
    case 2:
      agent.RequestStop();
      break;
  }
  EXPECT_TRUE(agent.Returned(milliseconds{5000})) << "Run() did not return promptly";
  EXPECT_TRUE(agent.status().ok()) << agent.status().message();
  while (true) {  // Next() returns a Bye when nothing comes
    Message message = coordinator.Next();
    EXPECT_FALSE(std::holds_alternative<ResultBatch>(message)) << "no job finished";
    if (std::holds_alternative<Bye>(message)) break;
  }
}

INSTANTIATE_TEST_SUITE_P(ThreeWays, AgentStopNowTest, ::testing::Values(0, 1, 2));

TEST(AgentDrainTest, JobsArrivingDuringADrainAreNotStarted) {
  zmq::context_t context;
  TestCoordinator coordinator(context);
  RecordingExecutor executor({.capacity = 2, .delay = milliseconds{800}});
  StoppableAgent agent(context, Options(coordinator), executor);
  coordinator.Expect<Hello>();
  EXPECT_EQ(coordinator.Expect<Ready>().credit, 2u);
  // One job in flight, one slot of credit still asked for.
  coordinator.Send(JobBatch{.jobs = {MakeJob(0)}});
  ASSERT_TRUE(Eventually([&] { return executor.submitted() == 1; }));
  agent.RequestStop();
  std::this_thread::sleep_for(milliseconds{250});  // the agent is draining by now
  // The coordinator fills the credit asked for before the stop.
  coordinator.Send(JobBatch{.jobs = {MakeJob(1)}});
  ASSERT_TRUE(agent.Returned(milliseconds{20000}));
  EXPECT_EQ(executor.submitted(), 1u)
      << "a draining agent started a job that arrived after the stop";
  std::set<uint64_t> results;
  while (true) {  // Next() returns a Bye when nothing comes
    Message message = coordinator.Next();
    if (const ResultBatch* got = std::get_if<ResultBatch>(&message)) {
      for (const ExecutionResult& result : got->results) results.insert(result.index);
    }
    if (std::holds_alternative<Bye>(message)) break;
  }
  EXPECT_EQ(results, std::set<uint64_t>{0});
}

}  // namespace
}  // namespace graphene
