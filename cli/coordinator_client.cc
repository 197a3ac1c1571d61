#include "cli/coordinator_client.h"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

namespace graphene {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kPollTimeout{100};

}  // namespace

Result<std::unique_ptr<CoordinatorClient>> CoordinatorClient::Connect(
    zmq::context_t& context, const std::string& endpoint,
    const std::function<void(zmq::socket_t&)>& configure) {
  static std::atomic<int> monitors{0};
  try {
    zmq::socket_t socket(context, zmq::socket_type::dealer);
    socket.set(zmq::sockopt::maxmsgsize, kMaxWireMessageBytes);
    socket.set(zmq::sockopt::linger, 0);
    if (configure) configure(socket);
    const std::string monitor_endpoint =
        fmt::format("inproc://graphene-client-monitor-{}-{}", ::getpid(), monitors++);
    if (zmq_socket_monitor(socket.handle(), monitor_endpoint.c_str(),
                           ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) != 0) {
      throw zmq::error_t();
    }
    zmq::socket_t monitor(context, zmq::socket_type::pair);
    monitor.set(zmq::sockopt::linger, 0);
    monitor.connect(monitor_endpoint);
    socket.connect(endpoint);
    return std::unique_ptr<CoordinatorClient>(
        new CoordinatorClient(endpoint, std::move(socket), std::move(monitor)));
  } catch (const zmq::error_t& e) {
    return Status::Error(fmt::format("connecting to the coordinator at {}: {}", endpoint, e.what()));
  }
}

CoordinatorClient::CoordinatorClient(std::string endpoint, zmq::socket_t socket,
                                     zmq::socket_t monitor)
    : endpoint_(std::move(endpoint)), socket_(std::move(socket)), monitor_(std::move(monitor)) {}

std::optional<std::string> CoordinatorClient::HandshakeFailure() {
  while (true) {
    zmq::message_t event, address;
    if (!monitor_.recv(event, zmq::recv_flags::dontwait)) return std::nullopt;
    if (!event.more() || !monitor_.recv(address)) return std::nullopt;
    if (event.size() < 6) continue;
    uint16_t id = 0;
    uint32_t value = 0;
    std::memcpy(&id, event.data(), sizeof(id));
    std::memcpy(&value, static_cast<const char*>(event.data()) + 2, sizeof(value));
    if (id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
      return fmt::format("the coordinator at {} refused this machine's key (ZAP status {}): add "
                         "its .pub file to the coordinator's --authorized-keys",
                         endpoint_, value);
    }
    if (id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
      return fmt::format("the security handshake with {} failed: check that both sides use keys "
                         "and that --coordinator-key is the coordinator's public key",
                         endpoint_);
    }
  }
}

Result<Message> CoordinatorClient::Call(const Message& request,
                                        const std::function<bool(const Message&)>& matches,
                                        milliseconds timeout, const std::atomic<bool>& stop,
                                        milliseconds retry) {
  const std::string bytes = Encode(request);
  refused_ = false;
  const Clock::time_point deadline = Clock::now() + timeout;
  Clock::time_point next_send = Clock::now();
  try {
    while (true) {
      if (stop.load()) return Status::Error("interrupted");
      const Clock::time_point now = Clock::now();
      if (now >= deadline) {
        return Status::Error(fmt::format(
            "no answer from the coordinator at {} within {} s (is it running there, and do the "
            "keys match?)",
            endpoint_, std::chrono::duration_cast<std::chrono::seconds>(timeout).count()));
      }
      if (now >= next_send) {
        // Not sent when the socket has nowhere to queue it; tried again later.
        (void)socket_.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
        next_send = now + retry;
      }
      zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0},
                                 {monitor_.handle(), 0, ZMQ_POLLIN, 0}};
      if (zmq_poll(items, 2, static_cast<long>(kPollTimeout.count())) < 0 && zmq_errno() != EINTR) {
        throw zmq::error_t();
      }
      if (items[1].revents & ZMQ_POLLIN) {
        if (std::optional<std::string> failure = HandshakeFailure()) {
          return Status::Error(*failure);
        }
      }
      zmq::message_t frame;
      while (socket_.recv(frame, zmq::recv_flags::dontwait)) {
        Result<Message> reply = Decode(frame.to_string_view());
        if (!reply.ok()) continue;  // a garbled reply: the retry will fetch another
        if (const Refused* refused = std::get_if<Refused>(&*reply)) {
          if (refused->request == MessageName(request)) {
            refused_ = true;
            return Status::Error(refused->reason);
          }
          continue;
        }
        if (matches(*reply)) return reply;
      }
    }
  } catch (const zmq::error_t& e) {
    return Status::Error(fmt::format("talking to the coordinator at {}: {}", endpoint_, e.what()));
  }
}

}  // namespace graphene
