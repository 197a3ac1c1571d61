// The agent's event loop: one thread waiting on the DEALER socket and the
// executor's ready fd. Each turn applies the coordinator's messages, starts
// jobs, sends results back, asks for more work and keeps the link alive.
// Outgoing messages go through an outbox, so a full socket delays them
// instead of losing a result or blocking the loop.
#include "agent/agent.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <iterator>
#include <utility>
#include <zmq_addon.hpp>

#include "base/log.h"
#include "base/overloaded.h"
#include "base/zmq_nonblocking.h"

namespace graphene {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The longest one wait blocks, so that RequestStop() is seen promptly.
constexpr milliseconds kPollTimeout{100};
// Time the socket may take on close to deliver the last results and the Bye,
// which spares the coordinator a heartbeat timeout before re-running our jobs.
constexpr milliseconds kLinger{1000};
constexpr int kMaxMessagesPerTurn = 256;
constexpr size_t kMaxResultsPerBatch = 64;
// What a result too large for the wire on its own keeps: it must still go
// back, or its job would be stuck on this agent's lease.
constexpr size_t kMaxTextBytes = 64 << 10;
constexpr size_t kMaxFieldBytes = 4 << 10;
constexpr size_t kMaxEscapesKept = 1000;

constexpr Logger kLog("agent");

void Truncate(std::string& text, size_t limit) {
  if (text.size() > limit) text.resize(limit);
}

void TrimEscapes(std::vector<Escape>& escapes) {
  if (escapes.size() > kMaxEscapesKept) escapes.resize(kMaxEscapesKept);
  for (Escape& escape : escapes) {
    for (std::string* field :
         {&escape.name, &escape.started_at, &escape.started_in, &escape.running}) {
      Truncate(*field, kMaxFieldBytes);
    }
  }
}

// Cuts `result` down so that it fits in one wire message, saying so in it.
void Shrink(ExecutionResult& result) {
  Truncate(result.output, kMaxTextBytes);
  Truncate(result.error, kMaxTextBytes);
  TrimEscapes(result.escapes);
  TrimEscapes(result.transient);
  result.error += "\n[graphene: result trimmed to fit the wire message limit]";
}

}  // namespace

std::string DefaultAgentName() {
  char host[HOST_NAME_MAX + 1] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) return fmt::format("unknown-host:{}", getpid());
  return fmt::format("{}:{}", host, getpid());
}

Result<std::unique_ptr<Agent>> Agent::Create(zmq::context_t& context, AgentOptions options,
                                             Executor& executor) {
  if (options.name.empty()) options.name = DefaultAgentName();
  try {
    zmq::socket_t socket(context, zmq::socket_type::dealer);
    socket.set(zmq::sockopt::maxmsgsize, kMaxWireMessageBytes);
    socket.set(zmq::sockopt::linger, static_cast<int>(kLinger.count()));
    // ZMTP heartbeats notice a dead TCP connection and make ZeroMQ reconnect.
    socket.set(zmq::sockopt::heartbeat_ivl, static_cast<int>(options.heartbeat_interval.count()));
    socket.set(zmq::sockopt::heartbeat_timeout,
               static_cast<int>(options.heartbeat_timeout.count()));
    if (options.configure_socket) options.configure_socket(socket);
    socket.connect(options.endpoint);
    return std::unique_ptr<Agent>(new Agent(std::move(options), executor, std::move(socket)));
  } catch (const zmq::error_t& e) {
    return Status::Error(fmt::format("connecting the agent to {}: {}", options.endpoint, e.what()));
  }
}

Agent::Agent(AgentOptions options, Executor& executor, zmq::socket_t socket)
    : options_(std::move(options)), executor_(executor), socket_(std::move(socket)) {}

Agent::~Agent() = default;

Status Agent::Run() {
  Status status;
  try {
    status = Serve();
    Queue(Bye{.reason = status.ok() ? "stopping" : status.message()});
    FlushOutbox();
  } catch (const zmq::error_t& e) {
    return Status::Error(fmt::format("agent socket to {}: {}", options_.endpoint, e.what()));
  }
  return status;
}

Status Agent::Serve() {
  StartSession();
  const Clock::time_point never = Clock::time_point::max();
  Clock::time_point drain_deadline = never;
  while (!stop_now_.load()) {
    if (draining_.load()) {
      if (drain_deadline == never) {
        drain_deadline = Clock::now() + options_.drain_timeout;
        kLog.Info("stopping: finishing {} executions in flight", executor_.in_flight());
      }
      if (Drained() || Clock::now() > drain_deadline) break;
    }
    FlushOutbox();
    bool executor_ready = false;
    if (Status status = Wait(executor_ready); !status.ok()) return status;
    ReceiveAll();
    if (Status status = SubmitBacklog(); !status.ok()) return status;
    if (executor_ready || executor_.ready_fd() < 0 || !failed_.empty()) CollectResults();
    RetryBundleFetches();
    AskForWork();
    KeepAlive();
  }
  if (executor_.in_flight() > 0) {
    kLog.Warn("stopping with {} executions unfinished; the coordinator re-runs them",
              executor_.in_flight());
  }
  return Status::Ok();
}

