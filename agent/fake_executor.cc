#include "agent/fake_executor.h"

#include <fmt/format.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <utility>

#include "schema/names.h"

namespace graphene {
namespace {

using Clock = std::chrono::steady_clock;

ExecutionResult FakeResult(const Job& job) {
  ExecutionResult result;
  result.campaign = job.campaign;
  result.index = job.index;
  result.status = std::string(kStatusOk);
  result.escape_detected = job.input == kFakeEscapeInput;
  if (result.escape_detected) {
    Escape escape;
    escape.kind = std::string(kKindThread);
    escape.name = "fake-escape";
    escape.started_at = job.target;
    result.escapes.push_back(std::move(escape));
  }
  return result;
}

}  // namespace

Result<std::unique_ptr<FakeExecutor>> FakeExecutor::Create(FakeExecutorOptions options) {
  if (!options.use_ready_fd) {
    if (options.delay.count() != 0) {
      return Status::Error("a fake executor without a ready fd cannot delay results");
    }
    return std::unique_ptr<FakeExecutor>(new FakeExecutor(options, UniqueFd()));
  }
  // steady_clock is CLOCK_MONOTONIC on Linux, so deadlines arm the timer as is.
  UniqueFd timer(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!timer.valid()) return Status::Error(ErrnoMessage("creating the fake executor's timerfd"));
  return std::unique_ptr<FakeExecutor>(new FakeExecutor(options, std::move(timer)));
}

FakeExecutor::FakeExecutor(FakeExecutorOptions options, UniqueFd timer)
    : options_(options), timer_(std::move(timer)) {}

Status FakeExecutor::Submit(const Job& job) {
  if (pending_.size() >= options_.capacity) {
    return Status::Error(fmt::format("fake executor: job {} submitted with all {} slots busy",
                                     job.index, options_.capacity));
  }
  const Clock::time_point ready_at = Clock::now() + options_.delay;
  pending_.push_back(Pending{ready_at, FakeResult(job)});
  ++submitted_;
  // Only the oldest pending result sets the timer; later ones are due later.
  if (timer_.valid() && pending_.size() == 1) return Arm(ready_at);
  return Status::Ok();
}

std::vector<ExecutionResult> FakeExecutor::Collect() {
  std::vector<ExecutionResult> results;
  if (timer_.valid()) {
    uint64_t expirations = 0;  // drained so the fd stops polling readable
    while (read(timer_.get(), &expirations, sizeof(expirations)) < 0 && errno == EINTR) {
    }
  }
  const Clock::time_point now = Clock::now();
  while (!pending_.empty() && (!timer_.valid() || pending_.front().ready_at <= now)) {
    results.push_back(std::move(pending_.front().result));
    pending_.pop_front();
  }
  // timerfd_settime fails only for a bad fd or time, neither possible here.
  if (timer_.valid() && !pending_.empty()) Arm(pending_.front().ready_at);
  return results;
}

Status FakeExecutor::Arm(Clock::time_point when) {
  const auto since_epoch = when.time_since_epoch();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  itimerspec spec{};
  spec.it_value.tv_sec = seconds.count();
  spec.it_value.tv_nsec =
      std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch - seconds).count();
  if (timerfd_settime(timer_.get(), TFD_TIMER_ABSTIME, &spec, nullptr) != 0) {
    return Status::Error(ErrnoMessage("arming the fake executor's timerfd"));
  }
  return Status::Ok();
}

}  // namespace graphene
