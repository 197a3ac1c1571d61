#include "security/zap_handler.h"

#include <gtest/gtest.h>

#include <chrono>
#include <iterator>
#include <optional>
#include <thread>
#include <vector>
#include <zmq_addon.hpp>

#include "security/keys.h"

namespace graphene {
namespace {

using std::chrono::milliseconds;

KeyPair NewKeys() {
  auto keys = GenerateKeyPair();
  EXPECT_TRUE(keys.ok()) << keys.status().message();
  return *keys;
}

// The next multipart message on `socket`, or nullopt if none comes in `timeout`.
std::optional<std::vector<zmq::message_t>> ReceiveWithin(zmq::socket_t& socket,
                                                         milliseconds timeout) {
  zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
  if (zmq::poll(&item, 1, timeout) == 0) return std::nullopt;
  std::vector<zmq::message_t> frames;
  if (!zmq::recv_multipart(socket, std::back_inserter(frames))) return std::nullopt;
  return frames;
}

// Waits up to `timeout` for `done` to hold.
template <typename Predicate>
bool WaitFor(Predicate done, milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

// A coordinator-like ROUTER with CURVE and a ZapHandler admitting `client_`.
class ZapHandlerTest : public testing::Test {
 protected:
  void SetUp() override {
    auto handler = ZapHandler::Start(context_, {client_.public_key});
    ASSERT_TRUE(handler.ok()) << handler.status().message();
    handler_ = std::move(handler).value();
    server_.set(zmq::sockopt::linger, 0);
    ApplyCurveServer(server_, server_keys_);
    server_.bind("tcp://127.0.0.1:*");
    endpoint_ = server_.get(zmq::sockopt::last_endpoint);
  }

  // A DEALER that sends with its `own` keys to the server it pins by `server_key`.
  zmq::socket_t CurveClient(const KeyPair& own, const std::string& server_key) {
    zmq::socket_t client(client_context_, zmq::socket_type::dealer);
    client.set(zmq::sockopt::linger, 0);
    client.set(zmq::sockopt::sndtimeo, 1000);
    ApplyCurveClient(client, own, server_key);
    client.connect(endpoint_);
    return client;
  }

  // True when a "hello" sent from `client` reaches the server within a second.
  bool HelloArrives(zmq::socket_t& client) {
    EXPECT_TRUE(client.send(zmq::str_buffer("hello")));
    return ReceiveWithin(server_, milliseconds(1000)).has_value();
  }

  const KeyPair server_keys_ = NewKeys();
  const KeyPair client_ = NewKeys();
  zmq::context_t client_context_;
  zmq::context_t context_;
  std::unique_ptr<ZapHandler> handler_;
  zmq::socket_t server_{context_, zmq::socket_type::router};
  std::string endpoint_;

  void TearDown() override {
    server_.close();
    handler_.reset();
  }
};

TEST_F(ZapHandlerTest, AuthorizedClientExchangesMessages) {
  zmq::socket_t client = CurveClient(client_, server_keys_.public_key);
  ASSERT_TRUE(client.send(zmq::str_buffer("hello")));
  auto request = ReceiveWithin(server_, milliseconds(5000));
  ASSERT_TRUE(request.has_value());
  ASSERT_EQ(request->size(), 2u);
  EXPECT_EQ((*request)[1].to_string(), "hello");
  EXPECT_EQ(std::string((*request)[1].gets("User-Id")), client_.public_key);

  std::vector<zmq::const_buffer> reply = {zmq::buffer((*request)[0].to_string_view()),
                                          zmq::str_buffer("welcome")};
  ASSERT_TRUE(zmq::send_multipart(server_, reply));
  auto answer = ReceiveWithin(client, milliseconds(5000));
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ((*answer)[0].to_string(), "welcome");
  EXPECT_GE(handler_->accepted(), 1u);
  EXPECT_EQ(handler_->refused(), 0u);
}

TEST_F(ZapHandlerTest, UnknownKeyIsRefused) {
  zmq::socket_t stranger = CurveClient(NewKeys(), server_keys_.public_key);
  EXPECT_FALSE(HelloArrives(stranger));
  EXPECT_TRUE(WaitFor([&] { return handler_->refused() > 0; }, milliseconds(2000)));
  EXPECT_EQ(handler_->accepted(), 0u);
}

TEST_F(ZapHandlerTest, ClientPinningAnotherServerKeyNeverGetsThrough) {
  zmq::socket_t client = CurveClient(client_, NewKeys().public_key);
  EXPECT_FALSE(HelloArrives(client));
  EXPECT_EQ(handler_->accepted(), 0u);
}

TEST_F(ZapHandlerTest, NullSecurityClientNeverGetsThrough) {
  zmq::socket_t client(client_context_, zmq::socket_type::dealer);
  client.set(zmq::sockopt::linger, 0);
  client.set(zmq::sockopt::sndtimeo, 1000);
  client.connect(endpoint_);
  EXPECT_FALSE(HelloArrives(client));
  EXPECT_EQ(handler_->accepted(), 0u);
}

TEST_F(ZapHandlerTest, OnlyOneHandlerPerContext) {
  auto second = ZapHandler::Start(context_, {client_.public_key});
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("inproc://zeromq.zap.01"), std::string::npos);
}

TEST(ZapHandlerStartTest, RejectsInvalidAuthorizedKeys) {
  zmq::context_t context;
  EXPECT_FALSE(ZapHandler::Start(context, {"not-a-key"}).ok());
}

// Talks RFC 27 to the handler directly, as libzmq would.
class ZapProtocolTest : public testing::Test {
 protected:
  void SetUp() override {
    auto handler = ZapHandler::Start(context_, {client_.public_key});
    ASSERT_TRUE(handler.ok()) << handler.status().message();
    handler_ = std::move(handler).value();
    requester_.set(zmq::sockopt::linger, 0);
    requester_.connect("inproc://zeromq.zap.01");
  }
  void TearDown() override {
    requester_.close();
    handler_.reset();
  }

