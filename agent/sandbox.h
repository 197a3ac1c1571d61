// Sandbox: the Executor that runs jobs for real. It starts a zygote process
// (this binary re-executed with kZygoteCommand) that embeds a warm CPython,
// and sends it requests over a socketpair; the zygote forks one supervised,
// isolated process per execution. Describe and Discover load targets without
// running them, in forked processes too, so a target's import side effects
// never touch the caller.
#pragma once

#include <sys/types.h>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/executor.h"
#include "agent/run_as.h"
#include "base/frame_io.h"
#include "base/unique_fd.h"
#include "schema/sandbox_protocol.h"

namespace graphene {

struct SandboxOptions {
  size_t slots = 1;                           // executions at once
  std::string executable = "/proc/self/exe";  // a graphene binary that can run as the zygote
  // Who runs the targets (agent/run_as.h); nullopt: whoever runs the agent.
  std::optional<RunAs> run_as{};
};

class Sandbox : public Executor {
 public:
  // Starts the zygote. Call from a thread that outlives the Sandbox: the
  // zygote is told to end when the thread that started it ends.
  static Result<std::unique_ptr<Sandbox>> Start(const SandboxOptions& options);
  ~Sandbox() override;
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  size_t capacity() const override { return options_.slots; }
  size_t in_flight() const override { return jobs_.size(); }
  Status Submit(const Job& job) override;
  int ready_fd() const override { return socket_.get(); }
  std::vector<ExecutionResult> Collect() override;

  // Loads each of `specs` (relative to `root`) and reads its docstring.
  // Blocking; only while no job is in flight.
  Result<std::vector<TargetInfo>> Describe(const std::vector<std::string>& specs,
                                           const std::string& root, uint32_t timeout_ms);
  // Every public function defined in the .py files at `paths` (files or
  // folders, relative to `root`), described. Fails if a file cannot be loaded.
  Result<std::vector<TargetInfo>> Discover(const std::vector<std::string>& paths,
                                           const std::string& root, uint32_t timeout_ms);

 private:
  Sandbox(const SandboxOptions& options, pid_t zygote, UniqueFd socket);
  Result<SandboxReply> Call(SandboxRequest request);
  Result<std::vector<TargetInfo>> LoadTargets(std::string_view kind,
                                              const std::vector<std::string>& specs,
                                              const std::string& root, uint32_t timeout_ms);
  void FailAllInFlight(const std::string& why);

  SandboxOptions options_;
  pid_t zygote_;
  UniqueFd socket_;
  FrameReader reader_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Job> jobs_;         // request id -> job in flight
  std::vector<ExecutionResult> failed_;  // results made up for a dead zygote
  bool dead_ = false;
};

}  // namespace graphene
