// The coordinator's event loop: one thread, one ROUTER socket. Each step
// waits for messages, applies them (Hello, Ready, results, Bye, requests),
// passes accepted results to the sink, hands out jobs within each agent's
// credit, then sends heartbeats and forgets agents that fell silent.
#include "coordinator/coordinator.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <iterator>
#include <unordered_map>
#include <zmq_addon.hpp>

#include "base/log.h"
#include "base/overloaded.h"
#include "base/zmq_nonblocking.h"
#include "schema/names.h"

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

// How often leases are checked for expiry.
constexpr std::chrono::milliseconds kLeaseCheckInterval{1000};

bool IsRequest(const Message& message) {
  return std::holds_alternative<Submit>(message) || std::holds_alternative<Watch>(message) ||
         std::holds_alternative<FetchResults>(message) ||
         std::holds_alternative<StatusRequest>(message) ||
         std::holds_alternative<FetchBundle>(message);
}

}  // namespace

std::optional<Message> CoordinatorEvents::OnRequest(const Message& request) {
  return Refused{.request = std::string(MessageName(request)),
                 .reason = "this coordinator takes no requests"};
}

// An agent that said Hello on one connection.
struct Coordinator::Peer {
  std::string name;
  uint32_t slots = 0;
  uint32_t credit = 0;  // jobs asked for and not sent yet
  // Jobs sent to it and without a result yet, by campaign, with the time
  // each lease expires.
  std::unordered_map<uint64_t, std::unordered_map<uint64_t, Clock::time_point>> leases;
  uint64_t lease_count = 0;
  Clock::time_point last_heard;
  Clock::time_point last_sent;
};

// One served campaign. Every index of the plan is in exactly one place:
// ahead of `cursor`, in `requeue`, in one peer's leases, or in `done`.
struct Coordinator::Campaign {
  std::vector<uint64_t> Take(size_t count);
  void Requeue(std::vector<uint64_t> indices);
  std::optional<std::string> Refuse(const Peer& peer, const ExecutionResult& result) const;

  std::shared_ptr<const CampaignPlan> plan;
  JobIndexSet done;
  std::deque<uint64_t> requeue;  // lost leases, handed out before the cursor's jobs
  uint64_t cursor = 0;           // every index from here on was never handed out
  // Jobs whose lease expired, and how often; only those, so it stays small.
  std::unordered_map<uint64_t, uint32_t> expiries;
  Progress progress;
  bool changed = false;  // progress not yet reported
};

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
  if (result.index >= progress.total) return fmt::format("no such job in {}", progress.total);
  if (done.Contains(result.index)) return "the job is already done";
  auto leased = peer.leases.find(result.campaign);
  if (leased == peer.leases.end() || !leased->second.contains(result.index)) {
    return "the job is not leased to this agent";
  }
  return std::nullopt;
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
    // ZMTP heartbeats close a TCP connection whose peer vanished (a machine
    // switched off sends no FIN), so sends to it fail and its jobs move on.
    socket.set(zmq::sockopt::heartbeat_ivl, static_cast<int>(options.heartbeat_interval.count()));
    socket.set(zmq::sockopt::heartbeat_timeout,
               static_cast<int>(options.heartbeat_timeout.count()));
    if (options.configure_socket) options.configure_socket(socket);
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

Status Coordinator::AddCampaign(std::shared_ptr<const CampaignPlan> plan, JobIndexSet done,
                                uint64_t escapes) {
  const uint64_t id = plan->campaign;
  if (campaigns_.contains(id))
    return Status::Error(fmt::format("campaign {} is already served", id));
  auto campaign = std::make_unique<Campaign>();
  campaign->progress =
      Progress{.campaign = id, .done = done.size(), .total = plan->TotalJobs(), .escapes = escapes};
  campaign->plan = std::move(plan);
  campaign->done = std::move(done);
  campaign->changed = true;
  campaigns_.emplace(id, std::move(campaign));
  return Status::Ok();
}

void Coordinator::RemoveCampaign(uint64_t campaign) {
  if (campaigns_.erase(campaign) == 0) return;
  for (auto& [id, peer] : peers_) {
    if (auto it = peer->leases.find(campaign); it != peer->leases.end()) {
      peer->lease_count -= it->second.size();
      peer->leases.erase(it);
    }
  }
}