  std::vector<std::string> Ask(const std::vector<std::string>& frames) {
    std::vector<zmq::const_buffer> request;
    for (const std::string& frame : frames) request.push_back(zmq::buffer(frame));
    EXPECT_TRUE(zmq::send_multipart(requester_, request));
    auto reply = ReceiveWithin(requester_, milliseconds(5000));
    std::vector<std::string> texts;
    if (reply) {
      for (const auto& frame : *reply) texts.push_back(frame.to_string());
    }
    return texts;
  }

  std::string RawKey(const std::string& z85) {
    std::string raw(32, '\0');
    zmq_z85_decode(reinterpret_cast<uint8_t*>(raw.data()), z85.c_str());
    return raw;
  }

  const KeyPair client_ = NewKeys();
  zmq::context_t context_;
  std::unique_ptr<ZapHandler> handler_;
  zmq::socket_t requester_{context_, zmq::socket_type::req};
};

TEST_F(ZapProtocolTest, AcceptsListedCurveKeyWithItAsUserId) {
  const auto reply =
      Ask({"1.0", "7", "graphene", "10.0.0.1", "", "CURVE", RawKey(client_.public_key)});
  EXPECT_EQ(reply, (std::vector<std::string>{"1.0", "7", "200", "OK", client_.public_key, ""}));
  EXPECT_EQ(handler_->accepted(), 1u);
}

TEST_F(ZapProtocolTest, RefusesUnlistedKeyOtherMechanismsAndMalformedRequests) {
  const std::vector<std::vector<std::string>> requests = {
      {"1.0", "1", "graphene", "10.0.0.1", "", "CURVE", RawKey(NewKeys().public_key)},
      {"1.0", "2", "graphene", "10.0.0.1", "", "NULL"},
      {"1.0", "3", "graphene", "10.0.0.1", "", "PLAIN", "user", "password"},
      {"1.0", "4", "graphene", "10.0.0.1", "", "CURVE", "short"},
      {"2.0", "5", "graphene", "10.0.0.1", "", "CURVE", RawKey(client_.public_key)},
      {"1.0", "6"},
  };
  for (const auto& request : requests) {
    const auto reply = Ask(request);
    ASSERT_EQ(reply.size(), 6u);
    EXPECT_EQ(reply[1], request[1]);
    EXPECT_EQ(reply[2], "400") << request[1];
    EXPECT_EQ(reply[4], "");
  }
  EXPECT_EQ(handler_->refused(), requests.size());
  EXPECT_EQ(handler_->accepted(), 0u);
}

TEST_F(ZapProtocolTest, LogsARefusalOncePerKeyAndAddress) {
  const std::string stranger = RawKey(NewKeys().public_key);
  testing::internal::CaptureStderr();
  for (int i = 0; i < 3; ++i) Ask({"1.0", "1", "graphene", "10.0.0.9", "", "CURVE", stranger});
  Ask({"1.0", "1", "graphene", "10.0.0.10", "", "CURVE", stranger});
  const std::string log = testing::internal::GetCapturedStderr();
  const std::string line = "refused agent or client with key " + EncodeZ85Key(stranger) +
                           " from 10.0.0.9: not in the authorized keys";
  const auto first = log.find(line);
  ASSERT_NE(first, std::string::npos) << log;
  EXPECT_EQ(log.find(line, first + 1), std::string::npos) << log;
  EXPECT_NE(log.find("from 10.0.0.10"), std::string::npos) << log;
}

}  // namespace
}  // namespace graphene
