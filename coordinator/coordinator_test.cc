// The coordinator with real agents on FakeExecutors, and with raw sockets
// that misbehave, all over inproc:// in one process. Timeouts here are upper
// bounds that fail a test, never what a test asserts.
#include "coordinator/coordinator.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "agent/agent.h"
#include "agent/fake_executor.h"
#include "base/overloaded.h"

namespace graphene {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::string NewEndpoint() {
  static std::atomic<int> counter{0};
  return fmt::format("inproc://coordinator-test-{}", counter++);
}

// Targets x inputs x repeat, with one input in four escaping.
CampaignPlan Plan(uint64_t campaign, size_t targets, size_t inputs, uint32_t repeat) {
  CampaignPlan plan;
  plan.campaign = campaign;
  plan.repeat = repeat;
  plan.root = "/fixtures";
  for (size_t t = 0; t < targets; ++t) plan.targets.push_back(fmt::format("mod{}:fn", t));
  for (size_t i = 0; i < inputs; ++i) {
    plan.inputs.push_back(i % 4 == 0 ? std::string(kFakeEscapeInput) : fmt::format("in{}", i));
  }
  return plan;
}

ExecutionResult FakeResult(const CampaignPlan& plan, uint64_t index, std::string agent) {
  ExecutionResult result;
  result.campaign = plan.campaign;
  result.index = index;
  result.status = "ok";
  result.escape_detected = plan.JobAt(index).input == kFakeEscapeInput;
  result.agent = std::move(agent);
  return result;
}

// Keeps every delivery. Read `deliveries` and `results` only once the
// campaign is over; while it runs, ask Delivered().
class CollectingSink : public ResultSink {
 public:
  Status Accept(std::vector<std::pair<Job, ExecutionResult>> batch) override {
    EXPECT_FALSE(batch.empty());
    std::lock_guard lock(mutex_);
    for (auto& [job, result] : batch) {
      ++deliveries[job.index];
      results[job.index] = {std::move(job), std::move(result)};
    }
    return Status::Ok();
  }

  // Whether every job in `indices` was delivered; safe while the campaign runs.
  bool Delivered(const std::set<uint64_t>& indices) {
    std::lock_guard lock(mutex_);
    return std::ranges::all_of(indices, [&](uint64_t index) { return results.contains(index); });
  }

  std::map<uint64_t, int> deliveries;
  std::map<uint64_t, std::pair<Job, ExecutionResult>> results;

 private:
  std::mutex mutex_;
};

// Every job of `plan` not in `skip` was delivered exactly once, as itself.
void ExpectEveryJobOnce(const CampaignPlan& plan, const CollectingSink& sink,
                        const std::set<uint64_t>& skip = {}) {
  EXPECT_EQ(sink.deliveries.size(), plan.TotalJobs() - skip.size());
  for (uint64_t index = 0; index < plan.TotalJobs(); ++index) {
    auto it = sink.results.find(index);
    if (skip.contains(index)) {
      EXPECT_EQ(it, sink.results.end()) << "job " << index << " was already done";
      continue;
    }
    ASSERT_NE(it, sink.results.end()) << "job " << index << " has no result";
    ASSERT_EQ(sink.deliveries.at(index), 1) << "job " << index;
    const auto& [job, result] = it->second;
    const Job expected = plan.JobAt(index);
    EXPECT_EQ(job.target, expected.target);
    EXPECT_EQ(job.input, expected.input);
    EXPECT_EQ(job.repeat, expected.repeat);
    EXPECT_EQ(result.index, index);
    EXPECT_EQ(result.campaign, plan.campaign);
    EXPECT_EQ(result.escape_detected, job.input == kFakeEscapeInput);
  }
}

// Stops `coordinator` if the test runs longer than `limit`, so that a hang
// fails the test with "interrupted" instead of blocking ctest.
class Watchdog {
 public:
  Watchdog(Coordinator& coordinator, seconds limit)
      : thread_([this, &coordinator, limit] {
          std::unique_lock lock(mutex_);
          if (!done_cv_.wait_for(lock, limit, [this] { return done_; })) coordinator.RequestStop();
        }) {}
  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    done_cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::thread thread_;
};

// An Agent on a FakeExecutor, serving on its own thread until Stop().
class AgentThread {
 public:
  AgentThread(zmq::context_t& context, const std::string& endpoint, std::string name,
              FakeExecutorOptions fake = {}, milliseconds heartbeat_interval = milliseconds{50}) {
    Result<std::unique_ptr<FakeExecutor>> executor = FakeExecutor::Create(fake);
    EXPECT_TRUE(executor.ok()) << executor.status().message();
    executor_ = std::move(executor).value();
    Result<std::unique_ptr<Agent>> agent =
        Agent::Create(context,
                      AgentOptions{.endpoint = endpoint,
                                   .name = std::move(name),
                                   .heartbeat_interval = heartbeat_interval,
                                   .heartbeat_timeout = seconds{10}},
                      *executor_);
    EXPECT_TRUE(agent.ok()) << agent.status().message();
    agent_ = std::move(agent).value();
    thread_ = std::thread([this] { status_ = agent_->Run(); });
  }
  ~AgentThread() { Stop(); }

  Status Stop() {
    agent_->RequestStop();
    if (thread_.joinable()) thread_.join();
    return status_;
  }
  // Jobs its executor ran; only after Stop().
  uint64_t submitted() const { return executor_->submitted(); }

 private:
  std::unique_ptr<FakeExecutor> executor_;
  std::unique_ptr<Agent> agent_;
  Status status_;
  std::thread thread_;
};

// A hand-driven DEALER, for peers that misbehave.
class RawPeer {
 public:
  RawPeer(zmq::context_t& context, const std::string& endpoint)
      : socket_(context, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.connect(endpoint);
  }
  void SendBytes(const std::string& bytes) { socket_.send(zmq::buffer(bytes)); }
  void Send(const Message& message) { SendBytes(Encode(message)); }
  void SendFrames(const std::vector<std::string>& frames) {
    for (size_t i = 0; i < frames.size(); ++i) {
      socket_.send(zmq::buffer(frames[i]),
                   i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
  }
  // The next message other than a Heartbeat, or a failed test after `limit`.
  Result<Message> Next(seconds limit = seconds{20}) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
      if (zmq_poll(&item, 1, 100) <= 0) continue;
      zmq::message_t frame;
      if (!socket_.recv(frame)) continue;
      Result<Message> message = Decode(frame.to_string_view());
      if (!message.ok() || !std::holds_alternative<Heartbeat>(*message)) return message;
    }
    return Status::Error("nothing received in time");
  }
  void Close() { socket_.close(); }

