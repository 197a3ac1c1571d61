#include "agent/process_cap.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>

namespace graphene {
namespace {

constexpr const char* kPidsRoot = "/sys/fs/cgroup/pids";
constexpr const char* kGrapheneGroup = "/sys/fs/cgroup/pids/graphene";

std::string GroupOf(pid_t supervisor) {
  return std::string(kGrapheneGroup) + "/supervisor-" + std::to_string(supervisor);
}

bool WriteFile(const std::string& path, std::string_view text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

}  // namespace

ProcessCap::ProcessCap() {
  if (::access(kPidsRoot, W_OK) != 0) return;
  ::mkdir(kGrapheneGroup, 0755);  // shared by every supervisor; may exist
  std::string dir = GroupOf(::getpid());
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return;
  if (::access((dir + "/pids.max").c_str(), W_OK) != 0) return;
  if (!WriteFile(dir + "/cgroup.procs", std::to_string(::getpid()))) {
    ::rmdir(dir.c_str());
    return;
  }
  dir_ = dir;
}

ProcessCap::~ProcessCap() {
  // We are in the cgroup ourselves: leave it for our parent's, then remove it.
  if (active() && WriteFile(std::string(kPidsRoot) + "/cgroup.procs", std::to_string(::getpid()))) {
    ::rmdir(dir_.c_str());
  }
}

void ProcessCap::SetLimit(uint32_t processes) {
  if (!active() || processes == limit_) return;
  if (WriteFile(dir_ + "/pids.max", std::to_string(processes))) limit_ = processes;
}

bool ProcessCap::RemoveLeftover(pid_t pid) {
  return ::rmdir(GroupOf(pid).c_str()) == 0 || errno == ENOENT;
}

}  // namespace graphene
