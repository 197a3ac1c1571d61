// Agent: the coordinator's counterpart on a worker machine. It connects a
// DEALER socket to the coordinator, asks for as many jobs as its Executor has
// free slots, runs them and sends every result back.
//
// A session starts with Hello{name, slots} and Ready{credit}; each Ready adds
// to the credit asked for before, so credit = capacity - jobs held - credit
// already asked for. The agent never submits more jobs than the executor's
// capacity; jobs beyond it (which only a coordinator race can cause) wait in
// the agent until a slot frees. The agent starts a new session (Hello and
// Ready again) when the coordinator says Bye, and when the coordinator speaks
// again after having been silent for longer than the heartbeat timeout.
// ZeroMQ reconnects the socket by itself; the agent never does.
//
// A job naming a bundle runs in that bundle's folder of the BundleCache. A
// bundle not cached yet is fetched from the coordinator (FetchBundle) while
// its jobs wait; if it cannot be had, each of them gets an "error" result,
// so no job is ever left without one.
//
// Stopping drains: the agent asks for no more work, finishes what is in
// flight, sends the results and says Bye. A second stop request, or the
// drain timeout, ends it at once; the coordinator re-runs what was left.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "agent/executor.h"
#include "bundle/bundle_cache.h"
#include "base/status.h"
#include "schema/messages.h"

namespace graphene {

struct AgentOptions {
  std::string endpoint;  // the coordinator's: inproc://, ipc:// or tcp://
  std::string name;      // in Hello and in results; empty means DefaultAgentName()
  // The coordinator gets a Heartbeat after this long without any message.
  std::chrono::milliseconds heartbeat_interval{1000};
  // After this long without a word from the coordinator, the session is
  // considered lost and restarts when the coordinator is heard again.
  std::chrono::milliseconds heartbeat_timeout{10000};
  // Where bundles are unpacked; null: jobs naming a bundle fail.
  BundleCache* bundles = nullptr;
  // Longest a stop waits for executions in flight.
  std::chrono::milliseconds drain_timeout{60000};
  // A FetchBundle not answered within this is sent again.
  std::chrono::milliseconds bundle_retry{10000};
  // Applied to the DEALER socket before it connects (e.g. CurveZMQ keys).
  std::function<void(zmq::socket_t&)> configure_socket{};
};

// "hostname:pid".
std::string DefaultAgentName();

class Agent {
 public:
  // Connects a DEALER socket in `context` to `options.endpoint`; the
  // coordinator need not be up yet. `context` and `executor` must outlive
  // the Agent, and nothing else may use `executor` meanwhile.
  static Result<std::unique_ptr<Agent>> Create(zmq::context_t& context, AgentOptions options,
                                               Executor& executor);

  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;
  ~Agent();

  // Serves the coordinator until stopped, then says Bye and returns Ok.
  // Every job received yields exactly one result sent back, unless the agent
  // stops before it finishes (the coordinator then re-runs it elsewhere).
  // Returns an error if the executor fails or the socket breaks. Call it
  // once, on one thread.
  Status Run();

  // First call: drain (take no more work, finish what is in flight, then
  // return). With `now`, or a second call: Run() returns within about
  // 100 ms. Safe from any thread and from a signal handler.
  void RequestStop(bool now = false) {
    if (now || draining_.exchange(true)) stop_now_.store(true);
  }

 private:
  Agent(AgentOptions options, Executor& executor, zmq::socket_t socket);

  Status Serve();
  bool Drained();
  Status Wait(bool& executor_ready);
  void ReceiveAll();
  void Handle(Message message);
  void TakeJobs(JobBatch batch);
  void PrepareJob(Job job);
  void OnBundle(BundleData data);
  void FailJobs(std::vector<Job> jobs, const std::string& why);
  void RetryBundleFetches();
  Status SubmitBacklog();
  void CollectResults();
  void QueueResults(std::vector<ExecutionResult> results);
  void StartSession();
  void AskForWork();
  void KeepAlive();
  void Queue(const Message& message);
  void FlushOutbox();

  AgentOptions options_;
  Executor& executor_;
  zmq::socket_t socket_;
  std::atomic<bool> draining_{false};
  std::atomic<bool> stop_now_{false};

  std::deque<Job> backlog_;         // received, waiting for a free slot
  // Jobs waiting for a bundle being fetched, by bundle hash.
  struct BundleWait {
    std::vector<Job> jobs;
    std::chrono::steady_clock::time_point asked;
  };
  std::map<std::string, BundleWait> awaiting_bundle_;
  std::vector<ExecutionResult> failed_;  // results made here, not by the executor
  std::deque<std::string> outbox_;  // encoded messages the socket has not taken yet
  uint64_t requested_ = 0;          // credit asked for and not yet filled with jobs
  bool session_live_ = false;       // false once the coordinator fell silent
  std::chrono::steady_clock::time_point last_heard_;
  std::chrono::steady_clock::time_point last_sent_;
};

}  // namespace graphene