 private:
  zmq::socket_t socket_;
};

struct Fixture {
  explicit Fixture(CoordinatorOptions options = {}) {
    options.endpoint = endpoint;
    Result<std::unique_ptr<Coordinator>> created = Coordinator::Create(context, options);
    EXPECT_TRUE(created.ok()) << created.status().message();
    coordinator = std::move(created).value();
  }

  Status Run(const CampaignPlan& plan, CollectingSink& sink,
             std::vector<Progress>* progress = nullptr,
             const std::vector<uint64_t>& already_done = {}) {
    Watchdog watchdog(*coordinator, seconds{60});
    return coordinator->RunCampaign(
        plan, sink,
        [&](const Progress& p) {
          if (progress) progress->push_back(p);
        },
        already_done);
  }

  zmq::context_t context;
  std::string endpoint = NewEndpoint();
  std::unique_ptr<Coordinator> coordinator;
};

// True once `condition` holds; false after `limit`, which fails the caller.
template <typename Condition>
bool Eventually(Condition condition, seconds limit = seconds{20}) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds{5});
  }
  return true;
}

// Runs a campaign on its own thread. Leaving scope early (a failed ASSERT)
// stops and joins it, so a failing test fails instead of aborting.
class CampaignThread {
 public:
  CampaignThread(Fixture& fixture, const CampaignPlan& plan, CollectingSink& sink)
      : coordinator_(*fixture.coordinator),
        thread_([this, &fixture, &plan, &sink] { status_ = fixture.Run(plan, sink); }) {}
  ~CampaignThread() {
    if (!thread_.joinable()) return;
    coordinator_.RequestStop();
    thread_.join();
  }
  Status Wait() {
    thread_.join();
    return status_;
  }

 private:
  Coordinator& coordinator_;
  Status status_;
  std::thread thread_;
};

CoordinatorOptions ShortLeases() {
  CoordinatorOptions options;
  options.heartbeat_interval = milliseconds{50};
  options.heartbeat_timeout = milliseconds{400};
  return options;
}

TEST(CoordinatorTest, BindFailureIsAnError) {
  zmq::context_t context;
  Result<std::unique_ptr<Coordinator>> created =
      Coordinator::Create(context, CoordinatorOptions{.endpoint = "nonsense://x"});
  ASSERT_FALSE(created.ok());
  EXPECT_NE(created.status().message().find("nonsense://x"), std::string::npos);
}

TEST(CoordinatorTest, EmptyCampaignCompletesWithoutAgents) {
  Fixture fixture;
  CollectingSink sink;
  std::vector<Progress> progress;
  ASSERT_TRUE(fixture.Run(Plan(1, 1, 0, 3), sink, &progress).ok());
  EXPECT_TRUE(sink.results.empty());
  ASSERT_EQ(progress.size(), 1u);
  EXPECT_EQ(progress[0].total, 0u);
}

TEST(CoordinatorTest, OneAgentDeliversEveryJobOnce) {
  Fixture fixture;
  AgentThread agent(fixture.context, fixture.endpoint, "solo", {.capacity = 64});
  const CampaignPlan plan = Plan(1, 10, 100, 10);
  CollectingSink sink;
  std::vector<Progress> progress;
  const auto start = std::chrono::steady_clock::now();
  const Status status = fixture.Run(plan, sink, &progress);
  const double seconds_taken =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(status.ok()) << status.message();
  ExpectEveryJobOnce(plan, sink);
  ASSERT_TRUE(agent.Stop().ok());
  EXPECT_EQ(agent.submitted(), plan.TotalJobs());
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.back().done, plan.TotalJobs());
  EXPECT_EQ(progress.back().escapes, plan.TotalJobs() / 4);
  for (size_t i = 1; i < progress.size(); ++i) EXPECT_GT(progress[i].done, progress[i - 1].done);
  fmt::print("{} jobs in {:.3f} s: {:.0f} jobs/s\n", plan.TotalJobs(), seconds_taken,
             plan.TotalJobs() / seconds_taken);
  ::testing::Test::RecordProperty("jobs_per_second",
                                  static_cast<int>(plan.TotalJobs() / seconds_taken));
}

TEST(CoordinatorTest, ThreeAgentsDeliverEveryJobOnce) {
  Fixture fixture;
  std::vector<std::unique_ptr<AgentThread>> agents;
  agents.push_back(std::make_unique<AgentThread>(fixture.context, fixture.endpoint, "a",
                                                 FakeExecutorOptions{.capacity = 8}));
  agents.push_back(
      std::make_unique<AgentThread>(fixture.context, fixture.endpoint, "b",
                                    FakeExecutorOptions{.capacity = 4, .use_ready_fd = false}));
  agents.push_back(std::make_unique<AgentThread>(fixture.context, fixture.endpoint, "c",
                                                 FakeExecutorOptions{.capacity = 16}));
  const CampaignPlan plan = Plan(2, 5, 200, 10);
  CollectingSink sink;
  const Status status = fixture.Run(plan, sink);
  ASSERT_TRUE(status.ok()) << status.message();
  ExpectEveryJobOnce(plan, sink);
  uint64_t submitted = 0;
  for (auto& agent : agents) {
    ASSERT_TRUE(agent->Stop().ok());
    submitted += agent->submitted();
  }
  EXPECT_EQ(submitted, plan.TotalJobs()) << "no agent was lost, so nothing ran twice";
}

TEST(CoordinatorTest, ConsecutiveCampaignsShareTheAgents) {
  Fixture fixture;
  AgentThread agent(fixture.context, fixture.endpoint, "solo");
  for (uint64_t campaign = 1; campaign <= 3; ++campaign) {
    const CampaignPlan plan = Plan(campaign, 3, 7, 5);
    CollectingSink sink;
    const Status status = fixture.Run(plan, sink);
    ASSERT_TRUE(status.ok()) << status.message();
    ExpectEveryJobOnce(plan, sink);
  }
  EXPECT_EQ(fixture.coordinator->agent_count(), 1u);
}

// How a raw peer that took jobs disappears.
enum class Vanish { kFallSilent, kCloseSocket, kSayBye };

class VanishingAgentTest : public ::testing::TestWithParam<Vanish> {};

