// Coordinator: hands a campaign's jobs to agents over ZeroMQ and delivers
// exactly one result per job to a ResultSink.
//
// Agents connect to the coordinator's ROUTER socket, announce themselves
// (Hello) and ask for work (Ready{credit}, which adds to what they asked for
// before). The coordinator answers with JobBatches within that credit, taking
// jobs first from those whose lease was lost, then from the plan's lazy
// cursor, and leases each job to the agent it sent it to. A result counts only
// if it comes from the agent holding the job's lease, so nothing is delivered
// twice. An agent that says Bye, cannot be reached, or is silent for longer
// than the heartbeat timeout loses its leases and those jobs go to others.
// A peer that talks without having said Hello (for instance after being
// declared dead, or after a reconnect gave it a new identity) gets a Bye,
// which tells it to start over with Hello.
//
// Memory is bounded by the agents' slots and by the spread of unfinished
// jobs, never by the campaign's size.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
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
};

struct Progress {
  uint64_t done = 0;     // jobs with a result, including those already done before the run
  uint64_t total = 0;    // the plan's TotalJobs()
  uint64_t escapes = 0;  // results delivered by this run with escape_detected
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

  // Runs `plan` until every job not listed in `already_done` has had exactly
  // one result passed to `sink`, then returns Ok. Waits for agents as long as
  // it takes; agents stay connected from one campaign to the next.
  // `on_progress` (may be empty) is called on this thread once at the start
  // and whenever results were delivered. Returns an error if an
  // `already_done` index is out of range, if `sink` fails, on a socket
  // failure, or "interrupted" after RequestStop(). One caller at a time.
  Status RunCampaign(const CampaignPlan& plan, ResultSink& sink,
                     const std::function<void(const Progress&)>& on_progress,
                     const std::vector<uint64_t>& already_done = {});

  // Makes the running RunCampaign, and every later one, return "interrupted"
  // within about 100 ms. Safe from any thread and from a signal handler.
  void RequestStop() { stop_requested_.store(true); }

  // Agents currently known (said Hello and not lost since). Call it only
  // when no RunCampaign is running, or from `on_progress`.
  size_t agent_count() const { return peers_.size(); }

 private:
  struct Peer;
  struct Campaign;
  enum class Delivery { kSent, kBusy, kGone };

  Coordinator(CoordinatorOptions options, zmq::socket_t socket);

  void StartCampaign();
  Status Step(Campaign& campaign);
  void ReceiveAll(Campaign& campaign);
  void Handle(const std::string& id, Message message, Campaign& campaign);
  void OnHello(const std::string& id, const Hello& hello);
  void OnResults(Peer& peer, ResultBatch batch, Campaign& campaign);
  void Dispatch(Campaign& campaign);
  Delivery Feed(const std::string& id, Peer& peer, Campaign& campaign);
  void KeepAlive(Campaign& campaign);
  void Forget(const std::string& id, Campaign& campaign, std::string_view why);
  Delivery Send(const std::string& id, const Message& message);
  std::string PeerName(const std::string& id) const;

  CoordinatorOptions options_;
  zmq::socket_t socket_;
  std::atomic<bool> stop_requested_{false};
  std::map<std::string, std::unique_ptr<Peer>> peers_;  // by ROUTER routing id
};

}  // namespace graphene
