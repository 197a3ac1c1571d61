// ZapHandler: the ZeroMQ authenticator (ZAP, RFC 27) of the coordinator.
// A CURVE server socket only proves that a client holds the secret of the
// public key it presents; without a ZAP handler libzmq admits any such client.
// This handler lets in only the listed public keys, and names the key as the
// connection's user id ("User-Id" message property).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "base/status.h"

namespace graphene {

class ZapHandler {
 public:
  // Binds the ZAP endpoint of `context` and answers requests on a thread of
  // its own until destroyed. Call before any CURVE server socket of `context`
  // binds, so no handshake runs unchecked. `authorized_public_keys_z85` holds
  // 40-character Z85 keys. Fails if `context` already has a ZAP handler.
  // The handler must be destroyed before `context` is closed.
  static Result<std::unique_ptr<ZapHandler>> Start(
      zmq::context_t& context, std::set<std::string> authorized_public_keys_z85);

  // Stops the thread (within ~100 ms) and unbinds the endpoint.
  ~ZapHandler();
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

  // Handshakes admitted and refused so far.
  uint64_t accepted() const { return accepted_.load(); }
  uint64_t refused() const { return refused_.load(); }

 private:
  ZapHandler(zmq::socket_t socket, std::set<std::string> authorized);
  void Serve();
  // Answers one request, given as its frames.
  void Answer(const std::vector<zmq::message_t>& request);
  // Logs a refusal once per `what` and `address`, so a client that retries
  // every reconnect interval does not flood the log.
  void LogRefusal(const std::string& what, const std::string& address, const std::string& reason);

  zmq::socket_t socket_;
  const std::set<std::string> authorized_;
  std::set<std::string> logged_refusals_;  // Only touched by the thread.
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> refused_{0};
  std::thread thread_;
};

}  // namespace graphene
