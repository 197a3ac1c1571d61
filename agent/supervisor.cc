#include "agent/supervisor.h"

#include <Python.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <thread>

#include "agent/process_cap.h"
#include "agent/process_tree.h"
#include "agent/run_as.h"
#include "agent/runner.h"
#include "agent/snapshot_diff.h"
#include "base/frame_io.h"
#include "base/unique_fd.h"
#include "schema/names.h"

namespace graphene {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Time allowed on top of --timeout and --grace for imports and snapshots.
constexpr milliseconds kSnapshotSlack(2000);
// How long killing the tree may take before we report leftovers.
constexpr milliseconds kKillLimit(5000);
// How often a running execution's processes are counted against its limit.
constexpr milliseconds kProcessCountInterval(20);

struct Pipe {
  UniqueFd read_end, write_end;
};

Pipe MakePipe() {
  int fds[2] = {-1, -1};
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    fmt::print(stderr, "graphene supervisor: {}\n", ErrnoMessage("creating a pipe"));
    ::_exit(3);
  }
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// Bounded capture of the runner's stdout and stderr.
class OutputCapture {
 public:
  void Drain(int fd) {
    char chunk[16384];
    ssize_t n;
    while ((n = ::read(fd, chunk, sizeof(chunk))) > 0) {
      size_t room = kMaxCapturedOutput - std::min(kMaxCapturedOutput, text_.size());
      text_.append(chunk, std::min(room, static_cast<size_t>(n)));
      dropped_ += static_cast<size_t>(n) - std::min(room, static_cast<size_t>(n));
    }
  }
  std::string Take() {
    if (dropped_ > 0)
      text_ += fmt::format("\n[graphene: output truncated, {} more bytes]", dropped_);
    return std::move(text_);
  }

 private:
  std::string text_;
  size_t dropped_ = 0;
};

std::string DescribeExit(int wait_status) {
  if (WIFSIGNALED(wait_status)) {
    int sig = WTERMSIG(wait_status);
    const char* name = sigabbrev_np(sig);
    return fmt::format("was killed by signal {} (SIG{})", sig, name ? name : "?");
  }
  return fmt::format("exited with status {} without returning (os._exit or a fatal error)",
                     WEXITSTATUS(wait_status));
}

class Supervisor {
 public:
  Supervisor(const SandboxRequest& request, int reply_fd, int signal_fd, ProcessCap& cap)
      : request_(request), reply_fd_(reply_fd), signal_fd_(signal_fd), cap_(cap) {}
  // Runs the request and writes its reply; false if the reply could not be sent.
  bool Run();

 private:
  void ForkRunner();
  void AwaitRunner();
  void HandleReport(const RunnerReport& report);
  bool OnDeadline(uint32_t limit_ms);
  bool OverProcessLimit();
  void RecordAbnormalEnd(std::string_view status, const std::string& error);
  bool Finish();

  SandboxRequest request_;
  int reply_fd_;
  int signal_fd_;
  ProcessCap& cap_;
  pid_t runner_ = 0;
  UniqueFd report_fd_, output_fd_, registry_fd_, runner_pidfd_;
  // Kept open so a runner whose target closed every fd can reopen the pipe.
  UniqueFd report_write_fd_;
  OutputCapture output_;
  std::set<int64_t> baseline_pids_;
  bool done_ = false;
  SandboxReply reply_;
  Clock::time_point deadline_;
  bool calling_ = false;        // the runner has sent its baseline and is in the call
  bool asked_to_stop_ = false;  // the timeout signal went to the runner
  Clock::time_point next_process_count_;
};

void Supervisor::ForkRunner() {
  Pipe report = MakePipe(), output = MakePipe();
  registry_fd_.reset(::memfd_create("graphene-registry", MFD_CLOEXEC));
  ::fcntl(registry_fd_.get(), F_SETFL, O_APPEND);
  int dev_null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  // The supervisor, the runner, the limit, and one over it, so that the
  // supervisor's count sees a target that tried to exceed it and ends the
  // execution as a crash.
  if (request_.kind == kRequestExecute) cap_.SetLimit(request_.job.limits.max_processes + 3);

  runner_ = ::fork();
  if (runner_ == 0) {
    PyOS_AfterFork_Child();
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::dup2(dev_null, STDIN_FILENO);
    ::dup2(output.write_end.get(), STDOUT_FILENO);
    ::dup2(output.write_end.get(), STDERR_FILENO);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGTERM, SIG_DFL);
    rlim_t bytes = static_cast<rlim_t>(request_.job.limits.memory_limit_mb) << 20;
    rlimit memory{bytes, bytes};
    if (request_.kind == kRequestExecute) ::setrlimit(RLIMIT_AS, &memory);
    // A crashing target must not litter its folder (or the bundle cache)
    // with core files.
    rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    if (const std::optional<RunAs>& user = ExecutionUser(); user && !BecomeUser(*user)) {
      fmt::print(stderr, "graphene runner: {}\n",
                 ErrnoMessage("running as user " + FormatRunAs(*user)));
      ::_exit(3);
    }
    RunRunner(request_, RunnerContext{::getppid(), report.write_end.get(), report.write_end.get(),
                                      registry_fd_.get()});
  }
  ::close(dev_null);
  if (runner_ < 0) {
    fmt::print(stderr, "graphene supervisor: {}\n", ErrnoMessage("forking the runner"));
    ::_exit(3);
  }
  report_fd_ = std::move(report.read_end);
  report_write_fd_ = std::move(report.write_end);
  output_fd_ = std::move(output.read_end);
  ::fcntl(report_fd_.get(), F_SETFL, O_NONBLOCK);
  ::fcntl(output_fd_.get(), F_SETFL, O_NONBLOCK);
  runner_pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, runner_, 0)));
}

