// The coordinator's event loop: one thread, one ROUTER socket. Each step
// waits for messages, applies them (Hello, Ready, results, Bye), passes
// accepted results to the sink, hands out jobs within each agent's credit,
// then sends heartbeats and forgets agents that fell silent.
#include "coordinator/coordinator.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <iterator>
#include <optional>
#include <unordered_set>
#include <utility>
#include <zmq_addon.hpp>

#include "base/log.h"
#include "base/overloaded.h"

namespace graphene {
namespace {

using Clock = std::chrono::steady_clock;

// The longest one wait blocks, so that RequestStop() is seen promptly.
constexpr std::chrono::milliseconds kPollTimeout{100};
// Messages applied before results are flushed and jobs handed out, so a
// flood from one peer cannot stall the rest of the loop.
constexpr int kMaxMessagesPerStep = 1024;
// Hello.slots is trusted up to this, which bounds one agent's leases.
constexpr uint32_t kMaxSlotsPerAgent = 1u << 16;
// Agent names are only for logs; a peer must not fill them with megabytes.
constexpr size_t kMaxAgentNameBytes = 128;

constexpr Logger kLog("coordinator");

// Waits up to `timeout` for `item`; a signal counts as "nothing yet".
Status PollOne(zmq::pollitem_t& item, std::chrono::milliseconds timeout) {
  if (zmq_poll(&item, 1, static_cast<long>(timeout.count())) >= 0 || zmq_errno() == EINTR) {
    return Status::Ok();
  }
  return Status::Error(
      fmt::format("polling the coordinator socket: {}", zmq_strerror(zmq_errno())));
}

}  // namespace

// An agent that said Hello on one connection.
struct Coordinator::Peer {
  std::string name;
  uint32_t slots = 0;
  uint32_t credit = 0;                  // jobs asked for and not sent yet
  std::unordered_set<uint64_t> leases;  // jobs sent to it, no result yet
  Clock::time_point last_heard;
  Clock::time_point last_sent;
};

// One RunCampaign's state. Every index of the plan is in exactly one place:
// ahead of `cursor`, in `requeue`, in one peer's leases, or in `done`.
struct Coordinator::Campaign {
  Campaign(const CampaignPlan& plan, ResultSink& sink) : plan(plan), sink(sink) {
    progress.total = plan.TotalJobs();
  }

  Status MarkDone(const std::vector<uint64_t>& indices);
  std::vector<uint64_t> Take(size_t count);
  void Requeue(std::vector<uint64_t> indices);
  std::optional<std::string> Refuse(const Peer& peer, const ExecutionResult& result) const;
  void Accept(ExecutionResult result);
  Status Flush();