std::optional<Progress> Coordinator::CampaignProgress(uint64_t campaign) const {
  auto it = campaigns_.find(campaign);
  if (it == campaigns_.end()) return std::nullopt;
  return it->second->progress;
}

std::vector<uint64_t> Coordinator::ServedCampaigns() const {
  std::vector<uint64_t> ids;
  for (const auto& [id, campaign] : campaigns_) ids.push_back(id);
  return ids;
}

std::vector<AgentState> Coordinator::Agents() const {
  const Clock::time_point now = Clock::now();
  std::vector<AgentState> agents;
  for (const auto& [id, peer] : peers_) {
    agents.push_back(
        AgentState{.name = peer->name,
                   .slots = peer->slots,
                   .leased = peer->lease_count,
                   .idle_ms = static_cast<uint64_t>(
                       std::chrono::duration_cast<std::chrono::milliseconds>(now - peer->last_heard)
                           .count())});
  }
  return agents;
}

Status Coordinator::Serve(ResultSink& sink, CoordinatorEvents& events,
                          const std::function<bool()>& finished) {
  // Nobody listened since the last Serve, so silence until now is ours, not
  // the agents'.
  const Clock::time_point now = Clock::now();
  for (auto& [id, peer] : peers_) peer->last_heard = now;
  try {
    while (true) {
      if (Status status = Report(sink, events); !status.ok()) return status;
      if (stop_requested_.load() || (finished && finished())) return Status::Ok();
      if (Status status = Step(events); !status.ok()) return status;
    }
  } catch (const zmq::error_t& e) {
    return Status::Error(fmt::format("coordinator socket on {}: {}", options_.endpoint, e.what()));
  }
}

Status Coordinator::RunCampaign(const CampaignPlan& plan, ResultSink& sink,
                                const std::function<void(const Progress&)>& on_progress,
                                const std::vector<uint64_t>& already_done) {
  JobIndexSet done;
  for (uint64_t index : already_done) {
    if (index >= plan.TotalJobs()) {
      return Status::Error(fmt::format("already-done job {} is outside campaign {} of {} jobs",
                                       index, plan.campaign, plan.TotalJobs()));
    }
    done.Insert(index);
  }
  // The caller keeps `plan` alive for the call: share it without owning it.
  if (Status added =
          AddCampaign(std::shared_ptr<const CampaignPlan>(&plan, [](auto*) {}), std::move(done));
      !added.ok()) {
    return added;
  }

  // Progress counts only what this run delivers.
  struct Events : CoordinatorEvents {
    void OnProgress(const Progress& p) override {
      if (p.campaign == id && on_progress) on_progress(p);
    }
    void OnCampaignDone(uint64_t campaign) override { finished |= campaign == id; }
    uint64_t id;
    const std::function<void(const Progress&)>& on_progress;
    bool finished = false;
    Events(uint64_t id, const std::function<void(const Progress&)>& on_progress)
        : id(id), on_progress(on_progress) {}
  } events(plan.campaign, on_progress);
  Status status = Serve(sink, events, [&] { return events.finished; });
  if (events.finished) return status;
  RemoveCampaign(plan.campaign);
  return status.ok() ? Status::Error("interrupted") : status;
}

void Coordinator::SayGoodbye(const std::string& reason) {
  try {
    for (auto& [id, peer] : peers_) Send(id, Bye{.reason = reason});
  } catch (const zmq::error_t& e) {
    kLog.Warn("saying goodbye: {}", e.what());
  }
}

Status Coordinator::Report(ResultSink& sink, CoordinatorEvents& events) {
  if (!accepted_.empty()) {
    if (Status status = sink.Accept(std::exchange(accepted_, {})); !status.ok()) return status;
  }
  std::vector<uint64_t> finished;
  for (auto& [id, campaign] : campaigns_) {
    if (campaign->changed) {
      campaign->changed = false;
      events.OnProgress(campaign->progress);
    }
    if (campaign->progress.done == campaign->progress.total) finished.push_back(id);
  }
  for (uint64_t id : finished) {
    RemoveCampaign(id);
    events.OnCampaignDone(id);
  }
  return Status::Ok();
}