void Supervisor::HandleReport(const RunnerReport& report) {
  if (report.kind == kReportBaseline) {
    baseline_pids_.insert(report.baseline_pids.begin(), report.baseline_pids.end());
    calling_ = true;
    deadline_ = Clock::now() + milliseconds(request_.job.limits.timeout_ms);
  } else if (report.kind == kReportDone) {
    reply_ = report.reply;
    done_ = true;
  }
}

// At the deadline of a call in progress, the runner is first asked to stop
// (so it still reports the threads the target left); if it does not report
// within the grace period and some slack, or the deadline was that of
// loading the target, the execution ends here. Returns true when it ended.
bool Supervisor::OnDeadline(uint32_t limit_ms) {
  if (calling_ && !asked_to_stop_) {
    asked_to_stop_ = true;
    // To the main thread, whose Python handler raises in the target's call.
    ::syscall(SYS_tgkill, runner_, runner_, TimeoutSignal());
    deadline_ = Clock::now() + milliseconds(request_.job.limits.grace_ms) + kSnapshotSlack;
    return false;
  }
  RecordAbnormalEnd(kStatusTimeout, fmt::format("exceeded the timeout of {} ms", limit_ms));
  return true;
}

// Counts the execution's processes now and then; a fork bomb must not take
// the machine. The runner itself is one of them.
bool Supervisor::OverProcessLimit() {
  if (request_.kind != kRequestExecute || Clock::now() < next_process_count_) return false;
  next_process_count_ = Clock::now() + kProcessCountInterval;
  return DescendantPids(::getpid()).size() > request_.job.limits.max_processes + 1;
}

// Polls the runner's report pipe, its output and its exit until it reports,
// dies or runs out of time.
void Supervisor::AwaitRunner() {
  uint32_t limit_ms =
      request_.kind == kRequestExecute ? request_.job.limits.timeout_ms : request_.timeout_ms;
  deadline_ = Clock::now() + milliseconds(limit_ms) + kSnapshotSlack;
  next_process_count_ = Clock::now() + kProcessCountInterval;
  FrameReader reports;
  bool runner_exited = false;
  while (!done_) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline_ - Clock::now()).count();
    if (left <= 0) {
      if (OnDeadline(limit_ms)) return;
      continue;
    }
    if (OverProcessLimit()) {
      RecordAbnormalEnd(kStatusCrash,
                        fmt::format("exceeded the process limit of {} processes (--max-processes)",
                                    request_.job.limits.max_processes));
      return;
    }
    pollfd fds[4] = {{report_fd_.get(), POLLIN, 0},
                     {output_fd_.get(), POLLIN, 0},
                     {runner_pidfd_.get(), POLLIN, 0},
                     {signal_fd_, POLLIN, 0}};
    int wait_ms = static_cast<int>(std::min<int64_t>(left, kProcessCountInterval.count()));
    if (::poll(fds, 4, wait_ms) < 0 && errno != EINTR) break;
    if (fds[3].revents) {  // the zygote is going away: leave nothing behind
      KillAllDescendants(kKillLimit);
      ::_exit(1);
    }
    if (fds[1].revents) output_.Drain(output_fd_.get());
    runner_exited = runner_exited || fds[2].revents;
    reports.Fill(report_fd_.get());
    while (auto frame = reports.Next()) {
      if (auto report = Unpack<RunnerReport>(*frame); report.ok()) HandleReport(*report);
    }
    if (runner_exited && !done_) {
      int status = 0;
      ::waitpid(runner_, &status, 0);
      std::this_thread::sleep_for(milliseconds(request_.job.limits.grace_ms));
      RecordAbnormalEnd(kStatusCrash, "the target " + DescribeExit(status));
      return;
    }
  }
}