  const CampaignPlan& plan;
  ResultSink& sink;
  JobIndexSet done;
  std::deque<uint64_t> requeue;  // lost leases, handed out before the cursor's jobs
  uint64_t cursor = 0;           // every index from here on was never handed out
  std::vector<std::pair<Job, ExecutionResult>> accepted;  // not yet passed to the sink
  Progress progress;
};

Status Coordinator::Campaign::MarkDone(const std::vector<uint64_t>& indices) {
  for (uint64_t index : indices) {
    if (index >= progress.total) {
      return Status::Error(fmt::format("already-done job {} is outside campaign {} of {} jobs",
                                       index, plan.campaign, progress.total));
    }
    done.Insert(index);
  }
  progress.done = done.size();
  return Status::Ok();
}

std::vector<uint64_t> Coordinator::Campaign::Take(size_t count) {
  std::vector<uint64_t> taken;
  while (taken.size() < count && !requeue.empty()) {
    taken.push_back(requeue.front());
    requeue.pop_front();
  }
  // Everything below the watermark is done: skip it in one go on resume.
  cursor = std::max(cursor, done.watermark());
  while (taken.size() < count && cursor < progress.total) {
    const uint64_t index = cursor++;
    if (!done.Contains(index)) taken.push_back(index);
  }
  return taken;
}

void Coordinator::Campaign::Requeue(std::vector<uint64_t> indices) {
  std::sort(indices.begin(), indices.end());
  requeue.insert(requeue.end(), indices.begin(), indices.end());
}

std::optional<std::string> Coordinator::Campaign::Refuse(const Peer& peer,
                                                         const ExecutionResult& result) const {
  if (result.campaign != plan.campaign) {
    return fmt::format("it belongs to campaign {}, not {}", result.campaign, plan.campaign);
  }
  if (result.index >= progress.total) return fmt::format("no such job in {}", progress.total);
  if (done.Contains(result.index)) return "the job is already done";
  if (!peer.leases.contains(result.index)) return "the job is not leased to this agent";
  return std::nullopt;
}

void Coordinator::Campaign::Accept(ExecutionResult result) {
  done.Insert(result.index);
  ++progress.done;
  if (result.escape_detected) ++progress.escapes;
  accepted.emplace_back(plan.JobAt(result.index), std::move(result));
}

Status Coordinator::Campaign::Flush() {
  if (accepted.empty()) return Status::Ok();
  return sink.Accept(std::exchange(accepted, {}));
}

Result<std::unique_ptr<Coordinator>> Coordinator::Create(zmq::context_t& context,
                                                         CoordinatorOptions options) {
  try {
    zmq::socket_t socket(context, zmq::socket_type::router);
    // Without this a send to a vanished peer is silently dropped, and its
    // jobs would wait for the heartbeat timeout instead of moving on at once.
    socket.set(zmq::sockopt::router_mandatory, 1);
    socket.set(zmq::sockopt::maxmsgsize, kMaxWireMessageBytes);
    socket.set(zmq::sockopt::linger, 0);
    socket.bind(options.endpoint);
    return std::unique_ptr<Coordinator>(new Coordinator(std::move(options), std::move(socket)));
  } catch (const zmq::error_t& e) {
    return Status::Error(
        fmt::format("binding the coordinator to {}: {}", options.endpoint, e.what()));
  }
}

Coordinator::Coordinator(CoordinatorOptions options, zmq::socket_t socket)
    : options_(std::move(options)), socket_(std::move(socket)) {}

Coordinator::~Coordinator() = default;

Status Coordinator::RunCampaign(const CampaignPlan& plan, ResultSink& sink,
                                const std::function<void(const Progress&)>& on_progress,
                                const std::vector<uint64_t>& already_done) {
  Campaign campaign(plan, sink);
  if (Status status = campaign.MarkDone(already_done); !status.ok()) return status;
  StartCampaign();
  if (on_progress) on_progress(campaign.progress);
  try {
    while (true) {
      if (stop_requested_.load()) return Status::Error("interrupted");
      if (campaign.progress.done == campaign.progress.total) return Status::Ok();
      const uint64_t done_before = campaign.progress.done;
      if (Status status = Step(campaign); !status.ok()) return status;
      if (Status status = campaign.Flush(); !status.ok()) return status;
      if (on_progress && campaign.progress.done != done_before) on_progress(campaign.progress);
    }
  } catch (const zmq::error_t& e) {
    return Status::Error(fmt::format("coordinator socket on {}: {}", options_.endpoint, e.what()));
  }
}

void Coordinator::StartCampaign() {
  // Leases left by an interrupted campaign are void: their late results carry
  // the old campaign, or find no lease. Nobody listened between campaigns,
  // so silence until now is ours, not the agents'.
  const Clock::time_point now = Clock::now();
  for (auto& [id, peer] : peers_) {
    peer->leases.clear();
    peer->last_heard = now;
  }
}

Status Coordinator::Step(Campaign& campaign) {
  zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
  if (Status status = PollOne(item, std::min(kPollTimeout, options_.heartbeat_interval));
      !status.ok()) {
    return status;
  }
  ReceiveAll(campaign);
  Dispatch(campaign);
  KeepAlive(campaign);
  return Status::Ok();
}

void Coordinator::ReceiveAll(Campaign& campaign) {
  for (int i = 0; i < kMaxMessagesPerStep; ++i) {
    std::vector<zmq::message_t> frames;
    if (!zmq::recv_multipart(socket_, std::back_inserter(frames), zmq::recv_flags::dontwait)) {
      return;
    }
    const std::string id = frames[0].to_string();
    if (frames.size() != 2) {
      kLog.Warn("dropping message from {}: {} frames, expected 1", PeerName(id), frames.size() - 1);
      continue;
    }
    Result<Message> message = Decode(frames[1].to_string_view());
    if (!message.ok()) {
      kLog.Warn("dropping message from {}: {}", PeerName(id), message.status().message());
      continue;
    }
    Handle(id, std::move(message).value(), campaign);
  }
}

void Coordinator::Handle(const std::string& id, Message message, Campaign& campaign) {
  if (const Hello* hello = std::get_if<Hello>(&message)) {
    OnHello(id, *hello);
    return;
  }
  auto it = peers_.find(id);
  if (it == peers_.end()) {
    if (std::holds_alternative<Bye>(message)) return;
    kLog.Warn("dropping {} from {}: it has not said hello; asking it to", MessageName(message),
              PeerName(id));
    Send(id, Bye{.reason = "unknown agent: say hello"});
    return;
  }
  Peer& peer = *it->second;
  peer.last_heard = Clock::now();
  std::visit(Overloaded{
                 [&](Ready& ready) {
                   peer.credit = static_cast<uint32_t>(
                       std::min<uint64_t>(uint64_t{peer.credit} + ready.credit, peer.slots));
                 },
                 [&](ResultBatch& batch) { OnResults(peer, std::move(batch), campaign); },
                 [&](Bye& bye) { Forget(id, campaign, fmt::format("said bye ({})", bye.reason)); },
                 [&](Heartbeat&) {},
                 [&](auto&) {
                   kLog.Warn("dropping {} from {}: agents do not send it", MessageName(message),
                             peer.name);
                 },
             },
             message);
}

void Coordinator::OnHello(const std::string& id, const Hello& hello) {
  auto [it, joined] = peers_.try_emplace(id);
  if (joined) it->second = std::make_unique<Peer>();
  Peer& peer = *it->second;
  peer.name = hello.agent.empty() ? PeerName(id) : hello.agent.substr(0, kMaxAgentNameBytes);
  peer.slots = std::min(hello.slots, kMaxSlotsPerAgent);
  // A new session: credit asked for in an earlier one is void. Leases stay:
  // the same connection is the same agent, still running them.
  peer.credit = 0;
  peer.last_heard = Clock::now();
  if (joined) peer.last_sent = peer.last_heard;
  kLog.Info("agent {} {} with {} slots", peer.name, joined ? "joined" : "started a new session",
            peer.slots);
}

void Coordinator::OnResults(Peer& peer, ResultBatch batch, Campaign& campaign) {
  for (ExecutionResult& result : batch.results) {
    if (std::optional<std::string> why = campaign.Refuse(peer, result)) {
      kLog.Warn("dropping result for job {} from {}: {}", result.index, peer.name, *why);
      continue;
    }
    peer.leases.erase(result.index);
    campaign.Accept(std::move(result));
  }
}

void Coordinator::Dispatch(Campaign& campaign) {
  std::vector<std::string> gone;
  for (auto& [id, peer] : peers_) {
    if (Feed(id, *peer, campaign) == Delivery::kGone) gone.push_back(id);
  }
  for (const std::string& id : gone) Forget(id, campaign, "cannot be reached");
}

Coordinator::Delivery Coordinator::Feed(const std::string& id, Peer& peer, Campaign& campaign) {
  while (peer.credit > 0) {
    std::vector<uint64_t> indices = campaign.Take(std::min(peer.credit, options_.max_batch_jobs));
    if (indices.empty()) return Delivery::kSent;
    JobBatch batch;
    batch.jobs.reserve(indices.size());
    for (uint64_t index : indices) batch.jobs.push_back(campaign.plan.JobAt(index));
    if (Delivery delivery = Send(id, batch); delivery != Delivery::kSent) {
      campaign.Requeue(std::move(indices));
      return delivery;
    }
    peer.leases.insert(indices.begin(), indices.end());
    peer.credit -= static_cast<uint32_t>(indices.size());
  }
  return Delivery::kSent;
}

void Coordinator::KeepAlive(Campaign& campaign) {
  const Clock::time_point now = Clock::now();
  std::vector<std::pair<std::string, std::string>> lost;
  for (auto& [id, peer] : peers_) {
    if (now - peer->last_heard > options_.heartbeat_timeout) {
      lost.emplace_back(
          id, fmt::format("was silent for over {} ms", options_.heartbeat_timeout.count()));
    } else if (now - peer->last_sent >= options_.heartbeat_interval &&
               Send(id, HeartbeatNow()) == Delivery::kGone) {
      lost.emplace_back(id, "cannot be reached");
    }
  }
  for (const auto& [id, why] : lost) Forget(id, campaign, why);
}

void Coordinator::Forget(const std::string& id, Campaign& campaign, std::string_view why) {
  auto it = peers_.find(id);
  if (it == peers_.end()) return;
  Peer& peer = *it->second;
  kLog.Warn("agent {} {}; re-queueing its {} unfinished jobs", peer.name, why, peer.leases.size());
  campaign.Requeue(std::vector<uint64_t>(peer.leases.begin(), peer.leases.end()));
  peers_.erase(it);
}

Coordinator::Delivery Coordinator::Send(const std::string& id, const Message& message) {
  const std::string bytes = Encode(message);
  try {
    // With ROUTER_MANDATORY a full or vanished peer fails on the routing-id
    // frame; once that is accepted, the body frame is too.
    if (!socket_.send(zmq::buffer(id), zmq::send_flags::sndmore | zmq::send_flags::dontwait) ||
        !socket_.send(zmq::buffer(bytes), zmq::send_flags::dontwait)) {
      kLog.Warn("not sending {} to {}: its queue is full", MessageName(message), PeerName(id));
      return Delivery::kBusy;
    }
  } catch (const zmq::error_t& e) {
    if (e.num() != EHOSTUNREACH) throw;
    return Delivery::kGone;
  }
  if (auto it = peers_.find(id); it != peers_.end()) it->second->last_sent = Clock::now();
  return Delivery::kSent;
}

std::string Coordinator::PeerName(const std::string& id) const {
  if (auto it = peers_.find(id); it != peers_.end() && !it->second->name.empty()) {
    return it->second->name;
  }
  std::string hex;
  for (unsigned char byte : id) hex += fmt::format("{:02x}", byte);
  return "peer " + hex;
}

}  // namespace graphene
