#include "agent/zygote.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <vector>

#include "agent/embedded_python.h"
#include "agent/process_tree.h"
#include "agent/supervisor.h"
#include "base/frame_io.h"
#include "base/unique_fd.h"
#include "schema/names.h"

namespace graphene {
namespace {

struct Execution {
  uint64_t request_id = 0;
  Job job;
  UniqueFd reply_fd;
  FrameReader reader;
  bool replied = false;
};

class Zygote {
 public:
  explicit Zygote(int socket_fd) : socket_fd_(socket_fd) {}
  int Run();

 private:
  void Start(const SandboxRequest& request);
  void Forward(pid_t pid, Execution& execution, bool eof);
  void Send(const SandboxReply& reply);
  void Flush();
  bool ReadRequests();
  void Shutdown();

  int socket_fd_;
  UniqueFd signal_fd_;
  FrameReader requests_;
  std::string outbox_;  // replies not yet written: the agent may be busy
  std::map<pid_t, Execution> executions_;
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

void Zygote::Start(const SandboxRequest& request) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    Send(ErrorReply(request.id, request.job, ErrnoMessage("sandbox: creating a pipe")));
    return;
  }
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  // The supervisor runs no Python, so it skips CPython's fork hooks: the
  // runner it forks re-initialises the interpreter state it inherits, which
  // is consistent because this thread holds the GIL and is not importing.
  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    RunSupervisor(request, write_end.release());
  }
  if (pid < 0) {
    Send(ErrorReply(request.id, request.job, ErrnoMessage("sandbox: forking an execution")));
    return;
  }
  ::fcntl(read_end.get(), F_SETFL, O_NONBLOCK);
  Execution& execution = executions_[pid];
  execution.request_id = request.id;
  execution.job = request.job;
  execution.reply_fd = std::move(read_end);
}

// Passes the supervisor's reply on; a supervisor that died without one still
// yields a result, so no job is lost.
void Zygote::Forward(pid_t pid, Execution& execution, bool eof) {
  while (auto frame = execution.reader.Next()) {
    AppendFrame(outbox_, *frame);
    execution.replied = true;
  }
  if (!eof) return;
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!execution.replied) {
    Send(ErrorReply(execution.request_id, execution.job,
                    fmt::format("sandbox supervisor died without a reply (status {})", status)));
  }
  executions_.erase(pid);
}

void Zygote::Send(const SandboxReply& reply) {
  AppendFrame(outbox_, Pack(reply));
}

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
  for (auto& [pid, execution] : executions_) ::kill(pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!ChildrenOf(::getpid()).empty() && std::chrono::steady_clock::now() < deadline) {
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    ::usleep(1000);
  }
  KillAllDescendants(std::chrono::seconds(5));
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
    std::vector<pollfd> fds = {{socket_fd_, static_cast<short>(POLLIN | (outbox_.empty() ? 0 : POLLOUT)), 0},
                               {signal_fd_.get(), POLLIN, 0}};
    std::vector<pid_t> order;
    for (auto& [pid, execution] : executions_) {
      fds.push_back({execution.reply_fd.get(), POLLIN, 0});
      order.push_back(pid);
    }
    if (::poll(fds.data(), fds.size(), 1000) < 0 && errno != EINTR) break;
    if (fds[1].revents) break;
    for (size_t i = 0; i < order.size(); ++i) {
      if (!fds[i + 2].revents) continue;
      Execution& execution = executions_[order[i]];
      bool open = execution.reader.Fill(execution.reply_fd.get());
      Forward(order[i], execution, !open);
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (!ReadRequests()) break;
    }
    Flush();
    // Reap orphans that a dead supervisor handed to us.
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
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
  Status started = StartEmbeddedPython();
  if (!started.ok()) {
    fmt::print(stderr, "graphene zygote: {}\n", started.message());
    return 3;
  }
  return Zygote(socket_fd).Run();
}

}  // namespace graphene
