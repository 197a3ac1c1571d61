#include "agent/runner.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "agent/embedded_python.h"
#include "agent/native_thread_origin.h"
#include "agent/os_threads.h"
#include "agent/process_tree.h"
#include "agent/snapshot_diff.h"
#include "agent/supervisor.h"
#include "base/frame_io.h"
#include "schema/names.h"

namespace graphene {
namespace py = pybind11;
namespace {

using Clock = std::chrono::steady_clock;

// How often the grace period looks whether everything new has ended.
constexpr auto kGracePoll = std::chrono::milliseconds(2);

class Runner {
 public:
  explicit Runner(const RunnerContext& context)
      : context_(context), self_(::getpid()), runtime_(RuntimeModule()) {}

  SandboxReply Execute(const Job& job);
  SandboxReply Describe(const SandboxRequest& request);
  SandboxReply Discover(const SandboxRequest& request);

 private:
  LiveSet LiveNow();
  DetailedSnapshot DescribeNow();
  std::string ReadRegistry() const;
  void SendBaseline(const LiveSet& baseline) const;
  std::vector<Escape> NewPendingTasks() const;
  std::vector<TargetInfo> DescribeAll(const std::vector<std::string>& specs,
                                      const std::string& root);

  RunnerContext context_;
  pid_t self_;
  py::module_ runtime_;
  std::set<int64_t> infrastructure_;  // multiprocessing's own helper processes
  std::set<int64_t> baseline_tasks_;  // asyncio tasks pending before the call
};

// Writes a report to the supervisor. A target may have closed every fd,
// ours included; the supervisor keeps the pipe's write end open, so it can be
// reopened through /proc.
void SendReport(const RunnerContext& context, const RunnerReport& report) {
  std::string payload = Pack(report);
  if (WriteFrame(context.report_fd, payload).ok()) return;
  std::string path = "/proc/" + std::to_string(context.supervisor) + "/fd/" +
                     std::to_string(context.report_fd_in_supervisor);
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  (void)WriteFrame(fd, payload);
  ::close(fd);
}

std::string PythonErrorText(const py::error_already_set& e) {
  if (e.matches(py::module_::import("graphene_runtime").attr("TargetError"))) {
    return py::str(e.value());
  }
  return std::string(e.what());
}

LiveSet Runner::LiveNow() {
  LiveSet live;
  for (int64_t tid : ListOsThreadIds()) {
    if (tid != self_) live.threads.insert(tid);
  }
  std::vector<pid_t> descendants = DescendantPids(context_.supervisor);
  if (descendants.size() > 1) {  // more than ourselves: ask multiprocessing about its helpers
    for (py::handle pid : runtime_.attr("infrastructure_pids")()) {
      infrastructure_.insert(pid.cast<int64_t>());
    }
  }
  for (pid_t pid : descendants) {
    if (pid == self_ || infrastructure_.count(pid)) continue;
    if (!ReadProcess(pid).zombie()) live.processes.insert(pid);
  }
  return live;
}

std::string Runner::ReadRegistry() const {
  std::string text;
  char chunk[65536];
  for (off_t offset = 0;;) {
    ssize_t n = ::pread(context_.registry_fd, chunk, sizeof(chunk), offset);
    if (n <= 0) break;
    text.append(chunk, static_cast<size_t>(n));
    offset += n;
  }
  return text;
}

DetailedSnapshot Runner::DescribeNow() {
  std::vector<Escape> python_threads;
  for (py::handle record : runtime_.attr("thread_records")()) {
    auto t = record.cast<py::tuple>();
    Escape e;
    e.native_id = t[0].cast<int64_t>();
    e.name = t[1].cast<std::string>();
    e.daemon = t[2].cast<bool>();
    e.kind = t[3].cast<std::string>();
    e.started_at = t[4].cast<std::string>();
    e.started_in = t[5].cast<std::string>();
    e.running = t[6].cast<std::string>();
    python_threads.push_back(std::move(e));
  }
  DetailedSnapshot snapshot;
  snapshot.threads = MergeThreads(python_threads, ListOsThreads(), self_);
  for (Escape& thread : snapshot.threads) {
    if (thread.kind != kKindNativeThread) continue;
    if (auto origin = NativeThreadOrigin(thread.native_id.value_or(0))) {
      thread.started_at = origin->started_at;
      thread.started_in = origin->started_in;
    }
  }
  std::vector<ProcessInfo> processes;
  for (pid_t pid : DescendantPids(context_.supervisor)) {
    if (pid != self_ && !infrastructure_.count(pid)) processes.push_back(ReadProcess(pid));
  }
  snapshot.processes = DescribeProcesses(processes, ParseRegistry(ReadRegistry()));
  return snapshot;
}

void Runner::SendBaseline(const LiveSet& baseline) const {
  RunnerReport report;
  report.kind = kReportBaseline;
  report.baseline_pids.assign(baseline.processes.begin(), baseline.processes.end());
  SendReport(context_, report);
}

SandboxReply Runner::Execute(const Job& job) {
  SandboxReply reply;
  ExecutionResult& result = reply.result;
  result.campaign = job.campaign;
  result.index = job.index;
  py::object target;
  try {
    target = runtime_.attr("load_target")(job.target, job.root);
  } catch (const py::error_already_set& e) {
    result.status = kStatusError;
    result.error = PythonErrorText(e);
    return reply;
  }
  const LiveSet baseline = LiveNow();
  for (py::handle task : runtime_.attr("pending_tasks")()) {
    baseline_tasks_.insert(task.cast<py::tuple>()[0].cast<int64_t>());
  }
  SendBaseline(baseline);

  // Inputs are bytes. Those that are not UTF-8 reach the target the way
  // Python hands over such command-line arguments: undecodable bytes become
  // lone surrogates (PEP 383), so the string still round-trips to the bytes.
  PyObject* decoded = PyUnicode_DecodeUTF8(
      job.input.data(), static_cast<Py_ssize_t>(job.input.size()), "surrogateescape");
  if (decoded == nullptr) throw py::error_already_set();
  py::str input = py::reinterpret_steal<py::str>(decoded);
  auto call_start = Clock::now();
  auto outcome = runtime_.attr("call_target")(target, input, TimeoutSignal()).cast<py::tuple>();
  result.duration_ms = std::chrono::duration<double, std::milli>(Clock::now() - call_start).count();
  // A target that forked without exec returns here in the child too; only
  // the runner itself may report.
  if (::getpid() != self_) ::_exit(0);
  result.status = outcome[0].cast<std::string>();
  result.error = outcome[1].cast<std::string>();
  if (result.status == kStatusTimeout) {
    result.error = fmt::format("exceeded the timeout of {} ms", job.limits.timeout_ms);
  }

  // Nothing new alive at return means nothing to wait for: clean targets do
  // not pay the grace period.
  DetailedSnapshot at_return, at_end;
  if (!NewSince(baseline, LiveNow()).empty()) {
    at_return = DescribeNow();
    auto grace_end = Clock::now() + std::chrono::milliseconds(job.limits.grace_ms);
    bool all_gone = false;
    while (!all_gone && Clock::now() < grace_end) {
      {
        py::gil_scoped_release let_threads_run;
        std::this_thread::sleep_for(
            std::min<Clock::duration>(kGracePoll, grace_end - Clock::now()));
      }
      all_gone = NewSince(baseline, LiveNow()).empty();
    }
    if (!all_gone) at_end = DescribeNow();
  }
  EscapeDiff diff = DiffSnapshots(baseline, at_return, at_end);
  result.escapes = std::move(diff.escapes);
  for (Escape& task : NewPendingTasks()) result.escapes.push_back(std::move(task));
  result.transient = std::move(diff.transient);
  result.escape_detected =
      !result.escapes.empty() || (job.limits.strict && !result.transient.empty());
  return reply;
}

std::vector<Escape> Runner::NewPendingTasks() const {
  std::vector<Escape> tasks;
  for (py::handle record : runtime_.attr("pending_tasks")()) {
    auto t = record.cast<py::tuple>();
    if (baseline_tasks_.count(t[0].cast<int64_t>())) continue;
    Escape e;
    e.kind = kKindAsyncTask;
    e.name = t[1].cast<std::string>();
    e.started_at = t[2].cast<std::string>();
    e.started_in = t[3].cast<std::string>();
    e.running = t[4].cast<std::string>();
    tasks.push_back(std::move(e));
  }
  return tasks;
}

std::vector<TargetInfo> Runner::DescribeAll(const std::vector<std::string>& specs,
                                            const std::string& root) {
  std::vector<TargetInfo> infos;
  for (const std::string& spec : specs) {
    TargetInfo info;
    info.spec = spec;
    try {
      py::dict d = runtime_.attr("describe")(spec, root);
      info.ok = true;
      info.file = d["file"].cast<std::string>();
      info.line = d["line"].cast<int64_t>();
      info.expected = d["expected"].cast<std::string>();
      info.reason = d["reason"].cast<std::string>();
    } catch (const py::error_already_set& e) {
      info.error = PythonErrorText(e);
    }
    infos.push_back(std::move(info));
  }
  return infos;
}

SandboxReply Runner::Describe(const SandboxRequest& request) {
  SandboxReply reply;
  reply.targets = DescribeAll(request.specs, request.root);
  return reply;
}

SandboxReply Runner::Discover(const SandboxRequest& request) {
  SandboxReply reply;
  std::vector<std::string> specs;
  try {
    for (const std::string& path : request.specs) {
      for (py::handle spec : runtime_.attr("discover")(path, request.root)) {
        specs.push_back(spec.cast<std::string>());
      }
    }
  } catch (const py::error_already_set& e) {
    reply.error = PythonErrorText(e);
    return reply;
  }
  reply.targets = DescribeAll(specs, request.root);
  return reply;
}

}  // namespace

void RunRunner(const SandboxRequest& request, const RunnerContext& context) {
  RunnerReport report;
  report.kind = kReportDone;
  try {
    RuntimeModule().attr("set_registry_fd")(context.registry_fd);
    StartRecordingThreadOrigins();
    Runner runner(context);
    if (request.kind == kRequestExecute) {
      report.reply = runner.Execute(request.job);
    } else if (request.kind == kRequestDescribe) {
      report.reply = runner.Describe(request);
    } else if (request.kind == kRequestDiscover) {
      report.reply = runner.Discover(request);
    } else {
      report.reply.error = "unknown sandbox request '" + request.kind + "'";
    }
  } catch (const std::exception& e) {
    report.reply.error = std::string("sandbox runner failed: ") + e.what();
  }
  if (::getpid() != context.supervisor && ::getppid() == context.supervisor) {
    report.reply.id = request.id;
    SendReport(context, report);
  }
  ::_exit(0);
}

}  // namespace graphene
