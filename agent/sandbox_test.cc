// End-to-end tests of the sandbox: a real zygote (this test binary re-run as
// one), real fixtures, real forks.
#include "agent/sandbox.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "agent/process_tree.h"
#include "agent/zygote.h"
#include "schema/names.h"

namespace graphene {
namespace {

namespace fs = std::filesystem;

class SandboxTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto started = Sandbox::Start(SandboxOptions{4, "/proc/self/exe"});
    ASSERT_TRUE(started.ok()) << started.status().message();
    sandbox_ = std::move(started).value().release();
    scratch_ = fs::temp_directory_path() / ("graphene_sandbox_test_" + std::to_string(getpid()));
    fs::create_directories(scratch_);
  }
  static void TearDownTestSuite() {
    delete sandbox_;
    fs::remove_all(scratch_);
  }

  // Writes a Python module into the scratch folder; returns its target spec.
  static std::string WriteTarget(const std::string& name, const std::string& body) {
    std::ofstream(scratch_ / (name + ".py")) << body;
    return (scratch_ / (name + ".py")).string() + ":target";
  }

  static ExecutionResult Run(const std::string& target, uint32_t timeout_ms = 5000,
                             const std::string& root = GRAPHENE_SOURCE_DIR) {
    Job job;
    job.limits.timeout_ms = timeout_ms;
    return Run(target, job, root);
  }

  static ExecutionResult Run(const std::string& target, Job job,
                             const std::string& root = GRAPHENE_SOURCE_DIR) {
    job.campaign = 1;
    job.index = next_index_++;
    job.target = target;
    job.root = root;
    job.input = "hello";
    EXPECT_TRUE(sandbox_->Submit(job).ok());
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd fd{sandbox_->ready_fd(), POLLIN, 0};
      ::poll(&fd, 1, 100);
      for (ExecutionResult& r : sandbox_->Collect()) {
        EXPECT_EQ(r.index, job.index);
        return r;
      }
    }
    ADD_FAILURE() << "no result for " << target;
    return {};
  }

  // Every execution's processes are gone once its result is in: below us
  // are only the zygote and its idle supervisors, which have no children.
  static void ExpectNothingLeft() {
    auto leftovers = [] {
      std::vector<pid_t> zygote = ChildrenOf(getpid());
      size_t extra = zygote.size() == 1 ? 0 : zygote.size();
      for (pid_t z : zygote) {
        for (pid_t supervisor : ChildrenOf(z)) extra += DescendantPids(supervisor).size();
      }
      return extra;
    };
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (leftovers() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_EQ(leftovers(), 0u);
  }

  static inline Sandbox* sandbox_ = nullptr;
  static inline fs::path scratch_;
  static inline uint64_t next_index_ = 0;
};

TEST_F(SandboxTest, DescribesFixtureWithItsExpectation) {
  auto infos = sandbox_->Describe({"fixtures.python.escape_threads:spawn_daemon_thread",
                                   "fixtures/python/no_escape.py:join_thread"},
                                  GRAPHENE_SOURCE_DIR, 10000);
  ASSERT_TRUE(infos.ok()) << infos.status().message();
  ASSERT_EQ(infos->size(), 2u);
  EXPECT_TRUE((*infos)[0].ok) << (*infos)[0].error;
  EXPECT_EQ((*infos)[0].expected, kExpectEscape);
  EXPECT_EQ((*infos)[0].file, "fixtures/python/escape_threads.py");
  EXPECT_GT((*infos)[0].line, 0);
  EXPECT_TRUE((*infos)[1].ok) << (*infos)[1].error;
  EXPECT_EQ((*infos)[1].expected, kExpectSafe);
  EXPECT_FALSE((*infos)[1].reason.empty());
}

