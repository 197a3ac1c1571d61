// The coordinator with real agents on FakeExecutors, and with raw sockets
// that misbehave, all over inproc:// in one process. Timeouts here are upper
// bounds that fail a test, never what a test asserts.
#include "coordinator/coordinator.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "agent/agent.h"
#include "agent/fake_executor.h"

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

}  // namespace
}  // namespace graphene
