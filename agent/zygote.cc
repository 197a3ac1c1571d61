#include "agent/zygote.h"

#include "agent/run_as.h"
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <list>
#include <set>
#include <thread>
#include <vector>

#include "agent/embedded_python.h"
#include "agent/process_cap.h"
#include "agent/process_tree.h"
#include "agent/snapshot_diff.h"
#include "agent/supervisor.h"
#include "base/frame_io.h"
#include "base/unique_fd.h"
#include "schema/names.h"

namespace graphene {
namespace {

// A supervisor process and the execution it is serving, if any.
struct Slot {
  pid_t pid = 0;
  UniqueFd request_fd;  // ours to write
  UniqueFd reply_fd;    // ours to read, non-blocking
  FrameReader reader;
  bool busy = false;
  uint64_t request_id = 0;
  Job job;
  // A supervisor that has not replied by now was stopped or wedged (a target
  // can SIGSTOP its parent); it is killed so that its slot and job move on.
  std::chrono::steady_clock::time_point deadline;
};

// On top of the timeout and grace period: the supervisor's own slack for
// snapshots and for killing the tree.
constexpr std::chrono::seconds kSupervisorSlack(10);

class Zygote {
 public:
  explicit Zygote(int socket_fd) : socket_fd_(socket_fd) {}
  int Run();

 private:
  void Start(const SandboxRequest& request);
  Slot* IdleSlot();
  Slot* NewSlot();
  void Forward(Slot& slot);
  void Retire(Slot& slot, const std::string& why);
  void RetireWedged();
  void KillOrphans();
  std::vector<Escape> DescribeOrphans() const;
  bool RemoveStaleGroups();
  void Send(const SandboxReply& reply);
  void Flush();
  bool ReadRequests();
  void Shutdown();

  int socket_fd_;
  UniqueFd signal_fd_;
  FrameReader requests_;
  std::string outbox_;  // replies not yet written: the agent may be busy
  std::list<Slot> slots_;
  std::vector<pid_t> stale_groups_;  // cgroups of dead supervisors, to remove
};

SandboxReply ErrorReply(uint64_t request_id, const Job& job, const std::string& error) {
  SandboxReply reply;
  reply.id = request_id;
  reply.error = error;
  reply.result.campaign = job.campaign;
  reply.result.index = job.index;
  reply.result.status = kStatusError;
  reply.result.error = error;
  return reply;
}

Slot* Zygote::NewSlot() {
  int requests[2], replies[2];
  if (::pipe2(requests, O_CLOEXEC) != 0) return nullptr;
  UniqueFd request_read(requests[0]), request_write(requests[1]);
  if (::pipe2(replies, O_CLOEXEC) != 0) return nullptr;
  UniqueFd reply_read(replies[0]), reply_write(replies[1]);
  // The supervisor runs no Python, so it skips CPython's fork hooks: the
  // runners it forks re-initialise the interpreter state they inherit, which
  // is consistent because this thread holds the GIL and is not importing.
  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    RunSupervisor(request_read.get(), reply_write.get());
  }
  if (pid < 0) return nullptr;
  ::fcntl(reply_read.get(), F_SETFL, O_NONBLOCK);
  Slot& slot = slots_.emplace_back();
  slot.pid = pid;
  slot.request_fd = std::move(request_write);
  slot.reply_fd = std::move(reply_read);
  return &slot;
}

Slot* Zygote::IdleSlot() {
  for (Slot& slot : slots_) {
    if (!slot.busy) return &slot;
  }
  return NewSlot();
}

void Zygote::Start(const SandboxRequest& request) {
  Slot* slot = IdleSlot();
  if (slot == nullptr) {
    Send(ErrorReply(request.id, request.job, ErrnoMessage("sandbox: starting a supervisor")));
    return;
  }
  slot->busy = true;
  slot->request_id = request.id;
  slot->job = request.job;
  uint32_t limit_ms = request.kind == kRequestExecute
                          ? request.job.limits.timeout_ms + request.job.limits.grace_ms
                          : request.timeout_ms;
  slot->deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(limit_ms) + kSupervisorSlack;
  if (!WriteFrame(slot->request_fd.get(), Pack(request)).ok()) {
    Retire(*slot, "the execution's supervisor could not take the job");
  }
}

// Passes a supervisor's replies on; the slot is free again once it replied.
void Zygote::Forward(Slot& slot) {
  bool open = slot.reader.Fill(slot.reply_fd.get());
  while (auto frame = slot.reader.Next()) {
    AppendFrame(outbox_, *frame);
    slot.busy = false;
  }
  if (!open || slot.reader.corrupt()) {
    Retire(slot, "the execution's supervisor died ({}): the target killed its parent process");
  }
}

// Ends a slot whose supervisor died, broke or wedged; its execution still
// gets a result, so no job is lost. `why` may hold a {} for how it ended.
void Zygote::Retire(Slot& slot, const std::string& why) {
  ::kill(slot.pid, SIGKILL);
  int status = 0;
  ::waitpid(slot.pid, &status, 0);
  stale_groups_.push_back(slot.pid);
  if (slot.busy) {
    std::string how = WIFSIGNALED(status) ? fmt::format("signal {}", WTERMSIG(status))
                                          : fmt::format("status {}", WEXITSTATUS(status));
    SandboxReply reply = ErrorReply(slot.request_id, slot.job, fmt::format(fmt::runtime(why), how));
    reply.error.clear();
    reply.result.status = kStatusCrash;
    reply.result.escapes = DescribeOrphans();
    reply.result.escape_detected = !reply.result.escapes.empty();
    Send(reply);
  }
  slots_.remove_if([&](const Slot& s) { return &s == &slot; });
  KillOrphans();
}

void Zygote::RetireWedged() {
  auto now = std::chrono::steady_clock::now();
  for (auto it = slots_.begin(); it != slots_.end();) {
    Slot& slot = *it++;
    if (slot.busy && now > slot.deadline) {
      Retire(slot,
             "the execution's supervisor stopped responding and was killed ({}): "
             "did the target stop its parent process?");
    }
  }
}

// What a dead supervisor's execution left: its processes were re-parented to
// us. The runner itself, killed with its supervisor, is given a moment to
// become a zombie so that it is not counted.
std::vector<Escape> Zygote::DescribeOrphans() const {
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::set<pid_t> supervisors;
  for (const Slot& slot : slots_) supervisors.insert(slot.pid);
  std::vector<ProcessInfo> left;
  for (pid_t child : ChildrenOf(::getpid())) {
    if (supervisors.count(child)) continue;
    left.push_back(ReadProcess(child));
    for (pid_t pid : DescendantPids(child)) left.push_back(ReadProcess(pid));
  }
  return DescribeProcesses(left, {});
}

// Processes re-parented to us (we are a subreaper) whose supervisor is gone:
// kill them with everything they started.
void Zygote::KillOrphans() {
  std::set<pid_t> supervisors;
  for (const Slot& slot : slots_) supervisors.insert(slot.pid);
  for (pid_t child : ChildrenOf(::getpid())) {
    if (supervisors.count(child)) continue;
    for (pid_t pid : DescendantPids(child)) ::kill(pid, SIGKILL);
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, WNOHANG);  // else reaped on a later turn
  }
}

