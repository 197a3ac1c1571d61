#include "security/zap_handler.h"

#include <chrono>
#include <iterator>
#include <string_view>
#include <vector>
#include <zmq_addon.hpp>

#include "base/log.h"
#include "base/zmq_nonblocking.h"
#include "security/keys.h"

namespace graphene {
namespace {

constexpr Logger kLog("security");

// Fixed by RFC 27: libzmq connects every handshake's request here.
constexpr char kZapEndpoint[] = "inproc://zeromq.zap.01";
constexpr std::string_view kZapVersion = "1.0";
// How long the thread waits for a request before it looks at the stop flag.
constexpr std::chrono::milliseconds kPollInterval(50);
// Bounds the memory an attacker cycling addresses can make us spend on
// "already logged" entries; past it, the set starts over.
constexpr size_t kMaxLoggedRefusals = 4096;

// Frames of a request, in order (RFC 27).
enum Frame : size_t {
  kVersion = 0,
  kRequestId,
  kDomain,
  kAddress,
  kIdentity,
  kMechanism,
  kFirstCredential,
};

}  // namespace

Result<std::unique_ptr<ZapHandler>> ZapHandler::Start(
    zmq::context_t& context, std::set<std::string> authorized_public_keys_z85) {
  for (const std::string& key : authorized_public_keys_z85) {
    if (!IsZ85Key(key)) return Status::Error("authorized key '" + key + "' is not a Z85 key");
  }
  try {
    zmq::socket_t socket(context, zmq::socket_type::rep);
    socket.set(zmq::sockopt::linger, 0);
    socket.bind(kZapEndpoint);
    return std::unique_ptr<ZapHandler>(
        new ZapHandler(std::move(socket), std::move(authorized_public_keys_z85)));
  } catch (const zmq::error_t& error) {
    return Status::Error(std::string("binding the ZAP handler to ") + kZapEndpoint + ": " +
                         error.what());
  }
}

ZapHandler::ZapHandler(zmq::socket_t socket, std::set<std::string> authorized)
    : socket_(std::move(socket)), authorized_(std::move(authorized)) {
  // The socket moves to the thread here; thread creation orders the handover.
  thread_ = std::thread([this] {
    LeaveStopSignalsToMainThread();
    Serve();
  });
}

ZapHandler::~ZapHandler() {
  stop_.store(true);
  thread_.join();
}

void ZapHandler::Serve() {
  zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
  try {
    while (!stop_.load()) {
      if (zmq::poll(&item, 1, kPollInterval) == 0) continue;
      std::vector<zmq::message_t> request;
      if (!zmq::recv_multipart(socket_, std::back_inserter(request), zmq::recv_flags::dontwait)) {
        continue;
      }
      Answer(request);
    }
  } catch (const zmq::error_t& error) {
    // ETERM: the context is closing under us; nothing more can be served.
    if (error.num() != ETERM) kLog.Warn("ZAP handler stopped: {}", error.what());
  }
}

void ZapHandler::Answer(const std::vector<zmq::message_t>& request) {
  auto text = [&](size_t frame) {
    return frame < request.size() ? request[frame].to_string() : std::string();
  };
  const std::string request_id = text(kRequestId);
  const std::string address = text(kAddress);
  const std::string mechanism = text(kMechanism);

  std::string status_code = "400";
  std::string status_text;
  std::string user_id;
  if (request.size() < kFirstCredential || text(kVersion) != kZapVersion) {
    status_text = "malformed ZAP request";
    LogRefusal("a connection", address, status_text);
  } else if (mechanism != "CURVE") {
    status_text = "mechanism " + mechanism + " not allowed; CURVE is required";
    LogRefusal("a client using mechanism " + mechanism, address, "only CURVE is allowed");
  } else if (request.size() != kFirstCredential + 1 || request[kFirstCredential].size() != 32) {
    status_text = "malformed CURVE credentials";
    LogRefusal("a CURVE client", address, status_text);
  } else if (const std::string key = EncodeZ85Key(request[kFirstCredential].to_string_view());
             authorized_.count(key) == 0) {
    status_text = "public key not authorized";
    LogRefusal("agent or client with key " + key, address, "not in the authorized keys");
  } else {
    status_code = "200";
    status_text = "OK";
    user_id = key;
  }
  (status_code == "200" ? accepted_ : refused_).fetch_add(1);

  // A REP socket must answer every request, even a malformed one, or it
  // stops reading.
  std::vector<zmq::const_buffer> reply = {
      zmq::buffer(kZapVersion), zmq::buffer(request_id), zmq::buffer(status_code),
      zmq::buffer(status_text), zmq::buffer(user_id),    zmq::const_buffer(),
  };
  zmq::send_multipart(socket_, reply);
}

void ZapHandler::LogRefusal(const std::string& what, const std::string& address,
                            const std::string& reason) {
  if (logged_refusals_.size() >= kMaxLoggedRefusals) logged_refusals_.clear();
  if (!logged_refusals_.insert(what + "\n" + address).second) return;
  kLog.Warn("refused {} from {}: {}", what, address.empty() ? "an unknown address" : address,
            reason);
}

}  // namespace graphene
