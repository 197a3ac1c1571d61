#include "agent/os_threads.h"

#include <dirent.h>

#include <fstream>

namespace graphene {

std::vector<int64_t> ListOsThreadIds() {
  std::vector<int64_t> tids;
  DIR* dir = ::opendir("/proc/self/task");
  if (dir == nullptr) return tids;
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') tids.push_back(std::stoll(entry->d_name));
  }
  ::closedir(dir);
  return tids;
}

std::vector<OsThread> ListOsThreads() {
  std::vector<OsThread> threads;
  for (int64_t tid : ListOsThreadIds()) {
    OsThread thread{tid, ""};
    std::ifstream comm("/proc/self/task/" + std::to_string(tid) + "/comm");
    std::getline(comm, thread.comm);
    threads.push_back(std::move(thread));
  }
  return threads;
}

}  // namespace graphene