TEST_P(VanishingAgentTest, ItsJobsAreRerunElsewhere) {
  Fixture fixture(ShortLeases());
  const CampaignPlan plan = Plan(3, 2, 100, 3);
  CollectingSink sink;
  CampaignThread campaign(fixture, plan, sink);

  RawPeer zombie(fixture.context, fixture.endpoint);
  zombie.Send(Hello{.agent = "zombie", .slots = 16});
  zombie.Send(Ready{.credit = 16});
  Result<Message> batch = zombie.Next();
  ASSERT_TRUE(batch.ok()) << batch.status().message();
  ASSERT_TRUE(std::holds_alternative<JobBatch>(*batch));
  std::set<uint64_t> taken;
  for (const Job& job : std::get<JobBatch>(*batch).jobs) taken.insert(job.index);
  EXPECT_EQ(taken.size(), 16u);
  if (GetParam() == Vanish::kCloseSocket) zombie.Close();
  if (GetParam() == Vanish::kSayBye) zombie.Send(Bye{.reason = "leaving"});
  // The survivor is slowed down so that the campaign is still running when
  // the zombie wakes up.
  AgentThread agent(fixture.context, fixture.endpoint, "survivor",
                    {.capacity = 1, .delay = milliseconds{2}});
  if (GetParam() == Vanish::kFallSilent) {
    // Once its jobs were re-run, the zombie's own results come too late: they
    // are refused and it is told to say hello again.
    EXPECT_TRUE(Eventually([&] { return sink.Delivered(taken); }));
    ResultBatch late;
    for (uint64_t index : taken) late.results.push_back(FakeResult(plan, index, "zombie"));
    zombie.Send(late);
    Result<Message> told = zombie.Next();
    ASSERT_TRUE(told.ok()) << told.status().message();
    EXPECT_TRUE(std::holds_alternative<Bye>(*told)) << MessageName(*told);
  }
  const Status status = campaign.Wait();
  ASSERT_TRUE(status.ok()) << status.message();
  ExpectEveryJobOnce(plan, sink);
  for (uint64_t index : taken) EXPECT_EQ(sink.results.at(index).second.agent, "survivor");
  ASSERT_TRUE(agent.Stop().ok());
  EXPECT_EQ(agent.submitted(), plan.TotalJobs());
}

INSTANTIATE_TEST_SUITE_P(AllWays, VanishingAgentTest,
                         ::testing::Values(Vanish::kFallSilent, Vanish::kCloseSocket,
                                           Vanish::kSayBye));

std::string WrongVersion() {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(buffer);
  packer.pack_array(3);
  packer.pack(kProtocolVersion + 1);
  packer.pack(1);
  packer.pack(Hello{.agent = "future", .slots = 1});
  return std::string(buffer.data(), buffer.size());
}

TEST(CoordinatorTest, MisbehavingPeersAreDroppedAndTheCampaignCompletes) {
  Fixture fixture(ShortLeases());
  const CampaignPlan plan = Plan(9, 2, 50, 2);
  CollectingSink sink;
  CampaignThread campaign(fixture, plan, sink);

  RawPeer rogue(fixture.context, fixture.endpoint);
  rogue.SendBytes("garbage");
  rogue.SendBytes(WrongVersion());
  rogue.SendFrames({Encode(Hello{.agent = "rogue"}), "second frame"});
  rogue.Send(Hello{.agent = "rogue", .slots = 1});
  ExecutionResult forged;
  forged.campaign = plan.campaign;
  forged.index = 5;
  forged.status = "ok";
  forged.escape_detected = true;
  forged.agent = "rogue";
  ExecutionResult out_of_range = forged;
  out_of_range.index = plan.TotalJobs() + 3;
  ExecutionResult other_campaign = forged;
  other_campaign.campaign = plan.campaign + 1;
  rogue.Send(ResultBatch{.results = {forged, out_of_range, other_campaign}});
  rogue.Send(JobBatch{.jobs = {plan.JobAt(0)}});
  // Answering Ready proves every message before it was handled.
  rogue.Send(Ready{.credit = 1});
  Result<Message> reply = rogue.Next();
  ASSERT_TRUE(reply.ok()) << reply.status().message();
  ASSERT_TRUE(std::holds_alternative<JobBatch>(*reply));
  // A result for the job it does hold, but stamped with another campaign.
  const uint64_t leased = std::get<JobBatch>(*reply).jobs.at(0).index;
  ExecutionResult stale = FakeResult(plan, leased, "rogue");
  stale.campaign = plan.campaign + 1;
  rogue.Send(ResultBatch{.results = {stale}});
  rogue.Send(Bye{.reason = "done forging"});

  // A peer that never said hello is told to.
  RawPeer stranger(fixture.context, fixture.endpoint);
  stranger.Send(ResultBatch{.results = {forged}});
  Result<Message> told = stranger.Next();
  ASSERT_TRUE(told.ok()) << told.status().message();
  EXPECT_TRUE(std::holds_alternative<Bye>(*told));

  AgentThread agent(fixture.context, fixture.endpoint, "honest");
  const Status status = campaign.Wait();
  ASSERT_TRUE(status.ok()) << status.message();
  ExpectEveryJobOnce(plan, sink);
  for (const auto& [index, delivered] : sink.results) {
    EXPECT_EQ(delivered.second.agent, "honest") << index;
  }
}

TEST(CoordinatorTest, AgentForgottenForSilenceComesBackAndEveryJobIsDoneOnce) {
  CoordinatorOptions options;
  options.heartbeat_interval = milliseconds{20};
  options.heartbeat_timeout = milliseconds{150};
  Fixture fixture(options);
  const CampaignPlan plan = Plan(4, 2, 50, 3);
  CollectingSink sink;
  CampaignThread campaign(fixture, plan, sink);

  // Silent for longer than the coordinator's timeout while its jobs run, so
  // it is forgotten each time; its results draw a Bye and it says hello again.
  const size_t slots = 4;
  AgentThread slow(fixture.context, fixture.endpoint, "slow",
                   {.capacity = slots, .delay = milliseconds{400}}, seconds{5});
  // Three batches: it kept being served while flapping.
  EXPECT_TRUE(Eventually([&] { return slow.submitted() > 2 * slots; }));
  AgentThread fast(fixture.context, fixture.endpoint, "fast");
  const Status status = campaign.Wait();
  ASSERT_TRUE(status.ok()) << status.message();
  ExpectEveryJobOnce(plan, sink);
  EXPECT_TRUE(slow.Stop().ok());
  EXPECT_TRUE(fast.Stop().ok());
}

// Leases that expire quickly: a job of a 100 ms call comes back after 400 ms
// without a result. Agents are not forgotten for silence meanwhile.
CoordinatorOptions QuickLeaseExpiry() {
  CoordinatorOptions options;
  options.heartbeat_interval = milliseconds{50};
  options.heartbeat_timeout = seconds{30};
  options.lease_slack = milliseconds{200};
  return options;
}

CampaignPlan QuickCallPlan(uint64_t campaign, size_t inputs) {
  CampaignPlan plan = Plan(campaign, 1, inputs, 1);
  plan.limits.timeout_ms = 100;
  plan.limits.grace_ms = 0;
  return plan;
}

