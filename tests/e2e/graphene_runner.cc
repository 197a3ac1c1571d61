#include "tests/e2e/graphene_runner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <map>

#include "base/unique_fd.h"
#include "gtest/gtest.h"

extern char** environ;

namespace graphene::e2e {
namespace {

using Clock = std::chrono::steady_clock;

struct Pipe {
  UniqueFd read_end;
  UniqueFd write_end;
};

bool MakePipe(Pipe& pipe) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  pipe.read_end.reset(fds[0]);
  pipe.write_end.reset(fds[1]);
  return true;
}

// The test's environment with `overrides` set on top, as "NAME=value" strings.
std::vector<std::string> ChildEnvironment(
    const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::map<std::string, std::string> vars;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string text(*entry);
    size_t equals = text.find('=');
    if (equals != std::string::npos) vars[text.substr(0, equals)] = text.substr(equals + 1);
  }
  for (const auto& [name, value] : overrides) vars[name] = value;
  std::vector<std::string> flat;
  for (const auto& [name, value] : vars) flat.push_back(name + "=" + value);
  return flat;
}

std::vector<char*> NullTerminated(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

// Appends what is readable on `fd` to `sink` without blocking. Returns false
// once the pipe is at end of file (or broken).
bool Drain(int fd, std::string& sink) {
  char chunk[65536];
  while (true) {
    ssize_t n = ::read(fd, chunk, sizeof(chunk));
    if (n > 0) {
      sink.append(chunk, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && errno == EAGAIN;
  }
}

void RecordExit(int status, RunResult& result) {
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.term_signal = WTERMSIG(status);
}

// Collects the child's output until it exits or `deadline` passes. Output
// written after the child exited (by something it left behind holding the
// pipes) is not the child's and is not waited for.
void Supervise(pid_t pid, int out_fd, int err_fd, Clock::time_point deadline, RunResult& result) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  bool out_open = true, err_open = true;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    // Without a pidfd (old kernels) the exit is polled for.
    int timeout_ms = pidfd.valid() ? static_cast<int>(left.count())
                                   : static_cast<int>(std::min<int64_t>(left.count(), 10));
    pollfd fds[3] = {{out_open ? out_fd : -1, POLLIN, 0},
                     {err_open ? err_fd : -1, POLLIN, 0},
                     {pidfd.get(), POLLIN, 0}};
    if (::poll(fds, 3, timeout_ms) < 0 && errno != EINTR) {
      ADD_FAILURE() << "polling graphene's output: " << std::strerror(errno);
      ::kill(pid, SIGKILL);
      break;
    }
    if (fds[0].revents) out_open = Drain(out_fd, result.out);
    if (fds[1].revents) err_open = Drain(err_fd, result.err);
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      Drain(out_fd, result.out);
      Drain(err_fd, result.err);
      RecordExit(status, result);
      return;
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  Drain(out_fd, result.out);
  Drain(err_fd, result.err);
  RecordExit(status, result);
}

}  // namespace

std::string DescribeCommand(const std::vector<std::string>& args) {
  std::string line = "graphene";
  for (const std::string& arg : args) line += " " + arg;
  return line;
}

RunResult RunProgram(const std::string& binary, const std::vector<std::string>& args,
                     const RunOptions& options) {
  RunResult result;
  Pipe out, err;
  if (!MakePipe(out) || !MakePipe(err)) {
    ADD_FAILURE() << "creating pipes: " << std::strerror(errno);
    return result;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out.write_end.get(), STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err.write_end.get(), STDERR_FILENO);
  posix_spawn_file_actions_addchdir_np(&actions, options.cwd.c_str());

  std::vector<std::string> argv_strings = {binary};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<std::string> env_strings = ChildEnvironment(options.env);
  std::vector<char*> argv = NullTerminated(argv_strings);
  std::vector<char*> envp = NullTerminated(env_strings);

  const Clock::time_point deadline = Clock::now() + options.deadline;
  pid_t pid = 0;
  int error = ::posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) {
    ADD_FAILURE() << "starting " << binary << ": " << std::strerror(error);
    return result;
  }
  out.write_end.reset();
  err.write_end.reset();
  ::fcntl(out.read_end.get(), F_SETFL, O_NONBLOCK);
  ::fcntl(err.read_end.get(), F_SETFL, O_NONBLOCK);
  Supervise(pid, out.read_end.get(), err.read_end.get(), deadline, result);
  if (result.timed_out) {
    ADD_FAILURE() << DescribeCommand(args) << " did not finish within " << options.deadline.count()
                  << " s and was killed; stderr so far:\n"
                  << result.err;
  }
  return result;
}

RunResult RunGraphene(const std::vector<std::string>& args, const RunOptions& options) {
  return RunProgram(kGrapheneBinary, args, options);
}

}  // namespace graphene::e2e