bool Agent::Drained() {
  // Jobs not started yet are left to the coordinator, which re-leases them
  // when it gets our Bye.
  if (!backlog_.empty() || !awaiting_bundle_.empty()) {
    backlog_.clear();
    awaiting_bundle_.clear();
  }
  return executor_.in_flight() == 0;
}

Status Agent::Wait(bool& executor_ready) {
  const short socket_events = ZMQ_POLLIN | (outbox_.empty() ? 0 : ZMQ_POLLOUT);
  zmq::pollitem_t items[] = {{socket_.handle(), 0, socket_events, 0},
                             {nullptr, executor_.ready_fd(), ZMQ_POLLIN, 0}};
  const int count = executor_.ready_fd() >= 0 ? 2 : 1;
  const auto since_sent = std::chrono::duration_cast<milliseconds>(Clock::now() - last_sent_);
  const milliseconds timeout =
      std::clamp(options_.heartbeat_interval - since_sent, milliseconds{0}, kPollTimeout);
  if (zmq_poll(items, count, static_cast<long>(timeout.count())) < 0 && zmq_errno() != EINTR) {
    return Status::Error(fmt::format("polling the agent socket: {}", zmq_strerror(zmq_errno())));
  }
  executor_ready = count == 2 && (items[1].revents & ZMQ_POLLIN);
  return Status::Ok();
}

void Agent::ReceiveAll() {
  for (int i = 0; i < kMaxMessagesPerTurn; ++i) {
    std::vector<zmq::message_t> frames;
    if (!TryReceiveMultipart(socket_, frames)) return;
    if (frames.size() != 1) {
      kLog.Warn("dropping message from the coordinator: {} frames, expected 1", frames.size());
      continue;
    }
    Result<Message> message = Decode(frames[0].to_string_view());
    if (!message.ok()) {
      kLog.Warn("dropping message from the coordinator: {}", message.status().message());
      continue;
    }
    Handle(std::move(message).value());
  }
}

void Agent::Handle(Message message) {
  last_heard_ = Clock::now();
  bool restart = !session_live_;
  if (restart) kLog.Info("coordinator is back; saying hello again");
  std::visit(Overloaded{
                 [&](JobBatch& batch) { TakeJobs(std::move(batch)); },
                 [&](BundleData& data) { OnBundle(std::move(data)); },
                 [&](Bye& bye) {
                   kLog.Warn("coordinator ended the session ({}); saying hello again", bye.reason);
                   restart = true;
                 },
                 [&](Heartbeat&) {},
                 [&](auto&) {
                   kLog.Warn("dropping {} from the coordinator: coordinators do not send it",
                             MessageName(message));
                 },
             },
             message);
  if (restart) StartSession();
}

void Agent::TakeJobs(JobBatch batch) {
  const uint64_t count = batch.jobs.size();
  if (count > requested_) {
    kLog.Warn("got {} jobs for {} credit; the extra ones wait for free slots", count, requested_);
  }
  requested_ -= std::min(requested_, count);
  for (Job& job : batch.jobs) PrepareJob(std::move(job));
}

void Agent::PrepareJob(Job job) {
  if (job.bundle.empty()) {
    backlog_.push_back(std::move(job));
    return;
  }
  if (options_.bundles == nullptr) {
    FailJobs({std::move(job)}, "this agent has no bundle cache");
    return;
  }
  if (options_.bundles->Has(job.bundle)) {
    options_.bundles->Touch(job.bundle);
    job.root = options_.bundles->PathOf(job.bundle);
    backlog_.push_back(std::move(job));
    return;
  }
  auto [wait, first] = awaiting_bundle_.try_emplace(job.bundle);
  if (first) {
    kLog.Info("fetching bundle {} from the coordinator", job.bundle);
    Queue(FetchBundle{.hash = job.bundle});
    wait->second.asked = Clock::now();
  }
  wait->second.jobs.push_back(std::move(job));
}

void Agent::OnBundle(BundleData data) {
  auto wait = awaiting_bundle_.find(data.hash);
  if (wait == awaiting_bundle_.end()) return;  // an answer to a retry already served
  std::vector<Job> jobs = std::move(wait->second.jobs);
  awaiting_bundle_.erase(wait);
  if (!data.error.empty()) {
    FailJobs(std::move(jobs), fmt::format("the coordinator cannot send bundle {}: {}", data.hash,
                                          data.error));
    return;
  }
  Result<std::string> path = options_.bundles->Install(data.hash, data.content);
  if (!path.ok()) {
    FailJobs(std::move(jobs), fmt::format("bundle {}: {}", data.hash, path.status().message()));
    return;
  }
  kLog.Info("bundle {} unpacked in {}", data.hash, *path);
  for (Job& job : jobs) {
    job.root = *path;
    backlog_.push_back(std::move(job));
  }
}

