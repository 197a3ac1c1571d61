#include "agent/os_threads.h"

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>

namespace graphene {
namespace {

TEST(OsThreads, SeesAThreadWithItsKernelName) {
  std::atomic<int64_t> tid{0};
  std::atomic<bool> stop{false};
  std::thread worker([&] {
    prctl(PR_SET_NAME, "graphene-test");
    tid = gettid();
    while (!stop) std::this_thread::yield();
  });
  while (tid == 0) std::this_thread::yield();
  std::vector<OsThread> threads = ListOsThreads();
  auto found =
      std::find_if(threads.begin(), threads.end(), [&](const OsThread& t) { return t.tid == tid; });
  ASSERT_NE(found, threads.end());
  EXPECT_EQ(found->comm, "graphene-test");
  std::vector<int64_t> ids = ListOsThreadIds();
  EXPECT_NE(std::find(ids.begin(), ids.end(), getpid()), ids.end());  // the main thread
  stop = true;
  worker.join();
  auto gone = [&] {
    ids = ListOsThreadIds();
    return std::find(ids.begin(), ids.end(), tid.load()) == ids.end();
  };
  // The kernel may list an exiting thread a moment after join() returns.
  for (int i = 0; i < 1000 && !gone(); ++i) usleep(1000);
  EXPECT_TRUE(gone());
}

}  // namespace
}  // namespace graphene