void Zygote::Send(const SandboxReply& reply) { AppendFrame(outbox_, Pack(reply)); }

void Zygote::Flush() {
  while (!outbox_.empty()) {
    ssize_t n = ::write(socket_fd_, outbox_.data(), outbox_.size());
    if (n <= 0) return;  // EAGAIN: poll for POLLOUT
    outbox_.erase(0, static_cast<size_t>(n));
  }
}

// Returns false when the agent has gone.
bool Zygote::ReadRequests() {
  bool open = requests_.Fill(socket_fd_);
  while (auto frame = requests_.Next()) {
    Result<SandboxRequest> request = Unpack<SandboxRequest>(*frame);
    if (request.ok()) {
      Start(*request);
    } else {
      fmt::print(stderr, "graphene zygote: dropping request: {}\n", request.status().message());
    }
  }
  return open && !requests_.corrupt();
}

void Zygote::Shutdown() {
  for (Slot& slot : slots_) {
    slot.request_fd.reset();
    ::kill(slot.pid, SIGTERM);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!ChildrenOf(::getpid()).empty() && std::chrono::steady_clock::now() < deadline) {
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    ::usleep(1000);
  }
  KillAllDescendants(std::chrono::seconds(5));
  for (const Slot& slot : slots_) stale_groups_.push_back(slot.pid);
  for (int i = 0; i < 1000 && !RemoveStaleGroups(); ++i) ::usleep(1000);
}

// Returns true once every dead supervisor's cgroup is gone.
bool Zygote::RemoveStaleGroups() {
  std::erase_if(stale_groups_, [](pid_t pid) { return ProcessCap::RemoveLeftover(pid); });
  return stale_groups_.empty();
}

int Zygote::Run() {
  ::fcntl(socket_fd_, F_SETFL, O_NONBLOCK);
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  ::sigprocmask(SIG_BLOCK, &stop, nullptr);
  signal_fd_.reset(::signalfd(-1, &stop, SFD_CLOEXEC | SFD_NONBLOCK));
  while (true) {
    std::vector<pollfd> fds = {
        {socket_fd_, static_cast<short>(POLLIN | (outbox_.empty() ? 0 : POLLOUT)), 0},
        {signal_fd_.get(), POLLIN, 0}};
    std::vector<Slot*> order;
    for (Slot& slot : slots_) {
      fds.push_back({slot.reply_fd.get(), POLLIN, 0});
      order.push_back(&slot);
    }
    if (::poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR) break;
    if (fds[1].revents) break;
    for (size_t i = 0; i < order.size(); ++i) {
      if (fds[i + 2].revents) Forward(*order[i]);
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (!ReadRequests()) break;
    }
    Flush();
    KillOrphans();
    RetireWedged();
    RemoveStaleGroups();
  }
  Shutdown();
  return 0;
}

}  // namespace

int RunZygote(int socket_fd) {
  // Leave nothing behind when the agent dies, however it dies.
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  ::close_range(socket_fd + 1, ~0U, 0);
  SetExecutionUser(TakeRunAsFromEnvironment());
  Status started = StartEmbeddedPython();
  if (!started.ok()) {
    fmt::print(stderr, "graphene zygote: {}\n", started.message());
    return 3;
  }
  return Zygote(socket_fd).Run();
}

}  // namespace graphene