TEST(CoordinatorTest, JobALiveAgentNeverAnswersIsLeasedAgain) {
  Fixture fixture(QuickLeaseExpiry());
  const CampaignPlan plan = QuickCallPlan(21, 8);
  CollectingSink sink;
  CampaignThread campaign(fixture, plan, sink);

  // A live agent that takes one job and keeps it.
  RawPeer hoarder(fixture.context, fixture.endpoint);
  hoarder.Send(Hello{.agent = "hoarder", .slots = 1});
  hoarder.Send(Ready{.credit = 1});
  Result<Message> batch = hoarder.Next();
  ASSERT_TRUE(batch.ok()) << batch.status().message();
  const uint64_t kept = std::get<JobBatch>(*batch).jobs.at(0).index;

  AgentThread honest(fixture.context, fixture.endpoint, "honest");
  const Status status = campaign.Wait();
  ASSERT_TRUE(status.ok()) << status.message();
  ExpectEveryJobOnce(plan, sink);
  EXPECT_EQ(sink.results.at(kept).second.agent, "honest");
  EXPECT_EQ(sink.results.at(kept).second.status, "ok");
}

TEST(CoordinatorTest, JobWhoseLeaseKeepsExpiringGetsAnErrorResult) {
  Fixture fixture(QuickLeaseExpiry());
  const CampaignPlan plan = QuickCallPlan(22, 1);
  CollectingSink sink;
  CampaignThread campaign(fixture, plan, sink);

  // Takes the only job each time it comes back, and never answers.
  RawPeer hoarder(fixture.context, fixture.endpoint);
  hoarder.Send(Hello{.agent = "hoarder", .slots = 1});
  for (uint32_t lease = 0; lease < kMaxLeaseExpiries; ++lease) {
    hoarder.Send(Ready{.credit = 1});
    Result<Message> batch = hoarder.Next();
    ASSERT_TRUE(batch.ok()) << "lease " << lease << ": " << batch.status().message();
    ASSERT_EQ(std::get<JobBatch>(*batch).jobs.at(0).index, 0u);
  }
  const Status status = campaign.Wait();
  ASSERT_TRUE(status.ok()) << status.message();
  ASSERT_EQ(sink.deliveries.at(0), 1);
  const ExecutionResult& result = sink.results.at(0).second;
  EXPECT_EQ(result.status, "error");
  EXPECT_NE(result.error.find("no result came back within its lease of 400 ms, 3 times"),
            std::string::npos)
      << result.error;
}

TEST(CoordinatorTest, ResumeSkipsJobsAlreadyDone) {
  Fixture fixture;
  AgentThread agent(fixture.context, fixture.endpoint, "solo");
  const CampaignPlan plan = Plan(2, 4, 25, 10);
  std::vector<uint64_t> already_done;
  for (uint64_t index = 0; index < plan.TotalJobs(); index += 2) already_done.push_back(index);
  already_done.push_back(plan.TotalJobs() - 1);
  CollectingSink sink;
  std::vector<Progress> progress;
  const Status status = fixture.Run(plan, sink, &progress, already_done);
  ASSERT_TRUE(status.ok()) << status.message();
  ExpectEveryJobOnce(plan, sink, std::set<uint64_t>(already_done.begin(), already_done.end()));
  ASSERT_FALSE(progress.empty());
  EXPECT_EQ(progress.front().done, already_done.size());
  EXPECT_EQ(progress.back().done, plan.TotalJobs());
  ASSERT_TRUE(agent.Stop().ok());
  EXPECT_EQ(agent.submitted(), plan.TotalJobs() - already_done.size());
}

TEST(CoordinatorTest, AlreadyDoneOutOfRangeIsAnError) {
  Fixture fixture;
  CollectingSink sink;
  const Status status = fixture.Run(Plan(1, 1, 2, 2), sink, nullptr, {4});
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("outside"), std::string::npos) << status.message();
}

TEST(CoordinatorTest, StopRequestedBeforehandInterrupts) {
  Fixture fixture;
  fixture.coordinator->RequestStop();
  CollectingSink sink;
  const Status status = fixture.Run(Plan(1, 1, 3, 1), sink);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message(), "interrupted");
}

TEST(CoordinatorTest, StopFromAnotherThreadInterruptsAWaitingCampaign) {
  Fixture fixture;  // no agent: the campaign would wait forever
  CollectingSink sink;
  std::thread stopper([&] { fixture.coordinator->RequestStop(); });
  const Status status = fixture.Run(Plan(1, 1, 3, 1), sink);
  stopper.join();
  EXPECT_EQ(status.message(), "interrupted");
}

TEST(CoordinatorTest, StopMidCampaignInterrupts) {
  Fixture fixture;
  AgentThread agent(fixture.context, fixture.endpoint, "solo");
  const CampaignPlan plan = Plan(1, 1, 1000, 10);
  CollectingSink sink;
  Watchdog watchdog(*fixture.coordinator, seconds{60});
  const Status status = fixture.coordinator->RunCampaign(plan, sink, [&](const Progress& p) {
    if (p.done >= 100) fixture.coordinator->RequestStop();
  });
  EXPECT_EQ(status.message(), "interrupted");
  EXPECT_GE(sink.results.size(), 100u);
  EXPECT_LT(sink.results.size(), plan.TotalJobs());
  for (const auto& [index, count] : sink.deliveries) EXPECT_EQ(count, 1) << index;
}

class FailingSink : public ResultSink {
 public:
  Status Accept(std::vector<std::pair<Job, ExecutionResult>>) override {
    return Status::Error("disk full");
  }
};

TEST(CoordinatorTest, SinkFailureEndsTheCampaign) {
  Fixture fixture;
  AgentThread agent(fixture.context, fixture.endpoint, "solo");
  FailingSink sink;
  Watchdog watchdog(*fixture.coordinator, seconds{60});
  const Status status = fixture.coordinator->RunCampaign(Plan(1, 1, 10, 1), sink, nullptr);
  EXPECT_EQ(status.message(), "disk full");
}

// ---- Serving several campaigns at once, the request hook, and Agents() ----

std::shared_ptr<const CampaignPlan> Shared(const CampaignPlan& plan) {
  return std::make_shared<const CampaignPlan>(plan);
}

// Keeps every delivery of any number of campaigns, in arrival order. Safe to
// read while the coordinator serves.
class MultiSink : public ResultSink {
 public:
  using Key = std::pair<uint64_t, uint64_t>;  // campaign, job index

  Status Accept(std::vector<std::pair<Job, ExecutionResult>> batch) override {
    EXPECT_FALSE(batch.empty());
    std::lock_guard lock(mutex_);
    for (auto& [job, result] : batch) {
      EXPECT_EQ(job.campaign, result.campaign);
      EXPECT_EQ(job.index, result.index);
      order_.emplace_back(job.campaign, job.index);
      ++deliveries_[{job.campaign, job.index}];
      agents_[{job.campaign, job.index}] = result.agent;
    }
    return Status::Ok();
  }

