// CoordinatorClient: how `run-all --coordinator`, `attach` and `status` talk
// to a running coordinator. Each request is answered by one reply; a request
// without an answer is sent again (every request is safe to repeat: Submit
// carries its submission token), so a coordinator restart or a lost
// connection only delays the client. A coordinator that refuses this
// client's key is reported as such instead of waiting forever.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <zmq.hpp>

#include "base/status.h"
#include "schema/messages.h"
#include "security/handshake_monitor.h"

namespace graphene {

class CoordinatorClient {
 public:
  // Connects (ZeroMQ connects lazily: nothing is known about the
  // coordinator until the first Call). `configure` (may be empty) is applied
  // to the socket first, e.g. CurveZMQ keys.
  static Result<std::unique_ptr<CoordinatorClient>> Connect(
      zmq::context_t& context, const std::string& endpoint,
      const std::function<void(zmq::socket_t&)>& configure);

  // Sends `request` and returns the first reply `matches` accepts, sending
  // the request again every `retry`. Fails with the coordinator's reason on
  // a Refused reply to this request, "interrupted" once `stop` is set, and a
  // one-line error after `timeout` without an answer or when the
  // coordinator refuses our key.
  Result<Message> Call(const Message& request,
                       const std::function<bool(const Message&)>& matches,
                       std::chrono::milliseconds timeout, const std::atomic<bool>& stop,
                       std::chrono::milliseconds retry = std::chrono::seconds{5});

  const std::string& endpoint() const { return endpoint_; }
  // Whether the last Call failed because the coordinator refused the request
  // (as opposed to not answering).
  bool refused() const { return refused_; }

 private:
  CoordinatorClient(std::string endpoint, zmq::socket_t socket,
                    std::unique_ptr<HandshakeMonitor> monitor);

  std::string endpoint_;
  zmq::socket_t socket_;
  std::unique_ptr<HandshakeMonitor> monitor_;  // handshake failures of socket_
  bool refused_ = false;
};

}  // namespace graphene