void Agent::FailJobs(std::vector<Job> jobs, const std::string& why) {
  kLog.Warn("{} jobs cannot run: {}", jobs.size(), why);
  for (const Job& job : jobs) {
    ExecutionResult result;
    result.campaign = job.campaign;
    result.index = job.index;
    result.status = "error";
    result.error = why;
    failed_.push_back(std::move(result));
  }
}

void Agent::RetryBundleFetches() {
  const Clock::time_point now = Clock::now();
  for (auto& [hash, wait] : awaiting_bundle_) {
    if (now - wait.asked < options_.bundle_retry) continue;
    kLog.Warn("bundle {} not received yet; asking again", hash);
    Queue(FetchBundle{.hash = hash});
    wait.asked = now;
  }
}

Status Agent::SubmitBacklog() {
  // Draining: jobs not started are left to the coordinator (see Drained()),
  // including those that arrive for credit asked for before the stop.
  if (draining_.load()) return Status::Ok();
  while (!backlog_.empty() && executor_.in_flight() < executor_.capacity()) {
    if (Status status = executor_.Submit(backlog_.front()); !status.ok()) {
      return Status::Error(fmt::format("executor failed: {}", status.message()));
    }
    backlog_.pop_front();
    // Without a ready fd, results are ready as soon as Submit returns.
    if (executor_.ready_fd() < 0) CollectResults();
  }
  return Status::Ok();
}

void Agent::CollectResults() {
  std::vector<ExecutionResult> results = executor_.Collect();
  for (ExecutionResult& result : failed_) results.push_back(std::move(result));
  failed_.clear();
  for (ExecutionResult& result : results) {
    if (result.agent.empty()) result.agent = options_.name;
  }
  for (size_t begin = 0; begin < results.size(); begin += kMaxResultsPerBatch) {
    const size_t end = std::min(results.size(), begin + kMaxResultsPerBatch);
    QueueResults(std::vector<ExecutionResult>(std::make_move_iterator(results.begin() + begin),
                                              std::make_move_iterator(results.begin() + end)));
  }
}

void Agent::QueueResults(std::vector<ExecutionResult> results) {
  Message message = ResultBatch{.results = std::move(results)};
  std::string bytes = Encode(message);
  if (static_cast<int64_t>(bytes.size()) <= kMaxWireMessageBytes) {
    outbox_.push_back(std::move(bytes));
    return;
  }
  std::vector<ExecutionResult>& all = std::get<ResultBatch>(message).results;
  if (all.size() == 1) {
    Shrink(all[0]);
    outbox_.push_back(Encode(message));
    return;
  }
  const auto middle = all.begin() + all.size() / 2;
  QueueResults(std::vector<ExecutionResult>(std::make_move_iterator(all.begin()),
                                            std::make_move_iterator(middle)));
  QueueResults(std::vector<ExecutionResult>(std::make_move_iterator(middle),
                                            std::make_move_iterator(all.end())));
}

void Agent::StartSession() {
  requested_ = 0;
  session_live_ = true;
  last_heard_ = Clock::now();  // the coordinator gets a full timeout to answer
  const size_t slots = std::min<size_t>(executor_.capacity(), UINT32_MAX);
  Queue(Hello{.agent = options_.name, .slots = static_cast<uint32_t>(slots)});
  AskForWork();
}

void Agent::AskForWork() {
  if (!session_live_) return;
  if (draining_.load()) return;
  uint64_t held = executor_.in_flight() + backlog_.size() + requested_;
  for (const auto& [hash, wait] : awaiting_bundle_) held += wait.jobs.size();
  const uint64_t capacity = executor_.capacity();
  if (held >= capacity) return;
  const uint64_t credit = std::min<uint64_t>(capacity - held, UINT32_MAX);
  Queue(Ready{.credit = static_cast<uint32_t>(credit)});
  requested_ += credit;
}

void Agent::KeepAlive() {
  const Clock::time_point now = Clock::now();
  if (session_live_ && now - last_heard_ > options_.heartbeat_timeout) {
    kLog.Warn("coordinator silent for over {} ms; will say hello again when it answers",
              options_.heartbeat_timeout.count());
    session_live_ = false;
  }
  if (outbox_.empty() && now - last_sent_ >= options_.heartbeat_interval) {
    Queue(HeartbeatNow());
  }
}

void Agent::Queue(const Message& message) { outbox_.push_back(Encode(message)); }

void Agent::FlushOutbox() {
  while (!outbox_.empty()) {
    // A full queue (coordinator slow or away) keeps the rest for the next turn.
    if (!TrySend(socket_, zmq::buffer(outbox_.front()))) return;
    outbox_.pop_front();
    last_sent_ = Clock::now();
  }
}

}  // namespace graphene