Status Coordinator::Step(CoordinatorEvents& events) {
  zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
  if (Status status = PollOne(item, std::min(kPollTimeout, options_.heartbeat_interval));
      !status.ok()) {
    return status;
  }
  ReceiveAll(events);
  ExpireLeases();
  Dispatch();
  KeepAlive();
  return Status::Ok();
}

void Coordinator::ReceiveAll(CoordinatorEvents& events) {
  for (int i = 0; i < kMaxMessagesPerStep; ++i) {
    std::vector<zmq::message_t> frames;
    if (!TryReceiveMultipart(socket_, frames)) return;
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
    Handle(id, std::move(message).value(), events);
  }
}

void Coordinator::Handle(const std::string& id, Message message, CoordinatorEvents& events) {
  if (const Hello* hello = std::get_if<Hello>(&message)) {
    OnHello(id, *hello);
    return;
  }
  auto it = peers_.find(id);
  if (it != peers_.end()) it->second->last_heard = Clock::now();
  if (IsRequest(message)) {
    // Clients need no Hello: each request stands alone.
    if (std::optional<Message> reply = events.OnRequest(message)) Send(id, *reply);
    return;
  }
  if (it == peers_.end()) {
    if (std::holds_alternative<Bye>(message)) return;
    kLog.Warn("dropping {} from {}: it has not said hello; asking it to", MessageName(message),
              PeerName(id));
    Send(id, Bye{.reason = "unknown agent: say hello"});
    return;
  }
  Peer& peer = *it->second;
  std::visit(Overloaded{
                 [&](Ready& ready) {
                   peer.credit = static_cast<uint32_t>(
                       std::min<uint64_t>(uint64_t{peer.credit} + ready.credit, peer.slots));
                 },
                 [&](ResultBatch& batch) { OnResults(peer, std::move(batch)); },
                 [&](Bye& bye) { Forget(id, fmt::format("said bye ({})", bye.reason)); },
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

void Coordinator::OnResults(Peer& peer, ResultBatch batch) {
  // One log line per batch, so a peer sending thousands of bad results
  // cannot flood the log.
  size_t refused = 0;
  std::string first_refusal;
  auto refuse = [&](const ExecutionResult& result, std::string_view why) {
    if (refused++ == 0) {
      first_refusal = fmt::format("job {} of campaign {}: {}", result.index, result.campaign, why);
    }
  };
  for (ExecutionResult& result : batch.results) {
    auto found = campaigns_.find(result.campaign);
    if (found == campaigns_.end()) {
      refuse(result, "no such campaign is running");
      continue;
    }
    Campaign& campaign = *found->second;
    if (std::optional<std::string> why = campaign.Refuse(peer, result)) {
      refuse(result, *why);
      continue;
    }
    peer.leases[result.campaign].erase(result.index);
    --peer.lease_count;
    campaign.expiries.erase(result.index);
    campaign.done.Insert(result.index);
    ++campaign.progress.done;
    if (result.escape_detected) ++campaign.progress.escapes;
    campaign.changed = true;
    accepted_.emplace_back(campaign.plan->JobAt(result.index), std::move(result));
  }
  if (refused > 0) {
    kLog.Warn("dropping {} of {} results from {}; the first: {}", refused, batch.results.size(),
              peer.name, first_refusal);
  }
}

void Coordinator::Dispatch() {
  if (campaigns_.empty()) return;
  std::vector<std::string> gone;
  for (auto& [id, peer] : peers_) {
    if (Feed(id, *peer) == Delivery::kGone) gone.push_back(id);
  }
  for (const std::string& id : gone) Forget(id, "cannot be reached");
}

Coordinator::Campaign* Coordinator::NextCampaign() {
  auto it = campaigns_.lower_bound(next_campaign_);
  if (it == campaigns_.end()) it = campaigns_.begin();
  next_campaign_ = it->first + 1;
  return it->second.get();
}

Coordinator::Delivery Coordinator::Feed(const std::string& id, Peer& peer) {
  while (peer.credit > 0) {
    // One batch may mix campaigns; each batch starts at the next campaign,
    // so concurrent campaigns share the agents.
    const size_t want = std::min(peer.credit, options_.max_batch_jobs);
    std::vector<std::pair<Campaign*, std::vector<uint64_t>>> taken;
    size_t count = 0;
    for (size_t tried = 0; tried < campaigns_.size() && count < want; ++tried) {
      Campaign* campaign = NextCampaign();
      std::vector<uint64_t> indices = campaign->Take(want - count);
      if (indices.empty()) continue;
      count += indices.size();
      taken.emplace_back(campaign, std::move(indices));
    }
    if (count == 0) return Delivery::kSent;
    JobBatch batch;
    batch.jobs.reserve(count);
    for (const auto& [campaign, indices] : taken) {
      for (uint64_t index : indices) batch.jobs.push_back(campaign->plan->JobAt(index));
    }
    if (Delivery delivery = Send(id, batch); delivery != Delivery::kSent) {
      for (auto& [campaign, indices] : taken) campaign->Requeue(std::move(indices));
      return delivery;
    }
    const Clock::time_point now = Clock::now();
    for (const auto& [campaign, indices] : taken) {
      const Clock::time_point expiry = now + LeaseTime(campaign->plan->limits);
      auto& leased = peer.leases[campaign->plan->campaign];
      for (uint64_t index : indices) leased.emplace(index, expiry);
    }
    peer.lease_count += count;
    peer.credit -= static_cast<uint32_t>(count);
  }
  return Delivery::kSent;
}

void Coordinator::KeepAlive() {
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
  for (const auto& [id, why] : lost) Forget(id, why);
}

std::chrono::milliseconds Coordinator::LeaseTime(const ExecutionLimits& limits) const {
  return 2 * std::chrono::milliseconds(uint64_t{limits.timeout_ms} + limits.grace_ms) +
         options_.lease_slack;
}

void Coordinator::ExpireLeases() {
  const Clock::time_point now = Clock::now();
  if (now < next_lease_check_) return;
  next_lease_check_ = now + std::min(kLeaseCheckInterval, options_.lease_slack);
  for (auto& [id, peer] : peers_) {
    size_t expired = 0;
    for (auto& [campaign_id, leased] : peer->leases) {
      auto found = campaigns_.find(campaign_id);
      if (found == campaigns_.end()) continue;
      Campaign& campaign = *found->second;
      std::vector<uint64_t> again;
      for (auto it = leased.begin(); it != leased.end();) {
        if (it->second > now) {
          ++it;
          continue;
        }
        const uint64_t index = it->first;
        it = leased.erase(it);
        --peer->lease_count;
        ++expired;
        if (++campaign.expiries[index] < kMaxLeaseExpiries) {
          again.push_back(index);
          continue;
        }
        // Agents keep losing it: give it up with an error result rather
        // than let the campaign wait forever.
        campaign.expiries.erase(index);
        ExecutionResult result;
        result.campaign = campaign_id;
        result.index = index;
        result.status = kStatusError;
        result.error = fmt::format(
            "no result came back within its lease of {} ms, {} times (last from agent {})",
            LeaseTime(campaign.plan->limits).count(), kMaxLeaseExpiries, peer->name);
        result.agent = peer->name;
        campaign.done.Insert(index);
        ++campaign.progress.done;
        campaign.changed = true;
        accepted_.emplace_back(campaign.plan->JobAt(index), std::move(result));
      }
      campaign.Requeue(std::move(again));
    }
    if (expired > 0) {
      kLog.Warn("agent {} returned no result for {} jobs within their lease; taking them back",
                peer->name, expired);
    }
  }
}

void Coordinator::Forget(const std::string& id, std::string_view why) {
  auto it = peers_.find(id);
  if (it == peers_.end()) return;
  Peer& peer = *it->second;
  kLog.Warn("agent {} {}; re-queueing its {} unfinished jobs", peer.name, why, peer.lease_count);
  for (auto& [campaign_id, leased] : peer.leases) {
    if (auto campaign = campaigns_.find(campaign_id); campaign != campaigns_.end()) {
      std::vector<uint64_t> indices;
      for (const auto& [index, expiry] : leased) indices.push_back(index);
      campaign->second->Requeue(std::move(indices));
    }
  }
  peers_.erase(it);
}

Coordinator::Delivery Coordinator::Send(const std::string& id, const Message& message) {
  const std::string bytes = Encode(message);
  try {
    // With ROUTER_MANDATORY a full or vanished peer fails on the routing-id
    // frame; once that is accepted, the body frame is too.
    if (!TrySend(socket_, zmq::buffer(id), zmq::send_flags::sndmore) ||
        !SendRemainder(socket_, zmq::buffer(bytes))) {
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