TEST_F(SandboxTest, ExplainsTargetsThatDoNotLoad) {
  std::string syntax = WriteTarget("broken_syntax", "def target(x):\n  return (\n");
  std::string not_callable = WriteTarget("not_callable", "target = 42\n");
  auto infos = sandbox_->Describe(
      {"no.such.module:f", "fixtures.python.no_escape:nope", syntax, not_callable, "missing_colon"},
      GRAPHENE_SOURCE_DIR, 10000);
  ASSERT_TRUE(infos.ok()) << infos.status().message();
  ASSERT_EQ(infos->size(), 5u);
  for (const TargetInfo& info : *infos) EXPECT_FALSE(info.ok) << info.spec;
  EXPECT_NE((*infos)[0].error.find("no module named 'no.such.module'"), std::string::npos);
  EXPECT_NE((*infos)[1].error.find("has no function 'nope'"), std::string::npos);
  EXPECT_NE((*infos)[2].error.find("syntax error"), std::string::npos);
  EXPECT_NE((*infos)[3].error.find("not callable"), std::string::npos);
  EXPECT_NE((*infos)[4].error.find("malformed target"), std::string::npos);
}

TEST_F(SandboxTest, DiscoversPublicFunctionsOfFixtures) {
  auto infos = sandbox_->Discover({"fixtures/python"}, GRAPHENE_SOURCE_DIR, 10000);
  ASSERT_TRUE(infos.ok()) << infos.status().message();
  std::set<std::string> specs;
  for (const TargetInfo& info : *infos) specs.insert(info.spec);
  EXPECT_TRUE(specs.count("fixtures/python/escape_threads.py:spawn_non_daemon_thread"));
  EXPECT_TRUE(specs.count("fixtures/python/no_escape_pool.py:close_and_join_pool"));
  for (const std::string& spec : specs) EXPECT_EQ(spec.find(":_"), std::string::npos) << spec;
}

TEST_F(SandboxTest, ReportsLeakedThreadWithItsOrigin) {
  ExecutionResult r = Run("fixtures.python.escape_threads:spawn_non_daemon_thread");
  EXPECT_EQ(r.status, kStatusOk) << r.error;
  ASSERT_TRUE(r.escape_detected);
  ASSERT_EQ(r.escapes.size(), 1u);
  EXPECT_EQ(r.escapes[0].kind, kKindThread);
  EXPECT_FALSE(r.escapes[0].daemon);
  EXPECT_TRUE(r.escapes[0].native_id.has_value());
  EXPECT_EQ(r.escapes[0].started_at.rfind("fixtures/python/escape_threads.py:", 0), 0u)
      << r.escapes[0].started_at;
  EXPECT_EQ(r.escapes[0].started_in, "spawn_non_daemon_thread");
  ExpectNothingLeft();
}

TEST_F(SandboxTest, JoinedThreadIsSafeAndSkipsTheGracePeriod) {
  ExecutionResult r = Run("fixtures/python/no_escape.py:join_thread");
  EXPECT_EQ(r.status, kStatusOk) << r.error;
  EXPECT_FALSE(r.escape_detected);
  EXPECT_TRUE(r.escapes.empty());
  ExpectNothingLeft();
}

TEST_F(SandboxTest, ClassifiesTimersExecutorsAndPools) {
  ExecutionResult timer = Run("fixtures.python.escape_threads:spawn_timer_thread");
  ASSERT_FALSE(timer.escapes.empty());
  EXPECT_EQ(timer.escapes[0].kind, kKindTimer);
  ExecutionResult executor = Run("fixtures.python.escape_executor:leak_new_executor");
  ASSERT_FALSE(executor.escapes.empty());
  EXPECT_EQ(executor.escapes[0].kind, kKindExecutorWorker);
  ExecutionResult pool = Run("fixtures.python.escape_pool:leak_process_pool");
  bool pool_worker = false;
  for (const Escape& e : pool.escapes) pool_worker |= e.kind == kKindPoolWorker && e.pid;
  EXPECT_TRUE(pool_worker);
  ExpectNothingLeft();
}

