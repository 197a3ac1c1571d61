#include "cli/git_commit.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <filesystem>

#include "base/unique_fd.h"

extern char** environ;

namespace graphene {
namespace {

namespace fs = std::filesystem;

// A full object name: 40 hex digits (SHA-1) or 64 (SHA-256 repositories).
bool IsObjectName(const std::string& text) {
  if (text.size() != 40 && text.size() != 64) return false;
  for (unsigned char c : text) {
    if (!std::isxdigit(c)) return false;
  }
  return true;
}

// Runs `git -C folder rev-parse --verify --quiet HEAD^{commit}` and returns
// what it printed, or "" when it could not run or failed.
std::string RevParseHead(const std::string& folder) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return "";
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);

  posix_spawn_file_actions_t actions;
  if (posix_spawn_file_actions_init(&actions) != 0) return "";
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  const char* argv[] = {"git",      "-C",      folder.c_str(),  "rev-parse",
                        "--verify", "--quiet", "HEAD^{commit}", nullptr};
  pid_t pid = -1;
  const int spawned =
      posix_spawnp(&pid, "git", &actions, nullptr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return "";  // no git on this machine
  write_end.reset();

  std::string output;
  char buffer[256];
  while (output.size() < 4096) {
    const ssize_t n = ::read(read_end.get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    output.append(buffer, static_cast<size_t>(n));
  }
  read_end.reset();  // a git still writing gets EPIPE rather than blocking
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return "";
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return "";
  while (!output.empty() && std::isspace(static_cast<unsigned char>(output.back()))) {
    output.pop_back();
  }
  return output;
}

}  // namespace

std::string GitCommitOf(const std::vector<TargetInfo>& targets, const std::string& root) {
  fs::path folder = root;
  if (!targets.empty() && !targets.front().file.empty()) {
    folder = (fs::path(root) / targets.front().file).parent_path();
  }
  std::string commit = RevParseHead(folder.string());
  return IsObjectName(commit) ? commit : "";
}

}  // namespace graphene