  std::vector<Key> order() const {
    std::lock_guard lock(mutex_);
    return order_;
  }
  std::map<Key, int> deliveries() const {
    std::lock_guard lock(mutex_);
    return deliveries_;
  }
  std::map<Key, std::string> agents() const {
    std::lock_guard lock(mutex_);
    return agents_;
  }
  bool Has(uint64_t campaign, uint64_t index) const {
    std::lock_guard lock(mutex_);
    return deliveries_.contains({campaign, index});
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Key> order_;
  std::map<Key, int> deliveries_;
  std::map<Key, std::string> agents_;
};

// Every job of `plan` not in `skip` was delivered exactly once to `sink`.
void ExpectCampaignOnce(const CampaignPlan& plan, const MultiSink& sink,
                        const std::set<uint64_t>& skip = {}) {
  const std::map<MultiSink::Key, int> deliveries = sink.deliveries();
  for (uint64_t index = 0; index < plan.TotalJobs(); ++index) {
    auto it = deliveries.find({plan.campaign, index});
    if (skip.contains(index)) {
      EXPECT_EQ(it, deliveries.end())
          << "campaign " << plan.campaign << " job " << index << " was already done";
    } else if (it == deliveries.end()) {
      ADD_FAILURE() << "campaign " << plan.campaign << " job " << index << " has no result";
    } else {
      EXPECT_EQ(it->second, 1) << "campaign " << plan.campaign << " job " << index;
    }
  }
  const auto delivered_for_plan = std::ranges::count_if(
      deliveries, [&](const auto& d) { return d.first.first == plan.campaign; });
  EXPECT_EQ(static_cast<uint64_t>(delivered_for_plan), plan.TotalJobs() - skip.size());
}

// Records what the coordinator tells its owner; answers requests with
// `on_request` when set, else as CoordinatorEvents does. Called on the
// serving thread; read the records through the accessors.
class RecordingEvents : public CoordinatorEvents {
 public:
  void OnProgress(const Progress& progress) override {
    std::lock_guard lock(mutex_);
    progress_.push_back(progress);
  }
  void OnCampaignDone(uint64_t campaign) override {
    std::lock_guard lock(mutex_);
    done_.push_back(campaign);
  }
  std::optional<Message> OnRequest(const Message& request) override {
    {
      std::lock_guard lock(mutex_);
      requests_.emplace_back(MessageName(request));
    }
    if (on_request) return on_request(request);
    return CoordinatorEvents::OnRequest(request);
  }

  std::vector<Progress> progress() const {
    std::lock_guard lock(mutex_);
    return progress_;
  }
  std::vector<uint64_t> done() const {
    std::lock_guard lock(mutex_);
    return done_;
  }
  std::vector<std::string> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

  // Set before serving starts.
  std::function<std::optional<Message>(const Message&)> on_request;

 private:
  mutable std::mutex mutex_;
  std::vector<Progress> progress_;
  std::vector<uint64_t> done_;
  std::vector<std::string> requests_;
};

// Coordinator::Serve on its own thread, with a watchdog; leaving scope stops
// and joins it.
class ServeThread {
 public:
  ServeThread(Coordinator& coordinator, ResultSink& sink, CoordinatorEvents& events,
              std::function<bool()> finished = nullptr)
      : coordinator_(coordinator), thread_([this, &sink, &events, finished = std::move(finished)] {
          Watchdog watchdog(coordinator_, seconds{60});
          status_ = coordinator_.Serve(sink, events, finished);
        }) {}
  ~ServeThread() { Stop(); }

  // Waits for Serve to return by itself (its `finished` said so).
  Status Wait() {
    if (thread_.joinable()) thread_.join();
    return status_;
  }
  Status Stop() {
    coordinator_.RequestStop();
    return Wait();
  }

