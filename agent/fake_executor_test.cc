#include "agent/fake_executor.h"

#include <gtest/gtest.h>
#include <poll.h>

#include "schema/names.h"

namespace graphene {
namespace {

using std::chrono::milliseconds;

Job MakeJob(uint64_t index, std::string input = "in") {
  return Job{.campaign = 3, .index = index, .target = "m:f", .root = "", .input = std::move(input)};
}

std::unique_ptr<FakeExecutor> Make(FakeExecutorOptions options) {
  Result<std::unique_ptr<FakeExecutor>> executor = FakeExecutor::Create(options);
  EXPECT_TRUE(executor.ok()) << executor.status().message();
  return executor.ok() ? std::move(executor).value() : nullptr;
}

// True once `fd` is readable; false after `limit`, which fails the caller.
bool WaitReadable(int fd, int limit_ms = 10'000) {
  pollfd item{.fd = fd, .events = POLLIN, .revents = 0};
  return poll(&item, 1, limit_ms) == 1;
}

TEST(FakeExecutorTest, ResultsAreReadyAtOnceAndSignalled) {
  auto executor = Make({.capacity = 3});
  ASSERT_GE(executor->ready_fd(), 0);
  ASSERT_TRUE(executor->Submit(MakeJob(0)).ok());
  ASSERT_TRUE(executor->Submit(MakeJob(1, std::string(kFakeEscapeInput))).ok());
  EXPECT_EQ(executor->in_flight(), 2u);
  ASSERT_TRUE(WaitReadable(executor->ready_fd()));
  const std::vector<ExecutionResult> results = executor->Collect();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].index, 0u);
  EXPECT_EQ(results[0].campaign, 3u);
  EXPECT_EQ(results[0].status, kStatusOk);
  EXPECT_FALSE(results[0].escape_detected);
  EXPECT_TRUE(results[1].escape_detected);
  ASSERT_EQ(results[1].escapes.size(), 1u);
  EXPECT_EQ(results[1].escapes[0].kind, kKindThread);
  EXPECT_EQ(executor->in_flight(), 0u);
  EXPECT_EQ(executor->submitted(), 2u);
  // Drained: the fd no longer polls readable.
  EXPECT_FALSE(WaitReadable(executor->ready_fd(), 0));
}

TEST(FakeExecutorTest, WithoutReadyFdResultsAreReadyWhenSubmitReturns) {
  auto executor = Make({.capacity = 2, .use_ready_fd = false});
  EXPECT_EQ(executor->ready_fd(), -1);
  ASSERT_TRUE(executor->Submit(MakeJob(7)).ok());
  const std::vector<ExecutionResult> results = executor->Collect();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].index, 7u);
}

TEST(FakeExecutorTest, DelayedResultsWaitForTheirTime) {
  auto executor = Make({.capacity = 2, .delay = milliseconds{60'000}});
  ASSERT_TRUE(executor->Submit(MakeJob(0)).ok());
  EXPECT_TRUE(executor->Collect().empty());
  EXPECT_EQ(executor->in_flight(), 1u);

  auto quick = Make({.capacity = 2, .delay = milliseconds{20}});
  ASSERT_TRUE(quick->Submit(MakeJob(0)).ok());
  ASSERT_TRUE(quick->Submit(MakeJob(1)).ok());
  size_t collected = 0;
  while (collected < 2 && WaitReadable(quick->ready_fd())) collected += quick->Collect().size();
  EXPECT_EQ(collected, 2u);
}

TEST(FakeExecutorTest, SubmitBeyondCapacityFails) {
  auto executor = Make({.capacity = 1});
  ASSERT_TRUE(executor->Submit(MakeJob(0)).ok());
  EXPECT_FALSE(executor->Submit(MakeJob(1)).ok());
  EXPECT_EQ(executor->in_flight(), 1u);
  EXPECT_EQ(executor->submitted(), 1u);
}

TEST(FakeExecutorTest, DelayWithoutReadyFdIsRefused) {
  EXPECT_FALSE(FakeExecutor::Create({.use_ready_fd = false, .delay = milliseconds{1}}).ok());
}

}  // namespace
}  // namespace graphene
