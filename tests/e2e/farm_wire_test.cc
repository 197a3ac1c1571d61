// A hostile peer on the farm's wire: malformed msgpack, unknown message
// types, a wrong protocol version, multi-frame and oversized messages,
// results for jobs it was never leased, and an agent that takes jobs and
// vanishes. The coordinator logs why it drops each, keeps serving, and the
// campaign still ends with exactly one stored result per job, none of them
// from the impostor.
#include <signal.h>

#include <msgpack.hpp>
#include <zmq.hpp>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "schema/messages.h"
#include "tests/e2e/farm_test_base.h"

namespace graphene::e2e {
namespace {

using ::testing::HasSubstr;

std::string Frame(uint32_t version, uint32_t type, const std::map<std::string, int>& body) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(buffer);
  packer.pack_array(3);
  packer.pack(version);
  packer.pack(type);
  packer.pack(body);
  return std::string(buffer.data(), buffer.size());
}

// A DEALER socket speaking to the coordinator from the test itself.
class RawPeer {
 public:
  RawPeer(zmq::context_t& context, const std::string& endpoint)
      : socket_(context, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.connect(endpoint);
  }
  void Send(const std::string& bytes) { socket_.send(zmq::buffer(bytes), zmq::send_flags::none); }
  void Send(const Message& message) { Send(Encode(message)); }
  void SendFrames(const std::vector<std::string>& frames) {
    for (size_t i = 0; i < frames.size(); ++i) {
      socket_.send(zmq::buffer(frames[i]),
                   i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    }
  }
  // Jobs received within `limit`, skipping heartbeats.
  std::vector<Job> ReceiveJobs(std::chrono::milliseconds limit) {
    std::vector<Job> jobs;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
      if (zmq_poll(&item, 1, 50) <= 0) continue;
      zmq::message_t frame;
      if (!socket_.recv(frame, zmq::recv_flags::dontwait)) continue;
      Result<Message> message = Decode(frame.to_string_view());
      if (message.ok() && std::holds_alternative<JobBatch>(*message)) {
        for (Job& job : std::get<JobBatch>(*message).jobs) jobs.push_back(std::move(job));
      }
    }
    return jobs;
  }

 private:
  zmq::socket_t socket_;
};

ExecutionResult ForgedResult(uint64_t campaign, uint64_t index) {
  ExecutionResult result;
  result.campaign = campaign;
  result.index = index;
  result.status = "ok";
  result.agent = "forger";
  return result;
}

TEST_F(FarmTest, BadPeersAreDroppedAndTheCampaignStaysExact) {
  auto coordinator = StartCoordinator();
  auto agent = StartAgent("honest", *coordinator);
  auto client = StartClient({"--generate", "100", "--repeat", "4"});
  ASSERT_TRUE(WaitForResults(1, 100)) << client->Err();

  zmq::context_t context;
  RawPeer peer(context, endpoint());
  peer.Send(std::string("\xc1\xc1\xc1 not msgpack"));
  peer.Send(std::string("\x93\x01"));  // an array that claims 3 elements and holds 1
  peer.Send(Frame(99, 2, {{"credit", 1}}));
  peer.Send(Frame(kProtocolVersion, 200, {}));
  peer.SendFrames({Encode(HeartbeatNow()), "second frame"});
  // Results from a peer that never said hello.
  peer.Send(ResultBatch{.results = {ForgedResult(1, 0), ForgedResult(1, 1)}});

  // An impostor agent: says hello, takes jobs, forges results for jobs it was
  // not given, then vanishes with the ones it was given.
  RawPeer impostor(context, endpoint());
  impostor.Send(Hello{.agent = "forger", .slots = 8});
  impostor.Send(Ready{.credit = 8});
  const std::vector<Job> taken = impostor.ReceiveJobs(std::chrono::milliseconds{1500});
  ASSERT_FALSE(taken.empty()) << "the impostor got no jobs";
  std::set<uint64_t> leased;
  for (const Job& job : taken) leased.insert(job.index);
  ResultBatch forged;
  // The last jobs of the campaign: not done yet, and not given to it.
  for (uint64_t index = 1150; index < 1200; ++index) {
    if (!leased.contains(index)) forged.results.push_back(ForgedResult(1, index));
  }
  impostor.Send(forged);
  impostor.Send(ResultBatch{.results = {ForgedResult(77, 0)}});  // a campaign that does not exist
  // And one message over the 64 MiB limit, which closes its connection.
  RawPeer giant(context, endpoint());
  giant.Send(std::string(kMaxWireMessageBytes + 1024, 'x'));

  ASSERT_EQ(client->Wait(std::chrono::seconds{180}), 0) << client->Err();
  ExpectOneResultPerJob(1);
  EXPECT_EQ(AgentsOf(coordinator_db(), 1), std::vector<std::string>{"honest"})
      << "a stored result came from the impostor";
  const std::string log = coordinator->Err();
  EXPECT_THAT(log, HasSubstr("malformed message"));
  EXPECT_THAT(log, HasSubstr("protocol version 99"));
  EXPECT_THAT(log, HasSubstr("unknown message type 200"));
  EXPECT_THAT(log, HasSubstr("2 frames, expected 1"));
  EXPECT_THAT(log, HasSubstr("it has not said hello"));
  EXPECT_THAT(log, HasSubstr("not leased to this agent"));
  EXPECT_THAT(log, HasSubstr("no such campaign is running"));
  EXPECT_THAT(log, HasSubstr("agent forger was silent"));
  EXPECT_TRUE(coordinator->running());

  StopAll({&agent, &coordinator});
  ExpectNothingLeft();
}

}  // namespace
}  // namespace graphene::e2e
