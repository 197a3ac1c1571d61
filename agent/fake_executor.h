// FakeExecutor: an Executor that runs nothing. Each job finishes after a fixed
// delay (by default at once) with status "ok", and escapes exactly when its
// input is kFakeEscapeInput. Tests and the coordinator benchmark use it to
// exercise scheduling without Python.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string_view>
#include <vector>

#include "agent/executor.h"
#include "base/status.h"
#include "base/unique_fd.h"

namespace graphene {

// The input whose fake execution reports an escape.
inline constexpr std::string_view kFakeEscapeInput = "escape";

struct FakeExecutorOptions {
  size_t capacity = 8;
  // False: ready_fd() is -1 and each result is ready when Submit returns.
  bool use_ready_fd = true;
  // How long after Submit a result becomes ready; needs `use_ready_fd`.
  std::chrono::milliseconds delay{0};
};

class FakeExecutor : public Executor {
 public:
  // Fails if the ready fd (a timerfd) cannot be made, or if `options` ask for
  // a delay without a ready fd.
  static Result<std::unique_ptr<FakeExecutor>> Create(FakeExecutorOptions options = {});

  size_t capacity() const override { return options_.capacity; }
  size_t in_flight() const override { return pending_.size(); }
  // Fails without starting `job` if the executor is already at capacity: a
  // caller that breaks the Executor contract is caught, not served.
  Status Submit(const Job& job) override;
  int ready_fd() const override { return timer_.get(); }
  std::vector<ExecutionResult> Collect() override;

  // How many jobs were ever submitted. Safe from any thread, so a test can
  // watch an agent's progress while it runs.
  uint64_t submitted() const { return submitted_.load(); }

 private:
  struct Pending {
    std::chrono::steady_clock::time_point ready_at;
    ExecutionResult result;
  };

  FakeExecutor(FakeExecutorOptions options, UniqueFd timer);
  Status Arm(std::chrono::steady_clock::time_point when);

  FakeExecutorOptions options_;
  UniqueFd timer_;               // readable once the oldest pending result is due; -1 if unused
  std::deque<Pending> pending_;  // in submission order, which is also ready_at order
  std::atomic<uint64_t> submitted_{0};
};

}  // namespace graphene
