// The calling process's threads as the kernel sees them (/proc/self/task):
// the view that also shows threads Python does not know about, such as
// threads started by C extensions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace graphene {

struct OsThread {
  int64_t tid = 0;
  std::string comm;  // the kernel's thread name (15 chars)
};

// Every thread of the calling process, including the main thread.
std::vector<OsThread> ListOsThreads();

// Just the thread ids, cheaper: no per-thread file reads.
std::vector<int64_t> ListOsThreadIds();

}  // namespace graphene
