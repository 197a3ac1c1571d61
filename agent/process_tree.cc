#include "agent/process_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>
#include <thread>

namespace graphene {
namespace {

// Reads up to `limit` bytes of a /proc file, growing the buffer only as
// needed: most of these files are a few bytes long.
std::string ReadSmallFile(const std::string& path, size_t limit = 4096) {
  std::string data;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return data;
  char chunk[4096];
  while (data.size() < limit) {
    ssize_t n = ::read(fd, chunk, std::min(sizeof(chunk), limit - data.size()));
    if (n <= 0) break;
    data.append(chunk, static_cast<size_t>(n));
  }
  ::close(fd);
  return data;
}

std::vector<std::string> ListDir(const std::string& path) {
  std::vector<std::string> names;
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return names;
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') names.emplace_back(entry->d_name);
  }
  ::closedir(dir);
  return names;
}

// Reaps every child that has exited, without blocking.
void ReapExited() {
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

}  // namespace

std::vector<pid_t> ChildrenOf(pid_t pid) {
  std::vector<pid_t> children;
  std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
  for (const std::string& tid : ListDir(task_dir)) {
    std::istringstream in(ReadSmallFile(task_dir + "/" + tid + "/children", 1 << 20));
    for (pid_t child; in >> child;) children.push_back(child);
  }
  return children;
}

std::vector<pid_t> DescendantPids(pid_t root) {
  std::vector<pid_t> found = ChildrenOf(root);
  for (size_t i = 0; i < found.size(); ++i) {
    for (pid_t child : ChildrenOf(found[i])) found.push_back(child);
  }
  return found;
}

ProcessInfo ReadProcess(pid_t pid) {
  ProcessInfo info;
  std::string base = "/proc/" + std::to_string(pid);
  std::string stat = ReadSmallFile(base + "/stat");
  // "pid (comm) state ppid ...": comm may hold spaces and parens, so parse
  // from the last ')'.
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return info;
  std::istringstream rest(stat.substr(close + 1));
  rest >> info.state >> info.ppid;
  info.pid = pid;
  size_t open = stat.find('(');
  info.comm = stat.substr(open + 1, close - open - 1);
  info.cmdline = ReadSmallFile(base + "/cmdline", 512);
  while (!info.cmdline.empty() && info.cmdline.back() == '\0') info.cmdline.pop_back();
  for (char& c : info.cmdline) {
    if (c == '\0') c = ' ';
  }
  return info;
}

size_t KillAllDescendants(std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  pid_t self = ::getpid();
  while (true) {
    std::vector<pid_t> alive;
    for (pid_t pid : DescendantPids(self)) {
      if (!ReadProcess(pid).zombie()) alive.push_back(pid);
    }
    for (pid_t pid : alive) ::kill(pid, SIGKILL);
    ReapExited();
    if (alive.empty() && ChildrenOf(self).empty()) return 0;
    if (std::chrono::steady_clock::now() >= deadline) return alive.size();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace graphene
