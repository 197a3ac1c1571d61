// The embedded mode: a coordinator and one local agent in this process,
// talking over ZeroMQ (inproc), with the agent running jobs on an Executor.
// The same code paths as a farm, without any setup.
#pragma once

#include <functional>

#include "agent/executor.h"
#include "coordinator/campaign_plan.h"
#include "coordinator/coordinator.h"
#include "coordinator/result_sink.h"

namespace graphene {

// Runs `plan` to completion on `executor`, delivering every result to `sink`
// once. Returns "interrupted" if StopLocalCampaign() was called (e.g. from a
// signal handler).
Status RunLocalCampaign(const CampaignPlan& plan, Executor& executor, ResultSink& sink,
                        const std::function<void(const Progress&)>& on_progress);

// Asks a running RunLocalCampaign to stop. Async-signal-safe.
void StopLocalCampaign();

}  // namespace graphene
