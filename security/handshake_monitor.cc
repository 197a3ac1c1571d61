#include "security/handshake_monitor.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "base/log.h"
#include "base/zmq_nonblocking.h"

namespace graphene {
namespace {

std::string Describe(uint16_t event, uint32_t value, const std::string& endpoint) {
  if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
    return fmt::format("the coordinator at {} refused this machine's key (ZAP status {}): add its "
                       ".pub file to the coordinator's --authorized-keys",
                       endpoint, value);
  }
  return fmt::format("the security handshake with {} failed: check that both sides use keys and "
                     "that --coordinator-key is the coordinator's public key",
                     endpoint);
}

}  // namespace

Result<std::unique_ptr<HandshakeMonitor>> HandshakeMonitor::Attach(zmq::context_t& context,
                                                                   zmq::socket_t& socket,
                                                                   std::string endpoint) {
  static std::atomic<int> count{0};
  const std::string address = fmt::format("inproc://graphene-handshake-{}-{}", ::getpid(), count++);
  if (zmq_socket_monitor(socket.handle(), address.c_str(),
                         ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) !=
      0) {
    return Status::Error(fmt::format("monitoring the connection to {}: {}", endpoint,
                                     zmq_strerror(zmq_errno())));
  }
  try {
    zmq::socket_t events(context, zmq::socket_type::pair);
    events.set(zmq::sockopt::linger, 0);
    events.connect(address);
    return std::unique_ptr<HandshakeMonitor>(
        new HandshakeMonitor(std::move(endpoint), std::move(events)));
  } catch (const zmq::error_t& e) {
    return Status::Error(fmt::format("monitoring the connection to {}: {}", endpoint, e.what()));
  }
}

HandshakeMonitor::~HandshakeMonitor() {
  stop_.store(true);
  if (logger_.joinable()) logger_.join();
}

std::optional<std::string> HandshakeMonitor::TakeFailure() {
  std::optional<std::string> failure;
  while (true) {
    std::vector<zmq::message_t> frames;
    if (!TryReceiveMultipart(events_, frames)) return failure;
    if (frames.size() != 2) continue;
    const zmq::message_t& event = frames[0];
    if (event.size() < 6) continue;
    uint16_t id = 0;
    uint32_t value = 0;
    std::memcpy(&id, event.data(), sizeof(id));
    std::memcpy(&value, static_cast<const char*>(event.data()) + 2, sizeof(value));
    failure = Describe(id, value, endpoint_);
  }
}

void HandshakeMonitor::LogInBackground(std::string_view component,
                                       std::chrono::seconds interval) {
  logger_ = std::thread([this, component, interval] {
    LeaveStopSignalsToMainThread();
    const Logger log(component);
    std::optional<std::chrono::steady_clock::time_point> last;
    while (!stop_.load()) {
      zmq::pollitem_t item{events_.handle(), 0, ZMQ_POLLIN, 0};
      if (zmq_poll(&item, 1, 100) <= 0) continue;
      std::optional<std::string> failure = TakeFailure();
      const auto now = std::chrono::steady_clock::now();
      if (failure && (!last || now - *last >= interval)) {
        log.Warn("{}", *failure);
        last = now;
      }
    }
  });
}

}  // namespace graphene
