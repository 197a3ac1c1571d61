// HandshakeMonitor: why a CurveZMQ connection failed, in words. ZeroMQ
// retries a refused or mismatched handshake silently and forever, so an
// agent or client with the wrong key would just wait; the monitor reads the
// socket's handshake events and describes the failure, so it can be shown.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <zmq.hpp>

#include "base/status.h"

namespace graphene {

class HandshakeMonitor {
 public:
  // Watches `socket`, which will connect to `endpoint`; call before it
  // connects. `context` must outlive the monitor, and the monitor `socket`.
  static Result<std::unique_ptr<HandshakeMonitor>> Attach(zmq::context_t& context,
                                                          zmq::socket_t& socket,
                                                          std::string endpoint);
  HandshakeMonitor(const HandshakeMonitor&) = delete;
  HandshakeMonitor& operator=(const HandshakeMonitor&) = delete;
  ~HandshakeMonitor();

  // For zmq_poll on the calling thread.
  void* handle() { return events_.handle(); }
  // Reads the pending events without blocking; the last failure among them.
  std::optional<std::string> TakeFailure();

  // Instead of polling: a thread that logs each failure (at most one line
  // every `interval` while they repeat) under `component`, until destroyed.
  void LogInBackground(std::string_view component, std::chrono::seconds interval);

 private:
  HandshakeMonitor(std::string endpoint, zmq::socket_t events)
      : endpoint_(std::move(endpoint)), events_(std::move(events)) {}

  std::string endpoint_;
  zmq::socket_t events_;  // the PAIR end of the socket's monitor
  std::atomic<bool> stop_{false};
  std::thread logger_;
};

}  // namespace graphene