TEST_F(SandboxTest, ReportsLeakedProcessAndKillsIt) {
  ExecutionResult r = Run("fixtures.python.escape_process:spawn_process");
  EXPECT_EQ(r.status, kStatusOk) << r.error;
  ASSERT_TRUE(r.escape_detected);
  bool found = false;
  for (const Escape& e : r.escapes) {
    if (e.kind == kKindProcess && e.pid) {
      found = true;
      EXPECT_EQ(e.started_at.rfind("fixtures/python/escape_process.py:", 0), 0u) << e.started_at;
    }
  }
  EXPECT_TRUE(found);
  ExpectNothingLeft();
}

TEST_F(SandboxTest, FindsDoubleForkedGrandchild) {
  std::string target = WriteTarget("double_fork", R"(
import os, time
def target(data):
    if os.fork() == 0:
        if os.fork() == 0:
            time.sleep(30)
        os._exit(0)
    os.wait()
)");
  ExecutionResult r = Run(target);
  EXPECT_EQ(r.status, kStatusOk) << r.error;
  ASSERT_EQ(r.escapes.size(), 1u);
  EXPECT_EQ(r.escapes[0].kind, kKindProcess);
  EXPECT_TRUE(r.escapes[0].pid.has_value());
  ExpectNothingLeft();
}

TEST_F(SandboxTest, CrashIsAResultWithEscapesStillReported) {
  std::string target = WriteTarget("crash", R"(
import os, signal, subprocess
def target(data):
    subprocess.Popen(["sleep", "30"])
    os.kill(os.getpid(), signal.SIGSEGV)
)");
  ExecutionResult r = Run(target);
  EXPECT_EQ(r.status, kStatusCrash);
  EXPECT_NE(r.error.find("SIGSEGV"), std::string::npos) << r.error;
  ASSERT_EQ(r.escapes.size(), 1u);
  EXPECT_EQ(r.escapes[0].name.find("sleep"), 0u) << r.escapes[0].name;
  ExpectNothingLeft();
}

