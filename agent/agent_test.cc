// The agent against a hand-driven ROUTER standing in for the coordinator, so
// each test controls exactly what the agent is sent and sees every message
// it sends back. Timeouts are upper bounds that fail a test.
#include "agent/agent.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <thread>
#include <zmq_addon.hpp>

#include "agent/fake_executor.h"
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

}  // namespace
}  // namespace graphene
