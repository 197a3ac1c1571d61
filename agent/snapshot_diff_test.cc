#include "agent/snapshot_diff.h"

#include <gtest/gtest.h>

namespace graphene {
namespace {

Escape Thread(int64_t tid, std::string kind = "thread") {
  Escape e;
  e.kind = std::move(kind);
  e.native_id = tid;
  e.name = "t" + std::to_string(tid);
  return e;
}

Escape Process(int64_t pid) {
  Escape e;
  e.kind = "process";
  e.pid = pid;
  return e;
}

TEST(NewSince, KeepsOnlyWhatTheBaselineLacks) {
  LiveSet before{{1, 2}, {100}};
  LiveSet now{{2, 3}, {100, 101}};
  LiveSet fresh = NewSince(before, now);
  EXPECT_EQ(fresh.threads, std::set<int64_t>({3}));
  EXPECT_EQ(fresh.processes, std::set<int64_t>({101}));
  EXPECT_TRUE(NewSince(now, now).empty());
}

TEST(DiffSnapshots, SeparatesEscapesFromTransients) {
  LiveSet baseline{{10}, {500}};
  DetailedSnapshot at_return{{Thread(10), Thread(11), Thread(12), Thread(13, "native_thread")},
                             {Process(500), Process(501), Process(502)}};
  DetailedSnapshot at_end{{Thread(10), Thread(12)}, {Process(500), Process(502)}};
  EscapeDiff diff = DiffSnapshots(baseline, at_return, at_end);
  ASSERT_EQ(diff.escapes.size(), 2u);
  EXPECT_EQ(diff.escapes[0].native_id, 12);
  EXPECT_EQ(diff.escapes[1].pid, 502);
  // 11 and 501 ended during the grace period; the native thread 13 is the
  // tail of a joined thread and is not worth reporting.
  ASSERT_EQ(diff.transient.size(), 2u);
  EXPECT_EQ(diff.transient[0].native_id, 11);
  EXPECT_EQ(diff.transient[1].pid, 501);
}

TEST(DiffSnapshots, NothingNewMeansNothingReported) {
  LiveSet baseline{{10}, {}};
  EscapeDiff diff = DiffSnapshots(baseline, {}, {});
  EXPECT_TRUE(diff.escapes.empty());
  EXPECT_TRUE(diff.transient.empty());
}

TEST(MergeThreads, PythonRecordsWinAndUnknownThreadsAreNative) {
  std::vector<Escape> python = {Thread(21)};
  python[0].name = "worker";
  std::vector<OsThread> os = {{20, "main"}, {21, "python3"}, {22, "faulthandler"}};
  std::vector<Escape> merged = MergeThreads(python, os, 20);
  ASSERT_EQ(merged.size(), 2u);
  EXPECT_EQ(merged[0].name, "worker");
  EXPECT_EQ(merged[0].kind, "thread");
  EXPECT_EQ(merged[1].kind, "native_thread");
  EXPECT_EQ(merged[1].name, "faulthandler");
  EXPECT_EQ(merged[1].native_id, 22);
}

TEST(ParseRegistry, ReadsWellFormedLinesAndSkipsTheRest) {
  std::string text =
      "101\tprocess\tProcess-1\t1\tapp.py:7\tstart\n"
      "garbage line\n"
      "x\tprocess\ta\t0\tb\tc\n"
      "102\tpool_worker\tForkPoolWorker-1\t0\tapp.py:9\tpool\n"
      "103\tprocess\ttorn";
  std::vector<RegistryEntry> entries = ParseRegistry(text);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].pid, 101);
  EXPECT_TRUE(entries[0].daemon);
  EXPECT_EQ(entries[0].started_at, "app.py:7");
  EXPECT_EQ(entries[1].kind, "pool_worker");
  EXPECT_FALSE(entries[1].daemon);
}

TEST(DescribeProcesses, AttributesGrandchildrenAndSkipsZombies) {
  std::vector<ProcessInfo> processes = {
      {101, 1, 'S', "python3", "python3 -c x"},
      {102, 101, 'S', "sleep", "sleep 30"},
      {103, 101, 'Z', "defunct", ""},
      {104, 999, 'S', "orphan", "orphan"},
  };
  std::vector<RegistryEntry> registry = {{101, "process", "Process-1", true, "app.py:7", "go"}};
  std::vector<Escape> described = DescribeProcesses(processes, registry);
  ASSERT_EQ(described.size(), 3u);
  EXPECT_EQ(described[0].name, "Process-1");
  EXPECT_TRUE(described[0].daemon);
  EXPECT_EQ(described[1].name, "sleep");
  EXPECT_EQ(described[1].started_at, "app.py:7");  // inherited from its parent
  EXPECT_EQ(described[1].running, "sleep 30");
  EXPECT_EQ(described[2].started_at, "");  // nothing known about it
}

}  // namespace
}  // namespace graphene
