// Coordinator: hands the jobs of any number of campaigns to agents over
// ZeroMQ and delivers exactly one result per job to a ResultSink.
//
// Agents connect to the coordinator's ROUTER socket, announce themselves
// (Hello) and ask for work (Ready{credit}, which adds to what they asked for
// before). The coordinator answers with JobBatches within that credit, taking
// jobs round-robin from its campaigns: first jobs whose lease was lost, then
// the next ones of the plan's lazy cursor. It leases each job to the agent it
// sent it to. A result counts only if it comes from the agent holding the
// job's lease, so nothing is delivered twice. An agent that says Bye, cannot
// be reached, or is silent for longer than the heartbeat timeout loses its
// leases and those jobs go to others; so does a job whose lease expires
// because a live agent never answered for it. A peer that talks without having said
// Hello (for instance after being declared dead, or after a coordinator
// restart) gets a Bye, which tells it to start over with Hello.
//
// Messages outside the agent protocol (clients submitting and watching
// campaigns, agents fetching bundles) go to CoordinatorEvents::OnRequest,
// whose answer is sent back to the asking peer: the coordinator itself knows
// nothing of databases or bundles.
//
// Memory is bounded by the agents' slots and by the spread of unfinished
// jobs, never by a campaign's size.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>
#include <zmq.hpp>

#include "base/status.h"
#include "coordinator/campaign_plan.h"
#include "coordinator/result_sink.h"
#include "schema/messages.h"

namespace graphene {

struct CoordinatorOptions {
  std::string endpoint;  // where to bind: inproc://, ipc:// or tcp://
  // An agent that has been sent nothing for this long gets a Heartbeat.
  std::chrono::milliseconds heartbeat_interval{1000};
  // An agent not heard from for this long is dead and loses its leases.
  std::chrono::milliseconds heartbeat_timeout{10000};
  // The most jobs in one JobBatch.
  uint32_t max_batch_jobs = 64;
  // A job leased to a live agent that sends no result for twice its call
  // timeout and grace period plus this long is taken back and leased again,
  // so a job that an agent lost cannot stall its campaign. After
  // kMaxLeaseExpiries such expiries it gets an error result instead.
  std::chrono::milliseconds lease_slack{60000};
  // Applied to the ROUTER socket before it binds (e.g. CurveZMQ keys).
  std::function<void(zmq::socket_t&)> configure_socket{};
};

// How many times a job's lease may expire before the job is given up with
// an error result.
inline constexpr uint32_t kMaxLeaseExpiries = 3;

struct Progress {
  uint64_t campaign = 0;
  uint64_t done = 0;     // jobs with a result, including those already done when added
  uint64_t total = 0;    // the plan's TotalJobs()
  uint64_t escapes = 0;  // results with escape_detected, including those counted when added
};

// What a serving coordinator tells its owner. Called on the serving thread;
// they may call back into the Coordinator (e.g. AddCampaign from OnRequest).
class CoordinatorEvents {
 public:
  virtual ~CoordinatorEvents() = default;
  // A campaign's results were delivered to the sink.
  virtual void OnProgress(const Progress&) {}
  // Every job of `campaign` has had its result delivered; it is removed.
  virtual void OnCampaignDone(uint64_t /*campaign*/) {}
  // A request outside the agent protocol (Submit, Watch, FetchResults,
  // StatusRequest, FetchBundle). Returns the reply for the peer, if any.
  virtual std::optional<Message> OnRequest(const Message& request);
};

class Coordinator {
 public:
  // Binds a ROUTER socket in `context` on `options.endpoint`. Fails with the
  // endpoint and ZeroMQ's reason if it cannot be bound. `context` must
  // outlive the Coordinator.
  static Result<std::unique_ptr<Coordinator>> Create(zmq::context_t& context,
                                                     CoordinatorOptions options);

  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;
  ~Coordinator();

  // Adds `plan` to the campaigns being served; the jobs in `done` (all
  // below plan->TotalJobs()) are not run again, and `escapes` of their
  // results escaped. Fails if a campaign with the same id is being served.
  // A campaign with every job done is reported done at the next step.
  Status AddCampaign(std::shared_ptr<const CampaignPlan> plan, JobIndexSet done = {},
                     uint64_t escapes = 0);
  // Stops serving `campaign`; its leases are void and late results refused.
  void RemoveCampaign(uint64_t campaign);
  // The campaign's progress while it is being served.
  std::optional<Progress> CampaignProgress(uint64_t campaign) const;
  // The campaigns being served, by id.
  std::vector<uint64_t> ServedCampaigns() const;
  // The agents connected now.
  std::vector<AgentState> Agents() const;
  size_t agent_count() const { return peers_.size(); }

  // Serves agents and requests until RequestStop() or until `finished`
  // (may be empty) returns true, checked after every step; returns Ok then.
  // Passes results to `sink` and tells `events` what happens. Returns an
  // error if `sink` fails or the socket breaks. One caller at a time.
  Status Serve(ResultSink& sink, CoordinatorEvents& events, const std::function<bool()>& finished);

  // Serves `plan` until every job not listed in `already_done` has had
  // exactly one result passed to `sink`, then returns Ok. Waits for agents
  // as long as it takes; agents stay connected from one campaign to the
  // next. `on_progress` (may be empty) is called on this thread once at the
  // start and whenever results were delivered. Returns an error if an
  // `already_done` index is out of range, if `sink` fails, on a socket
  // failure, or "interrupted" after RequestStop().
  Status RunCampaign(const CampaignPlan& plan, ResultSink& sink,
                     const std::function<void(const Progress&)>& on_progress,
                     const std::vector<uint64_t>& already_done = {});

  // Tells every agent the coordinator is going away (Bye), so that they say
  // Hello again as soon as a coordinator answers on this endpoint.
  void SayGoodbye(const std::string& reason);

  // Makes Serve and RunCampaign return within about 100 ms, now and later.
  // Safe from any thread and from a signal handler.
  void RequestStop() { stop_requested_.store(true); }
  bool stop_requested() const { return stop_requested_.load(); }

 private:
  struct Peer;
  struct Campaign;
  enum class Delivery { kSent, kBusy, kGone };

  Coordinator(CoordinatorOptions options, zmq::socket_t socket);

  Status Step(CoordinatorEvents& events);
  Status Report(ResultSink& sink, CoordinatorEvents& events);
  void ReceiveAll(CoordinatorEvents& events);
  void Handle(const std::string& id, Message message, CoordinatorEvents& events);
  void OnHello(const std::string& id, const Hello& hello);
  void OnResults(Peer& peer, ResultBatch batch);
  void Dispatch();
  Delivery Feed(const std::string& id, Peer& peer);
  Campaign* NextCampaign();
  void KeepAlive();
  void ExpireLeases();
  std::chrono::milliseconds LeaseTime(const ExecutionLimits& limits) const;
  void Forget(const std::string& id, std::string_view why);
  Delivery Send(const std::string& id, const Message& message);
  std::string PeerName(const std::string& id) const;

  CoordinatorOptions options_;
  zmq::socket_t socket_;
  std::atomic<bool> stop_requested_{false};
  std::map<std::string, std::unique_ptr<Peer>> peers_;       // by ROUTER routing id
  std::map<uint64_t, std::unique_ptr<Campaign>> campaigns_;  // by campaign id
  uint64_t next_campaign_ = 0;                             // round-robin position among campaigns_
  std::vector<std::pair<Job, ExecutionResult>> accepted_;  // not yet passed to the sink
  std::chrono::steady_clock::time_point next_lease_check_{};
};

}  // namespace graphene
