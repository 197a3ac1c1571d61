#include "schema/messages.h"

#include <fmt/format.h>

#include <chrono>
#include <iterator>

namespace graphene {
namespace {

// Wire type codes. Append only: a code, once used, keeps its meaning.
enum class TypeCode : uint32_t {
  kHello = 1,
  kReady = 2,
  kJobBatch = 3,
  kResultBatch = 4,
  kHeartbeat = 5,
  kBye = 6,
  kFetchBundle = 7,
  kBundleData = 8,
  kSubmit = 9,
  kSubmitted = 10,
  kWatch = 11,
  kCampaignState = 12,
  kFetchResults = 13,
  kResultsPage = 14,
  kStatusRequest = 15,
  kStatusReply = 16,
  kRefused = 17,
};

template <typename T>
struct CodeOf;
template <>
struct CodeOf<Hello> : std::integral_constant<TypeCode, TypeCode::kHello> {};
template <>
struct CodeOf<Ready> : std::integral_constant<TypeCode, TypeCode::kReady> {};
template <>
struct CodeOf<JobBatch> : std::integral_constant<TypeCode, TypeCode::kJobBatch> {};
template <>
struct CodeOf<ResultBatch> : std::integral_constant<TypeCode, TypeCode::kResultBatch> {};
template <>
struct CodeOf<Heartbeat> : std::integral_constant<TypeCode, TypeCode::kHeartbeat> {};
template <>
struct CodeOf<Bye> : std::integral_constant<TypeCode, TypeCode::kBye> {};
template <>
struct CodeOf<FetchBundle> : std::integral_constant<TypeCode, TypeCode::kFetchBundle> {};
template <>
struct CodeOf<BundleData> : std::integral_constant<TypeCode, TypeCode::kBundleData> {};
template <>
struct CodeOf<Submit> : std::integral_constant<TypeCode, TypeCode::kSubmit> {};
template <>
struct CodeOf<Submitted> : std::integral_constant<TypeCode, TypeCode::kSubmitted> {};
template <>
struct CodeOf<Watch> : std::integral_constant<TypeCode, TypeCode::kWatch> {};
template <>
struct CodeOf<CampaignState> : std::integral_constant<TypeCode, TypeCode::kCampaignState> {};
template <>
struct CodeOf<FetchResults> : std::integral_constant<TypeCode, TypeCode::kFetchResults> {};
template <>
struct CodeOf<ResultsPage> : std::integral_constant<TypeCode, TypeCode::kResultsPage> {};
template <>
struct CodeOf<StatusRequest> : std::integral_constant<TypeCode, TypeCode::kStatusRequest> {};
template <>
struct CodeOf<StatusReply> : std::integral_constant<TypeCode, TypeCode::kStatusReply> {};
template <>
struct CodeOf<Refused> : std::integral_constant<TypeCode, TypeCode::kRefused> {};

// Deeper nesting than any message of ours has.
constexpr size_t kMaxDecodeDepth = 32;

template <typename T>
Result<Message> As(const msgpack::object& body) {
  return Message(body.as<T>());
}

}  // namespace

Heartbeat HeartbeatNow() {
  auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return Heartbeat{static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count())};
}

std::string_view MessageName(const Message& message) {
  static constexpr std::string_view kNames[] = {
      "hello",          "ready",        "jobs",          "results",       "heartbeat",
      "bye",            "fetch-bundle", "bundle",        "submit",        "submitted",
      "watch",          "campaign-state", "fetch-results", "results-page", "status-request",
      "status-reply",   "refused"};
  static_assert(std::size(kNames) == std::variant_size_v<Message>);
  return kNames[message.index()];
}

std::string Encode(const Message& message) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> packer(buffer);
  packer.pack_array(3);
  packer.pack(kProtocolVersion);
  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        packer.pack(static_cast<uint32_t>(CodeOf<T>::value));
        packer.pack(body);
      },
      message);
  return std::string(buffer.data(), buffer.size());
}

Result<Message> Decode(std::string_view bytes) {
  if (static_cast<int64_t>(bytes.size()) > kMaxWireMessageBytes) {
    return Status::Error(fmt::format("message of {} bytes exceeds the limit", bytes.size()));
  }
  try {
    // Every element takes at least one byte, so no honest container claims
    // more elements than the message has bytes; refusing such claims up front
    // stops a 5-byte message from making msgpack allocate gigabytes.
    const size_t n = bytes.size();
    const msgpack::unpack_limit limit(n, n, n, n, n, kMaxDecodeDepth);
    size_t consumed = 0;
    msgpack::object_handle handle =
        msgpack::unpack(bytes.data(), bytes.size(), consumed, nullptr, nullptr, limit);
    if (consumed != bytes.size()) {
      return Status::Error(
          fmt::format("{} stray bytes after the message", bytes.size() - consumed));
    }
    const msgpack::object& root = handle.get();
    if (root.type != msgpack::type::ARRAY || root.via.array.size != 3) {
      return Status::Error("message is not a [version, type, body] array");
    }
    const msgpack::object* parts = root.via.array.ptr;
    if (parts[0].type != msgpack::type::POSITIVE_INTEGER) {
      return Status::Error("message has no protocol version");
    }
    uint64_t version = parts[0].via.u64;
    if (version != kProtocolVersion) {
      return Status::Error(fmt::format("protocol version {} is not the supported version {}",
                                       version, kProtocolVersion));
    }
    if (parts[1].type != msgpack::type::POSITIVE_INTEGER) {
      return Status::Error("message type is not a number");
    }
    if (parts[1].via.u64 > UINT32_MAX) {
      return Status::Error(fmt::format("unknown message type {}", parts[1].via.u64));
    }
    if (parts[2].type != msgpack::type::MAP) return Status::Error("message body is not a map");
    switch (static_cast<TypeCode>(parts[1].via.u64)) {
      case TypeCode::kHello:
        return As<Hello>(parts[2]);
      case TypeCode::kReady:
        return As<Ready>(parts[2]);
      case TypeCode::kJobBatch:
        return As<JobBatch>(parts[2]);
      case TypeCode::kResultBatch:
        return As<ResultBatch>(parts[2]);
      case TypeCode::kHeartbeat:
        return As<Heartbeat>(parts[2]);
      case TypeCode::kBye:
        return As<Bye>(parts[2]);
      case TypeCode::kFetchBundle:
        return As<FetchBundle>(parts[2]);
      case TypeCode::kBundleData:
        return As<BundleData>(parts[2]);
      case TypeCode::kSubmit:
        return As<Submit>(parts[2]);
      case TypeCode::kSubmitted:
        return As<Submitted>(parts[2]);
      case TypeCode::kWatch:
        return As<Watch>(parts[2]);
      case TypeCode::kCampaignState:
        return As<CampaignState>(parts[2]);
      case TypeCode::kFetchResults:
        return As<FetchResults>(parts[2]);
      case TypeCode::kResultsPage:
        return As<ResultsPage>(parts[2]);
      case TypeCode::kStatusRequest:
        return As<StatusRequest>(parts[2]);
      case TypeCode::kStatusReply:
        return As<StatusReply>(parts[2]);
      case TypeCode::kRefused:
        return As<Refused>(parts[2]);
    }
    return Status::Error(fmt::format("unknown message type {}", parts[1].via.u64));
  } catch (const std::exception& e) {
    return Status::Error(fmt::format("malformed message: {}", e.what()));
  }
}

}  // namespace graphene
