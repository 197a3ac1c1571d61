#include "cli/coordinator_client.h"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <vector>

#include "base/zmq_nonblocking.h"

namespace graphene {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kPollTimeout{100};

}  // namespace

Result<std::unique_ptr<CoordinatorClient>> CoordinatorClient::Connect(
    zmq::context_t& context, const std::string& endpoint,
    const std::function<void(zmq::socket_t&)>& configure) {
  try {
    zmq::socket_t socket(context, zmq::socket_type::dealer);
    socket.set(zmq::sockopt::maxmsgsize, kMaxWireMessageBytes);
    socket.set(zmq::sockopt::linger, 0);
    if (configure) configure(socket);
    Result<std::unique_ptr<HandshakeMonitor>> monitor =
        HandshakeMonitor::Attach(context, socket, endpoint);
    if (!monitor.ok()) return monitor.status();
    socket.connect(endpoint);
    return std::unique_ptr<CoordinatorClient>(
        new CoordinatorClient(endpoint, std::move(socket), std::move(monitor).value()));
  } catch (const zmq::error_t& e) {
    return Status::Error(fmt::format("connecting to the coordinator at {}: {}", endpoint, e.what()));
  }
}

CoordinatorClient::CoordinatorClient(std::string endpoint, zmq::socket_t socket,
                                     std::unique_ptr<HandshakeMonitor> monitor)
    : endpoint_(std::move(endpoint)), socket_(std::move(socket)), monitor_(std::move(monitor)) {}

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
        (void)TrySend(socket_, zmq::buffer(bytes));
        next_send = now + retry;
      }
      zmq::pollitem_t items[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0},
                                 {monitor_->handle(), 0, ZMQ_POLLIN, 0}};
      if (zmq_poll(items, 2, static_cast<long>(kPollTimeout.count())) < 0 && zmq_errno() != EINTR) {
        throw zmq::error_t();
      }
      if (items[1].revents & ZMQ_POLLIN) {
        if (std::optional<std::string> failure = monitor_->TakeFailure()) {
          return Status::Error(*failure);
        }
      }
      std::vector<zmq::message_t> frames;
      while (TryReceiveMultipart(socket_, frames)) {
        if (frames.size() != 1) {
          frames.clear();
          continue;
        }
        Result<Message> reply = Decode(frames[0].to_string_view());
        frames.clear();
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