// A runner that crashed or timed out cannot describe what it left; report
// the processes from here (threads died with the runner).
void Supervisor::RecordAbnormalEnd(std::string_view status, const std::string& error) {
  reply_ = SandboxReply{};
  if (request_.kind != kRequestExecute) {
    reply_.error = fmt::format("loading the targets {}: {}", status, error);
    return;
  }
  ExecutionResult& result = reply_.result;
  result.campaign = request_.job.campaign;
  result.index = request_.job.index;
  result.status = status;
  result.error = error;
  std::vector<ProcessInfo> left;
  for (pid_t pid : DescendantPids(::getpid())) {
    if (pid != runner_ && !baseline_pids_.count(pid)) left.push_back(ReadProcess(pid));
  }
  std::string registry(1 << 20, '\0');
  ssize_t n = ::pread(registry_fd_.get(), registry.data(), registry.size(), 0);
  registry.resize(n > 0 ? static_cast<size_t>(n) : 0);
  result.escapes = DescribeProcesses(left, ParseRegistry(registry));
  result.escape_detected = !result.escapes.empty();
}

bool Supervisor::Finish() {
  size_t survivors = KillAllDescendants(kKillLimit);
  output_.Drain(output_fd_.get());
  reply_.id = request_.id;
  if (request_.kind == kRequestExecute) {
    reply_.result.output = output_.Take();
    if (survivors > 0) {
      reply_.result.error += fmt::format("{}graphene could not kill {} processes",
                                         reply_.result.error.empty() ? "" : "\n", survivors);
    }
  }
  return WriteFrame(reply_fd_, Pack(reply_)).ok();
}

bool Supervisor::Run() {
  ForkRunner();
  AwaitRunner();
  return Finish();
}

// Runs requests one at a time until the zygote closes `request_fd` or
// signals through `signal_fd`.
void ServeRequests(int request_fd, int reply_fd, int signal_fd);

}  // namespace

void RunSupervisor(int request_fd, int reply_fd) {
  // Keep only our two pipes: the zygote's other fds (the agent's socket,
  // other slots' pipes) must not leak into targets.
  ::dup2(request_fd, 3);
  ::dup2(reply_fd, 4);
  ::close_range(5, ~0U, 0);
  request_fd = 3;
  reply_fd = 4;
  ::fcntl(request_fd, F_SETFD, FD_CLOEXEC);
  ::fcntl(reply_fd, F_SETFD, FD_CLOEXEC);
  // Orphans of an execution (double forks, setsid) are re-parented to us.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  // A group of our own: a target signalling its process group reaches its
  // own execution, not the zygote and the other slots.
  ::setpgid(0, 0);
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ::sigprocmask(SIG_BLOCK, &term, nullptr);
  UniqueFd signal_fd(::signalfd(-1, &term, SFD_CLOEXEC | SFD_NONBLOCK));
  ServeRequests(request_fd, reply_fd, signal_fd.get());
  KillAllDescendants(kKillLimit);
  ::_exit(0);
}

namespace {

void ServeRequests(int request_fd, int reply_fd, int signal_fd) {
  ProcessCap cap;
  while (true) {
    pollfd fds[2] = {{request_fd, POLLIN, 0}, {signal_fd, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) break;
    if (fds[1].revents) break;  // SIGTERM: the zygote is going away
    if (!fds[0].revents) continue;
    Result<std::optional<std::string>> frame = ReadFrame(request_fd);
    if (!frame.ok() || !frame->has_value()) break;  // the zygote closed our slot
    Result<SandboxRequest> request = Unpack<SandboxRequest>(**frame);
    if (!request.ok()) break;
    if (!Supervisor(*request, reply_fd, signal_fd, cap).Run()) break;
  }
  KillAllDescendants(kKillLimit);  // the cgroup must be empty to go
}

}  // namespace
}  // namespace graphene
