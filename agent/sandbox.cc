#include "agent/sandbox.h"

#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "agent/zygote.h"
#include "schema/names.h"

extern char** environ;

namespace graphene {
namespace {

constexpr int kSocketBufferBytes = 4 << 20;

Result<pid_t> SpawnZygote(const std::string& executable, int child_fd,
                          const std::optional<RunAs>& run_as) {
  // Our environment, plus who runs the targets.
  std::vector<std::string> variables;
  for (char** variable = environ; *variable != nullptr; ++variable) {
    if (std::string_view(*variable).starts_with(std::string(kRunAsVariable) + "=")) continue;
    variables.emplace_back(*variable);
  }
  if (run_as) variables.push_back(std::string(kRunAsVariable) + "=" + FormatRunAs(*run_as));
  std::vector<char*> envp;
  for (std::string& variable : variables) envp.push_back(variable.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, child_fd, kZygoteSocketFd);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  // Its own process group: a terminal's Ctrl-C reaches the agent, which then
  // shuts the zygote down in order, instead of killing executions mid-report.
  posix_spawnattr_setpgroup(&attributes, 0);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setflags(&attributes,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  char* argv[] = {const_cast<char*>("graphene"), const_cast<char*>(kZygoteCommand), nullptr};
  pid_t pid = 0;
  int error = ::posix_spawn(&pid, executable.c_str(), &actions, &attributes, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  if (error != 0) {
    errno = error;
    return Status::Error(ErrnoMessage("starting the sandbox zygote " + executable));
  }
  return pid;
}

}  // namespace

Result<std::unique_ptr<Sandbox>> Sandbox::Start(const SandboxOptions& options) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return Status::Error(ErrnoMessage("creating the sandbox socket"));
  }
  UniqueFd ours(fds[0]), theirs(fds[1]);
  for (int fd : fds) {
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &kSocketBufferBytes, sizeof(kSocketBufferBytes));
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kSocketBufferBytes, sizeof(kSocketBufferBytes));
  }
  // The real path, so that the zygote's processes are named after it ("exe"
  // otherwise) in ps and in /proc/PID/comm.
  std::error_code ignored;
  std::string executable = std::filesystem::canonical(options.executable, ignored).string();
  if (executable.empty()) executable = options.executable;
  Result<pid_t> zygote = SpawnZygote(executable, theirs.get(), options.run_as);
  if (!zygote.ok()) return zygote.status();
  return std::unique_ptr<Sandbox>(new Sandbox(options, *zygote, std::move(ours)));
}

Sandbox::Sandbox(const SandboxOptions& options, pid_t zygote, UniqueFd socket)
    : options_(options), zygote_(zygote), socket_(std::move(socket)) {}

Sandbox::~Sandbox() {
  // Closing the socket tells the zygote to end its executions and exit.
  socket_.reset();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (::waitpid(zygote_, nullptr, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(zygote_, SIGKILL);
      ::waitpid(zygote_, nullptr, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

Status Sandbox::Submit(const Job& job) {
  if (dead_) return Status::Error("the sandbox zygote has exited");
  SandboxRequest request;
  request.id = next_id_++;
  request.kind = kRequestExecute;
  request.job = job;
  jobs_[request.id] = job;
  Status sent = WriteFrame(socket_.get(), Pack(request));
  if (!sent.ok()) FailAllInFlight("sending a job to the sandbox: " + sent.message());
  return Status::Ok();
}

void Sandbox::FailAllInFlight(const std::string& why) {
  dead_ = true;
  for (auto& [id, job] : jobs_) {
    ExecutionResult result;
    result.campaign = job.campaign;
    result.index = job.index;
    result.status = kStatusError;
    result.error = why;
    failed_.push_back(std::move(result));
  }
  jobs_.clear();
}

std::vector<ExecutionResult> Sandbox::Collect() {
  std::vector<ExecutionResult> results = std::move(failed_);
  failed_.clear();
  if (dead_) return results;
  bool open = reader_.Fill(socket_.get());
  while (auto frame = reader_.Next()) {
    Result<SandboxReply> reply = Unpack<SandboxReply>(*frame);
    if (!reply.ok()) continue;
    auto job = jobs_.find(reply->id);
    if (job == jobs_.end()) continue;
    // The job is ours, so its ids are: a runner that failed before filling
    // in its result must not lose the job by naming another.
    ExecutionResult& result = reply->result;
    result.campaign = job->second.campaign;
    result.index = job->second.index;
    if (!reply->error.empty() && result.error.empty()) {
      result.status = kStatusError;
      result.error = reply->error;
    }
    jobs_.erase(job);
    results.push_back(std::move(result));
  }
  if (!open || reader_.corrupt()) {
    FailAllInFlight("the sandbox zygote exited unexpectedly");
    for (ExecutionResult& r : failed_) results.push_back(std::move(r));
    failed_.clear();
  }
  return results;
}

Result<SandboxReply> Sandbox::Call(SandboxRequest request) {
  if (dead_ || !jobs_.empty()) return Status::Error("the sandbox is not idle");
  request.id = next_id_++;
  Status sent = WriteFrame(socket_.get(), Pack(request));
  if (!sent.ok()) return sent;
  while (true) {
    pollfd fd{socket_.get(), POLLIN, 0};
    if (::poll(&fd, 1, -1) < 0 && errno != EINTR) return Status::Error(ErrnoMessage("sandbox"));
    bool open = reader_.Fill(socket_.get());
    while (auto frame = reader_.Next()) {
      Result<SandboxReply> reply = Unpack<SandboxReply>(*frame);
      if (!reply.ok()) return reply.status();
      if (reply->id == request.id) return reply;
    }
    if (!open) {
      dead_ = true;
      return Status::Error("the sandbox zygote exited (is the embedded Python usable?)");
    }
  }
}

Result<std::vector<TargetInfo>> Sandbox::LoadTargets(std::string_view kind,
                                                     const std::vector<std::string>& specs,
                                                     const std::string& root, uint32_t timeout_ms) {
  SandboxRequest request;
  request.kind = kind;
  request.specs = specs;
  request.root = root;
  request.timeout_ms = timeout_ms;
  Result<SandboxReply> reply = Call(std::move(request));
  if (!reply.ok()) return reply.status();
  if (!reply->error.empty()) return Status::Error(reply->error);
  return std::move(reply->targets);
}

Result<std::vector<TargetInfo>> Sandbox::Describe(const std::vector<std::string>& specs,
                                                  const std::string& root, uint32_t timeout_ms) {
  return LoadTargets(kRequestDescribe, specs, root, timeout_ms);
}

Result<std::vector<TargetInfo>> Sandbox::Discover(const std::vector<std::string>& paths,
                                                  const std::string& root, uint32_t timeout_ms) {
  return LoadTargets(kRequestDiscover, paths, root, timeout_ms);
}

}  // namespace graphene
