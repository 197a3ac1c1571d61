#include "cli/local_cluster.h"

#include <unistd.h>

#include <atomic>
#include <thread>

#include "agent/agent.h"
#include "base/zmq_nonblocking.h"

namespace graphene {
namespace {

std::atomic<Coordinator*> running_coordinator{nullptr};
std::atomic<bool> stop_requested{false};

}  // namespace

void StopLocalCampaign() {
  stop_requested.store(true);
  if (Coordinator* coordinator = running_coordinator.load()) coordinator->RequestStop();
}

Status RunLocalCampaign(const CampaignPlan& plan, Executor& executor, ResultSink& sink,
                        const std::function<void(const Progress&)>& on_progress) {
  zmq::context_t context;
  std::string endpoint = "inproc://graphene-coordinator-" + std::to_string(::getpid());
  CoordinatorOptions coordinator_options;
  coordinator_options.endpoint = endpoint;
  Result<std::unique_ptr<Coordinator>> coordinator =
      Coordinator::Create(context, coordinator_options);
  if (!coordinator.ok()) return coordinator.status();
  AgentOptions agent_options;
  agent_options.endpoint = endpoint;
  Result<std::unique_ptr<Agent>> agent = Agent::Create(context, agent_options, executor);
  if (!agent.ok()) return agent.status();

  Status agent_status;
  Coordinator* coordinator_ptr = coordinator->get();
  std::thread agent_thread([&] {
    LeaveStopSignalsToMainThread();
    agent_status = (*agent)->Run();
    // With its only agent gone, the campaign could never finish.
    if (!agent_status.ok()) coordinator_ptr->RequestStop();
  });
  running_coordinator.store(coordinator->get());
  if (stop_requested.load()) (*coordinator)->RequestStop();
  Status campaign = (*coordinator)->RunCampaign(plan, sink, on_progress);
  running_coordinator.store(nullptr);
  (*agent)->RequestStop(/*now=*/true);
  agent_thread.join();
  if (!agent_status.ok()) return Status::Error("the local agent failed: " + agent_status.message());
  return campaign;
}

}  // namespace graphene