TEST_F(SandboxTest, TimeoutKillsTheExecution) {
  std::string target =
      WriteTarget("forever", "import time\ndef target(data):\n  time.sleep(1000)\n");
  auto start = std::chrono::steady_clock::now();
  ExecutionResult r = Run(target, 300);
  EXPECT_EQ(r.status, kStatusTimeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  ExpectNothingLeft();
}

TEST_F(SandboxTest, ExceptionsAndExitsAreRecorded) {
  std::string raises =
      WriteTarget("raises", "def target(data):\n  raise ValueError('bad ' + data)\n");
  ExecutionResult r = Run(raises);
  EXPECT_EQ(r.status, kStatusException);
  EXPECT_NE(r.error.find("ValueError: bad hello"), std::string::npos) << r.error;
  std::string exits =
      WriteTarget("exits", "import os\ndef target(data):\n  print('bye')\n  os._exit(7)\n");
  r = Run(exits);
  EXPECT_EQ(r.status, kStatusCrash);
  EXPECT_NE(r.error.find("status 7"), std::string::npos) << r.error;
  ExpectNothingLeft();
}

TEST_F(SandboxTest, CapturesOutput) {
  std::string prints = WriteTarget("prints", "def target(data):\n  print('out', data)\n");
  ExecutionResult r = Run(prints);
  EXPECT_EQ(r.output, "out hello\n");
}

TEST_F(SandboxTest, SysExecutableIsARealPython) {
  std::string target = WriteTarget("executable", R"py(
import subprocess, sys
def target(data):
    out = subprocess.run([sys.executable, "-c", "import sys; print(sys.version_info[:2])"],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert out == str(tuple(sys.version_info[:2])), out
)py");
  ExecutionResult r = Run(target);
  EXPECT_EQ(r.status, kStatusOk) << r.error;
  EXPECT_FALSE(r.escape_detected);
}

TEST_F(SandboxTest, TargetRunsAsItWouldWithoutGraphene) {
  std::string target = WriteTarget("behaves", R"py(
import multiprocessing, signal, threading
def target(data):
    assert threading.current_thread() is threading.main_thread(), "not on the main thread"
    assert multiprocessing.get_start_method() == "fork", multiprocessing.get_start_method()
    t = threading.Thread(target=lambda: None)
    assert t.daemon is False, "threads must inherit daemon=False from the main thread"
    signal.signal(signal.SIGUSR1, lambda *a: None)  # only allowed on the main thread
)py");
  ExecutionResult r = Run(target);
  EXPECT_EQ(r.status, kStatusOk) << r.error;
}

TEST_F(SandboxTest, ThreadsStartedAtImportAreNotBlamedOnTheCall) {
  std::string target = WriteTarget("import_thread", R"py(
import threading, time
_background = threading.Thread(target=time.sleep, args=(30,), daemon=True)
_background.start()
def target(data):
    return data
)py");
  ExecutionResult r = Run(target);
  EXPECT_EQ(r.status, kStatusOk) << r.error;
  EXPECT_FALSE(r.escape_detected);
  ExpectNothingLeft();
}

TEST_F(SandboxTest, LowLevelThreadsAreSeenAndAttributed) {
  std::string target = WriteTarget("raw_thread", R"py(
import _thread, time
def target(data):
    _thread.start_new_thread(time.sleep, (30,))
    time.sleep(0.05)
)py");
  ExecutionResult r = Run(target);
  ASSERT_EQ(r.escapes.size(), 1u);
  EXPECT_EQ(r.escapes[0].kind, kKindThread);
  EXPECT_NE(r.escapes[0].started_at.find("raw_thread.py:4"), std::string::npos)
      << r.escapes[0].started_at;
}

TEST_F(SandboxTest, PendingAsyncioTasksOnAnUnclosedLoopEscape) {
  std::string target = WriteTarget("pending_task", R"py(
import asyncio
async def _sleepy():
    await asyncio.sleep(30)
def target(data):
    loop = asyncio.new_event_loop()
    loop.create_task(_sleepy())
    loop.run_until_complete(asyncio.sleep(0.01))
)py");
  ExecutionResult r = Run(target);
  ASSERT_EQ(r.escapes.size(), 1u);
  EXPECT_EQ(r.escapes[0].kind, kKindAsyncTask);
  EXPECT_NE(r.escapes[0].started_at.find("pending_task.py:7"), std::string::npos);
  EXPECT_NE(r.escapes[0].running.find("_sleepy"), std::string::npos);
}

TEST_F(SandboxTest, TimeoutStillReportsTheThreadsLeft) {
  std::string target = WriteTarget("spin_after_thread", R"py(
import threading, time
def target(data):
    threading.Thread(target=time.sleep, args=(30,)).start()
    while True:
        pass
)py");
  ExecutionResult r = Run(target, 300);
  EXPECT_EQ(r.status, kStatusTimeout);
  EXPECT_NE(r.error.find("timeout of 300 ms"), std::string::npos) << r.error;
  ASSERT_EQ(r.escapes.size(), 1u);
  EXPECT_EQ(r.escapes[0].kind, kKindThread);
  ExpectNothingLeft();
}

TEST_F(SandboxTest, ProcessLimitEndsAForkBomb) {
  std::string target = WriteTarget("fork_bomb", R"py(
import os, time
def target(data):
    for _ in range(200):
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
)py");
  Job job;
  job.limits.max_processes = 20;
  ExecutionResult r = Run(target, job);
  EXPECT_EQ(r.status, kStatusCrash);
  EXPECT_NE(r.error.find("process limit of 20"), std::string::npos) << r.error;
  ExpectNothingLeft();
}

TEST_F(SandboxTest, MemoryLimitTurnsHugeAllocationsIntoMemoryError) {
  std::string target = WriteTarget("huge", "def target(data):\n  bytearray(8 * 2**30)\n");
  Job job;
  job.limits.memory_limit_mb = 1024;
  ExecutionResult r = Run(target, job);
  EXPECT_EQ(r.status, kStatusException);
  EXPECT_NE(r.error.find("MemoryError"), std::string::npos) << r.error;
  EXPECT_EQ(r.error.find("graphene-runtime"), std::string::npos) << r.error;
}

TEST_F(SandboxTest, TargetKillingItsParentIsACrashAndLeavesNothing) {
  std::string target = WriteTarget("parricide", R"py(
import os, signal, subprocess, time
def target(data):
    subprocess.Popen(["sleep", "30"])
    os.kill(os.getppid(), signal.SIGKILL)
    time.sleep(5)
)py");
  ExecutionResult r = Run(target);
  EXPECT_EQ(r.status, kStatusCrash);
  EXPECT_NE(r.error.find("killed its parent"), std::string::npos) << r.error;
  ASSERT_EQ(r.escapes.size(), 1u);
  EXPECT_EQ(r.escapes[0].running, "sleep 30");
  ExpectNothingLeft();
  EXPECT_EQ(Run("fixtures/python/no_escape.py:join_thread").status, kStatusOk);
}

TEST_F(SandboxTest, TargetStoppingItsParentIsACrashAndLeavesNothing) {
  std::string target = WriteTarget("stopper", R"py(
import os, signal, subprocess
def target(data):
    subprocess.Popen(["sleep", "30"])
    os.kill(os.getppid(), signal.SIGSTOP)
)py");
  ExecutionResult r = Run(target, 500);
  EXPECT_EQ(r.status, kStatusCrash);
  EXPECT_NE(r.error.find("stopped responding"), std::string::npos) << r.error;
  ExpectNothingLeft();
}

TEST_F(SandboxTest, TargetClosingEveryFdStillGetsReported) {
  std::string target = WriteTarget("closer", R"py(
import os, threading, time
def target(data):
    os.closerange(0, 65536)
    threading.Thread(target=time.sleep, args=(30,)).start()
)py");
  ExecutionResult r = Run(target);
  EXPECT_EQ(r.status, kStatusOk) << r.error;
  ASSERT_EQ(r.escapes.size(), 1u);
  ExpectNothingLeft();
}

TEST_F(SandboxTest, NativeThreadsAreAttributedToThePythonLineThatStartedThem) {
  std::string target = WriteTarget("native", R"py(
import faulthandler
def target(data):
    faulthandler.dump_traceback_later(30)
)py");
  ExecutionResult r = Run(target);
  ASSERT_EQ(r.escapes.size(), 1u);
  EXPECT_EQ(r.escapes[0].kind, kKindNativeThread);
  EXPECT_NE(r.escapes[0].started_at.find("native.py:4"), std::string::npos)
      << r.escapes[0].started_at;
  EXPECT_EQ(r.escapes[0].started_in, "target");
}

TEST_F(SandboxTest, ChangesATargetMakesDoNotLeakIntoTheNextExecution) {
  std::string pollute = WriteTarget("pollute", R"py(
import os, signal, sys
def target(data):
    os.environ["GRAPHENE_POLLUTED"] = "1"
    os.chdir("/")
    sys.modules["graphene_polluted"] = object()
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
)py");
  std::string check = WriteTarget("check_clean", R"py(
import os, signal, sys
def target(data):
    assert "GRAPHENE_POLLUTED" not in os.environ, "environment leaked"
    assert os.getcwd() != "/", "working directory leaked"
    assert "graphene_polluted" not in sys.modules, "sys.modules leaked"
    assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL, "signal handler leaked"
)py");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Run(pollute).status, kStatusOk);
    ExecutionResult r = Run(check);
    EXPECT_EQ(r.status, kStatusOk) << r.error;
  }
}

TEST_F(SandboxTest, StrictCountsTransients) {
  std::string target = WriteTarget("short_lived", R"py(
import threading, time
def target(data):
    threading.Thread(target=time.sleep, args=(0.03,)).start()
)py");
  ExecutionResult lenient = Run(target);
  EXPECT_FALSE(lenient.escape_detected);
  ASSERT_EQ(lenient.transient.size(), 1u);
  Job job;
  job.limits.strict = true;
  EXPECT_TRUE(Run(target, job).escape_detected);
}

}  // namespace
}  // namespace graphene

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == graphene::kZygoteCommand) {
    return graphene::RunZygote(graphene::kZygoteSocketFd);
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