 private:
  Coordinator& coordinator_;
  Status status_;
  std::thread thread_;  // last: it uses the members above
};

// The message `peer` gets next, which must be a T; T{} after failing.
template <typename T>
T Expect(RawPeer& peer) {
  Result<Message> message = peer.Next();
  if (!message.ok()) {
    ADD_FAILURE() << message.status().message();
    return T{};
  }
  if (T* typed = std::get_if<T>(&*message)) return std::move(*typed);
  ADD_FAILURE() << "got " << MessageName(*message);
  return T{};
}

TEST(CoordinatorCampaignsTest, TwoCampaignsTakeTurnsOnASingleSlot) {
  Fixture fixture;
  const CampaignPlan first = Plan(11, 2, 3, 1);
  const CampaignPlan second = Plan(12, 1, 6, 1);
  const std::map<uint64_t, const CampaignPlan*> plans = {{11, &first}, {12, &second}};
  ASSERT_TRUE(fixture.coordinator->AddCampaign(Shared(first)).ok());
  ASSERT_TRUE(fixture.coordinator->AddCampaign(Shared(second)).ok());
  MultiSink sink;
  RecordingEvents events;
  ServeThread serve(*fixture.coordinator, sink, events, [&] { return events.done().size() == 2; });

  // A one-slot agent: every batch is one job, and each batch starts at the
  // next campaign, so two campaigns of equal size strictly alternate.
  RawPeer agent(fixture.context, fixture.endpoint);
  agent.Send(Hello{.agent = "single", .slots = 1});
  agent.Send(Ready{.credit = 1});
  std::vector<uint64_t> turns;
  const uint64_t total = first.TotalJobs() + second.TotalJobs();
  while (turns.size() < total && !::testing::Test::HasFailure()) {
    const JobBatch batch = Expect<JobBatch>(agent);
    ASSERT_EQ(batch.jobs.size(), 1u);
    const Job& job = batch.jobs[0];
    ASSERT_TRUE(plans.contains(job.campaign)) << job.campaign;
    turns.push_back(job.campaign);
    agent.Send(ResultBatch{.results = {FakeResult(*plans.at(job.campaign), job.index, "single")}});
    agent.Send(Ready{.credit = 1});
  }
  const Status status = serve.Wait();
  ASSERT_TRUE(status.ok()) << status.message();
  ASSERT_EQ(turns.size(), total);
  for (size_t i = 1; i < turns.size(); ++i) {
    EXPECT_NE(turns[i], turns[i - 1]) << "batch " << i << " went to the same campaign again";
  }
  ExpectCampaignOnce(first, sink);
  ExpectCampaignOnce(second, sink);
  std::vector<uint64_t> done = events.done();
  std::sort(done.begin(), done.end());
  EXPECT_EQ(done, (std::vector<uint64_t>{11, 12})) << "each campaign is done exactly once";
  EXPECT_FALSE(fixture.coordinator->CampaignProgress(11).has_value()) << "done campaigns leave";
  EXPECT_FALSE(fixture.coordinator->CampaignProgress(12).has_value());
}

TEST(CoordinatorCampaignsTest, ConcurrentCampaignsAllProgressBeforeAnyFinishes) {
  Fixture fixture;
  const std::vector<CampaignPlan> plans = {Plan(21, 2, 20, 2), Plan(22, 1, 30, 3),
                                           Plan(23, 4, 10, 2)};
  uint64_t total = 0;
  for (const CampaignPlan& plan : plans) {
    ASSERT_TRUE(fixture.coordinator->AddCampaign(Shared(plan)).ok());
    total += plan.TotalJobs();
  }
  MultiSink sink;
  RecordingEvents events;
  AgentThread agent(fixture.context, fixture.endpoint, "small", {.capacity = 2});
  ServeThread serve(*fixture.coordinator, sink, events,
                    [&] { return events.done().size() == plans.size(); });
  const Status status = serve.Wait();
  ASSERT_TRUE(status.ok()) << status.message();
  for (const CampaignPlan& plan : plans) ExpectCampaignOnce(plan, sink);

  // Where each campaign's first and last results are in the arrival order.
  std::map<uint64_t, size_t> first_at, last_at;
  const std::vector<MultiSink::Key> order = sink.order();
  for (size_t i = 0; i < order.size(); ++i) {
    first_at.try_emplace(order[i].first, i);
    last_at[order[i].first] = i;
  }
  size_t latest_first = 0, earliest_last = order.size();
  for (const auto& [campaign, at] : first_at) latest_first = std::max(latest_first, at);
  for (const auto& [campaign, at] : last_at) earliest_last = std::min(earliest_last, at);
  EXPECT_LT(latest_first, earliest_last)
      << "a campaign got its first result only after another had finished";

  std::vector<uint64_t> done = events.done();
  std::sort(done.begin(), done.end());
  EXPECT_EQ(done, (std::vector<uint64_t>{21, 22, 23}));
  // The last progress each campaign reported is complete.
  std::map<uint64_t, Progress> last;
  for (const Progress& p : events.progress()) last[p.campaign] = p;
  for (const CampaignPlan& plan : plans) {
    ASSERT_TRUE(last.contains(plan.campaign));
    EXPECT_EQ(last[plan.campaign].done, plan.TotalJobs());
    EXPECT_EQ(last[plan.campaign].total, plan.TotalJobs());
    uint64_t escapes = 0;
    for (uint64_t index = 0; index < plan.TotalJobs(); ++index) {
      escapes += plan.JobAt(index).input == kFakeEscapeInput ? 1 : 0;
    }
    EXPECT_EQ(last[plan.campaign].escapes, escapes) << plan.campaign;
  }
  ASSERT_TRUE(agent.Stop().ok());
  EXPECT_EQ(agent.submitted(), total);
}

TEST(CoordinatorCampaignsTest, AddCampaignWithDoneJobsDispatchesOnlyTheMissingOnes) {
  Fixture fixture;
  const CampaignPlan plan = Plan(31, 1, 10, 1);  // inputs 0, 4 and 8 escape
  JobIndexSet done;
  for (uint64_t index : {0, 2, 5}) done.Insert(index);
  ASSERT_TRUE(fixture.coordinator->AddCampaign(Shared(plan), std::move(done), 7).ok());
  std::optional<Progress> progress = fixture.coordinator->CampaignProgress(31);
  ASSERT_TRUE(progress.has_value());
  EXPECT_EQ(progress->campaign, 31u);
  EXPECT_EQ(progress->done, 3u);
  EXPECT_EQ(progress->total, 10u);
  EXPECT_EQ(progress->escapes, 7u);
  EXPECT_FALSE(fixture.coordinator->CampaignProgress(32).has_value());
  EXPECT_FALSE(fixture.coordinator->AddCampaign(Shared(plan)).ok()) << "same id twice";

  MultiSink sink;
  RecordingEvents events;
  ServeThread serve(*fixture.coordinator, sink, events, [&] { return !events.done().empty(); });
  RawPeer agent(fixture.context, fixture.endpoint);
  agent.Send(Hello{.agent = "raw", .slots = 16});
  agent.Send(Ready{.credit = 16});
  const JobBatch batch = Expect<JobBatch>(agent);
  std::set<uint64_t> sent;
  for (const Job& job : batch.jobs) {
    EXPECT_EQ(job.campaign, 31u);
    EXPECT_TRUE(sent.insert(job.index).second) << "job " << job.index << " sent twice";
  }
  EXPECT_EQ(sent, (std::set<uint64_t>{1, 3, 4, 6, 7, 8, 9}));
  ResultBatch results;
  for (uint64_t index : sent) results.results.push_back(FakeResult(plan, index, "raw"));
  agent.Send(results);
  const Status status = serve.Wait();
  ASSERT_TRUE(status.ok()) << status.message();
  ExpectCampaignOnce(plan, sink, {0, 2, 5});
  EXPECT_EQ(events.done(), std::vector<uint64_t>{31});
  const std::vector<Progress> reported = events.progress();
  ASSERT_FALSE(reported.empty());
  EXPECT_EQ(reported.front().done, 3u) << "the initial progress counts the done jobs";
  EXPECT_EQ(reported.front().escapes, 7u);
  EXPECT_EQ(reported.back().done, 10u);
  EXPECT_EQ(reported.back().total, 10u);
  EXPECT_EQ(reported.back().escapes, 7u + 2u) << "the initial escapes plus jobs 4 and 8";
}

TEST(CoordinatorCampaignsTest, CampaignAddedFullyDoneIsDoneWithoutAgents) {
  Fixture fixture;
  const CampaignPlan plan = Plan(41, 1, 3, 1);
  JobIndexSet done;
  for (uint64_t index = 0; index < plan.TotalJobs(); ++index) done.Insert(index);
  ASSERT_TRUE(fixture.coordinator->AddCampaign(Shared(plan), std::move(done), 1).ok());
  MultiSink sink;
  RecordingEvents events;
  ServeThread serve(*fixture.coordinator, sink, events, [&] { return !events.done().empty(); });
  ASSERT_TRUE(serve.Wait().ok());
  EXPECT_EQ(events.done(), std::vector<uint64_t>{41});
  EXPECT_TRUE(sink.order().empty());
  EXPECT_FALSE(fixture.coordinator->CampaignProgress(41).has_value());
}

// The reply the test's OnRequest gives to each kind of request, carrying
// something of the request so that a test can match them.
std::optional<Message> EchoReply(const Message& request) {
  return std::visit(
      Overloaded{
          [](const Submit& submit) -> std::optional<Message> {
            return Submitted{.submission = submit.submission, .campaign = 77};
          },
          [](const Watch& watch) -> std::optional<Message> {
            if (watch.campaign == 0) return std::nullopt;  // no reply at all
            CampaignState state;
            state.campaign = watch.campaign;
            state.status = "running";
            return state;
          },
          [](const FetchResults& fetch) -> std::optional<Message> {
            return ResultsPage{.campaign = fetch.campaign,
                               .first_index = fetch.first_index,
                               .next_index = fetch.first_index + 1};
          },
          [](const StatusRequest&) -> std::optional<Message> { return StatusReply{}; },
          [](const FetchBundle& fetch) -> std::optional<Message> {
            return BundleData{.hash = fetch.hash, .content = "bytes", .error = ""};
          },
          [](const auto&) -> std::optional<Message> {
            ADD_FAILURE() << "not a request";
            return std::nullopt;
          },
      },
      request);
}

TEST(CoordinatorRequestsTest, RequestsFromPeersWithoutHelloGoToOnRequest) {
  Fixture fixture;
  MultiSink sink;
  RecordingEvents events;
  events.on_request = EchoReply;
  ServeThread serve(*fixture.coordinator, sink, events);

  RawPeer client(fixture.context, fixture.endpoint);
  Submit submit;
  submit.submission = "token-1";
  client.Send(submit);
  const Submitted submitted = Expect<Submitted>(client);
  EXPECT_EQ(submitted.submission, "token-1");
  EXPECT_EQ(submitted.campaign, 77u);

  client.Send(Watch{.campaign = 0});  // answered with nothing
  client.Send(Watch{.campaign = 5});
  EXPECT_EQ(Expect<CampaignState>(client).campaign, 5u) << "the unanswered Watch sent nothing";

  client.Send(FetchResults{.campaign = 6, .first_index = 40, .limit = 3});
  const ResultsPage page = Expect<ResultsPage>(client);
  EXPECT_EQ(page.campaign, 6u);
  EXPECT_EQ(page.first_index, 40u);
  EXPECT_EQ(page.next_index, 41u);

  client.Send(StatusRequest{});
  Expect<StatusReply>(client);

  client.Send(FetchBundle{.hash = "abc"});
  const BundleData data = Expect<BundleData>(client);
  EXPECT_EQ(data.hash, "abc");
  EXPECT_EQ(data.content, "bytes");

  // Two clients at once: each gets the answer to its own request.
  RawPeer other(fixture.context, fixture.endpoint);
  other.Send(Watch{.campaign = 8});
  client.Send(Watch{.campaign = 9});
  EXPECT_EQ(Expect<CampaignState>(other).campaign, 8u);
  EXPECT_EQ(Expect<CampaignState>(client).campaign, 9u);

  ASSERT_TRUE(serve.Stop().ok());
  EXPECT_EQ(fixture.coordinator->agent_count(), 0u) << "clients are not agents";
  const std::vector<std::string> seen = events.requests();
  EXPECT_EQ(seen, (std::vector<std::string>{"submit", "watch", "watch", "fetch-results",
                                            "status-request", "fetch-bundle", "watch", "watch"}));
}

TEST(CoordinatorRequestsTest, DefaultOnRequestRefusesAndAgentMessagesFromStrangersGetBye) {
  Fixture fixture;
  MultiSink sink;
  CoordinatorEvents events;  // the default hook
  ServeThread serve(*fixture.coordinator, sink, events);
  RawPeer client(fixture.context, fixture.endpoint);
  const std::vector<Message> requests = {Submit{}, Watch{.campaign = 1}, FetchResults{},
                                         StatusRequest{}, FetchBundle{.hash = "h"}};
  for (const Message& request : requests) {
    client.Send(request);
    const Refused refused = Expect<Refused>(client);
    EXPECT_EQ(refused.request, MessageName(request));
    EXPECT_FALSE(refused.reason.empty());
  }
  // Agent messages from a peer that never said hello: it is asked to.
  client.Send(Ready{.credit = 4});
  EXPECT_FALSE(Expect<Bye>(client).reason.empty());
  client.Send(Heartbeat{});
  Expect<Bye>(client);
  // A Bye from a stranger is not answered: the next reply is the Watch's.
  client.Send(Bye{.reason = "leaving"});
  client.Send(Watch{.campaign = 2});
  EXPECT_EQ(Expect<Refused>(client).request, "watch");
  ASSERT_TRUE(serve.Stop().ok());
  EXPECT_EQ(fixture.coordinator->agent_count(), 0u);
}

TEST(CoordinatorCampaignsTest, RemoveCampaignVoidsLeasesAndLateResultsAreDropped) {
  Fixture fixture;
  const CampaignPlan plan = Plan(51, 1, 8, 1);
  const CampaignPlan other = Plan(52, 1, 4, 1);
  ASSERT_TRUE(fixture.coordinator->AddCampaign(Shared(plan)).ok());
  MultiSink sink;
  RecordingEvents events;
  Coordinator& coordinator = *fixture.coordinator;
  // The hook runs on the serving thread, where the coordinator may be changed:
  // Watch{c} removes campaign c, Submit{"again"} adds `plan` anew, Submit
  // {"other"} adds `other`, StatusRequest reports the agents.
  events.on_request = [&](const Message& request) -> std::optional<Message> {
    if (const Watch* watch = std::get_if<Watch>(&request)) {
      coordinator.RemoveCampaign(watch->campaign);
      coordinator.RemoveCampaign(watch->campaign);  // a second time does nothing
      return Refused{.request = "watch", .reason = "removed"};
    }
    if (const Submit* submit = std::get_if<Submit>(&request)) {
      const CampaignPlan& added = submit->submission == "again" ? plan : other;
      EXPECT_TRUE(coordinator.AddCampaign(Shared(added)).ok());
      return Submitted{.submission = submit->submission, .campaign = added.campaign};
    }
    if (std::holds_alternative<StatusRequest>(request)) {
      return StatusReply{.agents = coordinator.Agents(), .campaigns = {}};
    }
    return std::nullopt;
  };
  ServeThread serve(coordinator, sink, events, [&] { return events.done().size() == 2; });

  RawPeer agent(fixture.context, fixture.endpoint);
  RawPeer client(fixture.context, fixture.endpoint);
  agent.Send(Hello{.agent = "raw", .slots = 4});
  agent.Send(Ready{.credit = 4});
  const JobBatch leased = Expect<JobBatch>(agent);
  ASSERT_EQ(leased.jobs.size(), 4u);

  client.Send(Watch{.campaign = plan.campaign});
  EXPECT_EQ(Expect<Refused>(client).reason, "removed");
  client.Send(StatusRequest{});
  const StatusReply status = Expect<StatusReply>(client);
  ASSERT_EQ(status.agents.size(), 1u);
  EXPECT_EQ(status.agents[0].leased, 0u) << "removing the campaign voided the agent's leases";

  // The campaign comes back under the same id, and another one joins: the
  // results for the voided leases arrive late, stamped with the old leases.
  Submit again;
  again.submission = "again";
  client.Send(again);
  EXPECT_EQ(Expect<Submitted>(client).campaign, plan.campaign);
  Submit more;
  more.submission = "other";
  client.Send(more);
  EXPECT_EQ(Expect<Submitted>(client).campaign, other.campaign);
  ResultBatch late;
  for (const Job& job : leased.jobs) late.results.push_back(FakeResult(plan, job.index, "late"));
  agent.Send(late);

  // Then the agent works through both campaigns honestly.
  const std::map<uint64_t, const CampaignPlan*> plans = {{plan.campaign, &plan},
                                                         {other.campaign, &other}};
  agent.Send(Ready{.credit = 4});
  uint64_t received = 0;
  while (received < plan.TotalJobs() + other.TotalJobs() && !::testing::Test::HasFailure()) {
    const JobBatch batch = Expect<JobBatch>(agent);
    ResultBatch results;
    for (const Job& job : batch.jobs) {
      ASSERT_TRUE(plans.contains(job.campaign)) << job.campaign;
      results.results.push_back(FakeResult(*plans.at(job.campaign), job.index, "fresh"));
    }
    received += batch.jobs.size();
    agent.Send(results);
    agent.Send(Ready{.credit = static_cast<uint32_t>(batch.jobs.size())});
  }
  const Status served = serve.Wait();
  ASSERT_TRUE(served.ok()) << served.message();
  ExpectCampaignOnce(plan, sink);
  ExpectCampaignOnce(other, sink);
  for (const auto& [key, name] : sink.agents()) {
    EXPECT_EQ(name, "fresh") << "campaign " << key.first << " job " << key.second
                             << ": a result for a voided lease was delivered";
  }
  std::vector<uint64_t> done = events.done();
  std::sort(done.begin(), done.end());
  EXPECT_EQ(done, (std::vector<uint64_t>{51, 52}));
}

TEST(CoordinatorCampaignsTest, ResultsForARemovedCampaignAreNotDelivered) {
  Fixture fixture;
  const CampaignPlan plan = Plan(61, 1, 8, 1);
  ASSERT_TRUE(fixture.coordinator->AddCampaign(Shared(plan)).ok());
  MultiSink sink;
  RecordingEvents events;
  Coordinator& coordinator = *fixture.coordinator;
  events.on_request = [&](const Message& request) -> std::optional<Message> {
    if (const Watch* watch = std::get_if<Watch>(&request)) {
      coordinator.RemoveCampaign(watch->campaign);
      return Refused{.request = "watch", .reason = "removed"};
    }
    return std::nullopt;
  };
  ServeThread serve(coordinator, sink, events);
  RawPeer agent(fixture.context, fixture.endpoint);
  RawPeer client(fixture.context, fixture.endpoint);
  agent.Send(Hello{.agent = "raw", .slots = 4});
  agent.Send(Ready{.credit = 4});
  const JobBatch leased = Expect<JobBatch>(agent);
  ASSERT_EQ(leased.jobs.size(), 4u);
  // One result gets in before the campaign is removed.
  agent.Send(ResultBatch{.results = {FakeResult(plan, leased.jobs[0].index, "raw")}});
  EXPECT_TRUE(Eventually([&] { return sink.Has(plan.campaign, leased.jobs[0].index); }));
  client.Send(Watch{.campaign = plan.campaign});
  Expect<Refused>(client);
  ResultBatch late;
  for (size_t i = 1; i < leased.jobs.size(); ++i) {
    late.results.push_back(FakeResult(plan, leased.jobs[i].index, "raw"));
  }
  agent.Send(late);
  // The agent is not punished for it: it stays an agent, heartbeats go on,
  // and nothing else is handed out.
  agent.Send(Ready{.credit = 3});
  agent.Send(Heartbeat{});
  Result<Message> extra = agent.Next(seconds{1});
  EXPECT_FALSE(extra.ok()) << "got " << MessageName(*extra);
  ASSERT_TRUE(serve.Stop().ok());
  EXPECT_EQ(sink.order().size(), 1u) << "results for a removed campaign were delivered";
  EXPECT_TRUE(events.done().empty()) << "a removed campaign is not done";
  EXPECT_EQ(fixture.coordinator->agent_count(), 1u);
}

TEST(CoordinatorAgentsTest, AgentsReportsNameSlotsAndLeases) {
  Fixture fixture;
  const CampaignPlan plan = Plan(71, 1, 20, 1);
  ASSERT_TRUE(fixture.coordinator->AddCampaign(Shared(plan)).ok());
  MultiSink sink;
  RecordingEvents events;
  Coordinator& coordinator = *fixture.coordinator;
  events.on_request = [&](const Message&) -> std::optional<Message> {
    return StatusReply{.agents = coordinator.Agents(), .campaigns = {}};
  };
  ServeThread serve(coordinator, sink, events);
  RawPeer client(fixture.context, fixture.endpoint);
  // The agents as the coordinator sees them now, by name.
  auto agents = [&] {
    client.Send(StatusRequest{});
    std::map<std::string, AgentState> by_name;
    for (AgentState& agent : Expect<StatusReply>(client).agents) by_name[agent.name] = agent;
    return by_name;
  };
  EXPECT_TRUE(agents().empty());

  RawPeer worker(fixture.context, fixture.endpoint);
  worker.Send(Hello{.agent = "worker-a", .slots = 5});
  worker.Send(Ready{.credit = 3});
  const JobBatch batch = Expect<JobBatch>(worker);
  ASSERT_EQ(batch.jobs.size(), 3u);
  RawPeer idle(fixture.context, fixture.endpoint);
  idle.Send(Hello{.agent = "worker-b", .slots = 2});
  RawPeer greedy(fixture.context, fixture.endpoint);
  greedy.Send(Hello{.agent = std::string(1000, 'g'), .slots = 1u << 30});
  ASSERT_TRUE(Eventually([&] { return agents().size() == 3; }));

  std::map<std::string, AgentState> now = agents();
  ASSERT_TRUE(now.contains("worker-a"));
  EXPECT_EQ(now["worker-a"].slots, 5u);
  EXPECT_EQ(now["worker-a"].leased, 3u);
  ASSERT_TRUE(now.contains("worker-b"));
  EXPECT_EQ(now["worker-b"].slots, 2u);
  EXPECT_EQ(now["worker-b"].leased, 0u);
  const std::string greedy_name(128, 'g');
  ASSERT_TRUE(now.contains(greedy_name)) << "a long name is cut to 128 bytes";
  EXPECT_EQ(now[greedy_name].slots, 1u << 16) << "slots are trusted up to 65536";

  // A result releases its lease.
  worker.Send(ResultBatch{.results = {FakeResult(plan, batch.jobs[0].index, "worker-a")}});
  EXPECT_TRUE(Eventually([&] { return agents()["worker-a"].leased == 2; }));
  // An agent that says Bye is gone, and so are its leases.
  worker.Send(Bye{.reason = "done"});
  EXPECT_TRUE(Eventually([&] { return !agents().contains("worker-a"); }));
  ASSERT_TRUE(serve.Stop().ok());
}

}  // namespace
}  // namespace graphene
