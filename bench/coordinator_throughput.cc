// coordinator_bench: how many jobs per second the coordinator alone dispatches
// and delivers, and whether its memory stays flat as campaigns grow.
//
// Each measurement runs in a forked child process: one real Coordinator and
// N real Agents (each on its own thread, with an instant FakeExecutor) talk
// over ZeroMQ (tcp on loopback by default), and a ResultSink either counts
// the results or stores each of them in a temporary SQLite database through
// the real Store. The child reports the campaign's wall time and its peak
// resident memory (VmHWM) before and after the campaign, then stops and joins
// its agents and exits. A fresh process per measurement means one campaign's
// peak cannot hide another's. See bench/README.md.
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "agent/agent.h"
#include "agent/fake_executor.h"
#include "base/log.h"
#include "coordinator/coordinator.h"
#include "schema/database.h"
#include "store/store.h"

namespace graphene {
namespace {

namespace fs = std::filesystem;

struct Config {
  int agents = 2;
  size_t slots = 256;   // per agent
  uint32_t batch = 64;  // CoordinatorOptions::max_batch_jobs
  size_t targets = 100;
  size_t inputs = 100;
  std::vector<uint32_t> repeats = {1, 10, 100};
  std::vector<std::string> sinks = {"count", "sqlite"};
  std::string transport = "tcp";
  int timeout_s = 600;  // per measurement
};

// What a child sends back through its pipe.
struct Report {
  bool ok = false;
  uint64_t jobs = 0;
  uint64_t delivered = 0;
  double seconds = 0;
  long hwm_before_kb = 0;  // VmHWM with everything set up, before the campaign
  long hwm_after_kb = 0;   // VmHWM after the campaign
  long rss_after_kb = 0;
  char error[256] = {};
};

// A field of /proc/self/status in kB ("VmHWM", "VmRSS"), or -1.
long ProcStatusKb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0)
      return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
  }
  return -1;
}

// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then closed).
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

class CountingSink : public ResultSink {
 public:
  Status Accept(std::vector<std::pair<Job, ExecutionResult>> batch) override {
    count += batch.size();
    return Status::Ok();
  }
  uint64_t count = 0;
};

// Like the CLI's sink: one RecordResults (one transaction) per delivered batch.
class SqliteSink : public ResultSink {
 public:
  explicit SqliteSink(Store& store) : store_(store) {}
  Status Accept(std::vector<std::pair<Job, ExecutionResult>> batch) override {
    Result<size_t> stored = store_.RecordResults(batch);
    if (!stored.ok()) return stored.status();
    count += *stored;
    return Status::Ok();
  }
  uint64_t count = 0;

 private:
  Store& store_;
};

// An Agent on a FakeExecutor, serving on its own thread until Stop().
class AgentThread {
 public:
  static Result<std::unique_ptr<AgentThread>> Start(zmq::context_t& context,
                                                    const std::string& endpoint, std::string name,
                                                    size_t slots) {
    auto agent_thread = std::unique_ptr<AgentThread>(new AgentThread);
    Result<std::unique_ptr<FakeExecutor>> executor =
        FakeExecutor::Create(FakeExecutorOptions{.capacity = slots});
    if (!executor.ok()) return executor.status();
    agent_thread->executor_ = std::move(executor).value();
    Result<std::unique_ptr<Agent>> agent =
        Agent::Create(context, AgentOptions{.endpoint = endpoint, .name = std::move(name)},
                      *agent_thread->executor_);
    if (!agent.ok()) return agent.status();
    agent_thread->agent_ = std::move(agent).value();
    AgentThread* self = agent_thread.get();
    self->thread_ = std::thread([self] { self->status_ = self->agent_->Run(); });
    return agent_thread;
  }
  ~AgentThread() { Stop(); }
  Status Stop() {
    if (agent_) agent_->RequestStop(/*now=*/true);
    if (thread_.joinable()) thread_.join();
    return status_;
  }

 private:
  AgentThread() = default;
  std::unique_ptr<FakeExecutor> executor_;
  std::unique_ptr<Agent> agent_;
  Status status_;
  std::thread thread_;
};

CampaignPlan MakePlan(const Config& config, uint32_t repeat) {
  CampaignPlan plan;
  plan.campaign = 1;
  plan.repeat = repeat;
  plan.root = "/bench";
  for (size_t t = 0; t < config.targets; ++t) {
    plan.targets.push_back(fmt::format("bench/mod{}.py:fn", t));
  }
  for (size_t i = 0; i < config.inputs; ++i) {
    // One input in ten makes the fake executor report an escape.
    plan.inputs.push_back(i % 10 == 0 ? std::string(kFakeEscapeInput) : fmt::format("input-{}", i));
  }
  return plan;
}

// Runs one campaign in this (child) process; fills `report`.
Status Measure(const Config& config, uint32_t repeat, const std::string& sink_kind,
               Report& report) {
  CampaignPlan plan = MakePlan(config, repeat);
  report.jobs = plan.TotalJobs();

  std::string endpoint;
  if (config.transport == "inproc") {
    endpoint = "inproc://coordinator-bench";
  } else {
    int port = FreePort();
    if (port < 0) return Status::Error("no free TCP port on 127.0.0.1");
    endpoint = fmt::format("tcp://127.0.0.1:{}", port);
  }

  // Declared first, so it is destroyed last, after every socket is closed.
  zmq::context_t context;

  std::unique_ptr<Store> store;
  fs::path db_dir;
  if (sink_kind == "sqlite") {
    std::string pattern = (fs::temp_directory_path() / "coordinator-bench-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) return Status::Error(ErrnoMessage("mkdtemp"));
    db_dir = pattern;
    Result<std::unique_ptr<Store>> opened = Store::Open((db_dir / "bench.db").string());
    if (!opened.ok()) return opened.status();
    store = std::move(opened).value();
    CampaignRecord record;
    record.command = "coordinator_bench";
    record.root = plan.root;
    record.total_jobs = plan.TotalJobs();
    Result<uint64_t> campaign = store->CreateCampaign(record);
    if (!campaign.ok()) return campaign.status();
    plan.campaign = *campaign;
  }
  // Removes the temporary database whatever happens below.
  struct RemoveDir {
    fs::path dir;
    ~RemoveDir() {
      std::error_code ignored;
      if (!dir.empty()) fs::remove_all(dir, ignored);
    }
  } remove_dir{db_dir};

  Status result = Status::Ok();
  {
    Result<std::unique_ptr<Coordinator>> created = Coordinator::Create(
        context, CoordinatorOptions{.endpoint = endpoint, .max_batch_jobs = config.batch});
    if (!created.ok()) return created.status();
    std::unique_ptr<Coordinator> coordinator = std::move(created).value();

    std::vector<std::unique_ptr<AgentThread>> agents;
    for (int a = 0; a < config.agents; ++a) {
      Result<std::unique_ptr<AgentThread>> agent =
          AgentThread::Start(context, endpoint, fmt::format("bench-agent-{}", a), config.slots);
      if (!agent.ok()) return agent.status();
      agents.push_back(std::move(agent).value());
    }

    CountingSink counting;
    std::unique_ptr<SqliteSink> sqlite;
    ResultSink* sink = &counting;
    if (store) {
      sqlite = std::make_unique<SqliteSink>(*store);
      sink = sqlite.get();
    }

    report.hwm_before_kb = ProcStatusKb("VmHWM");
    const auto start = std::chrono::steady_clock::now();
    result = coordinator->RunCampaign(plan, *sink, {});
    report.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    report.hwm_after_kb = ProcStatusKb("VmHWM");
    report.rss_after_kb = ProcStatusKb("VmRSS");
    report.delivered = sqlite ? sqlite->count : counting.count;

    for (auto& agent : agents) {
      Status stopped = agent->Stop();
      if (result.ok() && !stopped.ok()) result = Status::Error("agent: " + stopped.message());
    }
    agents.clear();
    coordinator.reset();
  }
  if (result.ok() && store) {
    result = store->FinishCampaign(plan.campaign, kCampaignDone);
    if (result.ok()) {
      Result<ResultCounts> stored = store->CountResults(plan.campaign);
      if (!stored.ok()) {
        result = stored.status();
      } else if (stored->results != report.jobs) {
        result = Status::Error(
            fmt::format("{} results stored, {} expected", stored->results, report.jobs));
      }
    }
  }
  if (result.ok() && report.delivered != report.jobs) {
    result = Status::Error(
        fmt::format("{} results delivered, {} expected", report.delivered, report.jobs));
  }
  return result;
}

// Forks a child that runs one measurement; waits for it.
Report RunInChild(const Config& config, uint32_t repeat, const std::string& sink_kind) {
  Report report;
  int fds[2];
  if (pipe(fds) != 0) {
    std::snprintf(report.error, sizeof(report.error), "%s", ErrnoMessage("pipe").c_str());
    return report;
  }
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    std::snprintf(report.error, sizeof(report.error), "%s", ErrnoMessage("fork").c_str());
    close(fds[0]);
    close(fds[1]);
    return report;
  }
  if (pid == 0) {
    close(fds[0]);
    alarm(static_cast<unsigned>(config.timeout_s));  // a hang kills the child, not the bench
    Report child;
    Status status = Measure(config, repeat, sink_kind, child);
    child.ok = status.ok();
    if (!status.ok())
      std::snprintf(child.error, sizeof(child.error), "%s", status.message().c_str());
    ssize_t written = write(fds[1], &child, sizeof(child));
    _exit(written == static_cast<ssize_t>(sizeof(child)) ? 0 : 1);
  }
  close(fds[1]);
  Report received;
  size_t got = 0;
  while (got < sizeof(received)) {
    ssize_t n = read(fds[0], reinterpret_cast<char*>(&received) + got, sizeof(received) - got);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  close(fds[0]);
  int wstatus = 0;
  waitpid(pid, &wstatus, 0);
  if (got == sizeof(received)) return received;
  std::snprintf(report.error, sizeof(report.error), "child %s %d without a report",
                WIFSIGNALED(wstatus) ? "killed by signal" : "exited with",
                WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : WEXITSTATUS(wstatus));
  return report;
}

std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (comma > start) parts.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return parts;
}

void Usage() {
  std::fputs(
      "usage: coordinator_bench [--agents N] [--slots N] [--batch N] [--targets N] [--inputs N]\n"
      "                         [--repeats R,R,...] [--sink count|sqlite|count,sqlite]\n"
      "                         [--transport tcp|inproc] [--timeout S]\n"
      "defaults: --agents 2 --slots 256 --batch 64 --targets 100 --inputs 100\n"
      "          --repeats 1,10,100 (10k, 100k, 1M jobs) --sink count,sqlite --transport tcp\n",
      stderr);
}

bool ParseArgs(int argc, char** argv, Config& config) {
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "-h" || flag == "--help") return false;
    static const std::set<std::string> kFlags = {"--agents",  "--slots",  "--batch",
                                                 "--targets", "--inputs", "--timeout",
                                                 "--repeats", "--sink",   "--transport"};
    if (!kFlags.contains(flag)) {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return false;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s needs a value\n", flag.c_str());
      return false;
    }
    std::string value = argv[++i];
    auto number = [&](long min) {
      char* end = nullptr;
      long n = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || n < min) {
        std::fprintf(stderr, "%s: bad value '%s'\n", flag.c_str(), value.c_str());
        std::exit(2);
      }
      return n;
    };
    if (flag == "--agents") {
      config.agents = static_cast<int>(number(1));
    } else if (flag == "--slots") {
      config.slots = static_cast<size_t>(number(1));
    } else if (flag == "--batch") {
      config.batch = static_cast<uint32_t>(number(1));
    } else if (flag == "--targets") {
      config.targets = static_cast<size_t>(number(1));
    } else if (flag == "--inputs") {
      config.inputs = static_cast<size_t>(number(1));
    } else if (flag == "--timeout") {
      config.timeout_s = static_cast<int>(number(1));
    } else if (flag == "--repeats") {
      config.repeats.clear();
      for (const std::string& part : SplitCommas(value)) {
        value = part;
        config.repeats.push_back(static_cast<uint32_t>(number(1)));
      }
      if (config.repeats.empty()) return false;
    } else if (flag == "--sink") {
      config.sinks = SplitCommas(value);
      for (const std::string& sink : config.sinks) {
        if (sink != "count" && sink != "sqlite") return false;
      }
      if (config.sinks.empty()) return false;
    } else if (flag == "--transport") {
      if (value != "tcp" && value != "inproc") return false;
      config.transport = value;
    } else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return false;
    }
  }
  return true;
}

int Main(int argc, char** argv) {
  Config config;
  if (!ParseArgs(argc, argv, config)) {
    Usage();
    return 2;
  }
  SetMinLogLevel(LogLevel::kWarning);  // no "agent joined" lines between the rows
  fmt::print(
      "coordinator_bench: {} agent(s) x {} fake slots, batch {}, transport {}, {} targets x {} "
      "inputs x repeat, {} CPU(s)\n",
      config.agents, config.slots, config.batch, config.transport, config.targets, config.inputs,
      std::thread::hardware_concurrency());
  fmt::print(
      "each row: a fresh child process; peak = its VmHWM after the campaign, growth = "
      "VmHWM after - VmHWM before (agents connected, nothing run)\n\n");
  fmt::print("{:<7} {:>10} {:>9} {:>11} {:>10} {:>11} {:>10}\n", "sink", "jobs", "wall s", "jobs/s",
             "peak MB", "growth MB", "rss MB");

  bool all_ok = true;
  for (const std::string& sink : config.sinks) {
    std::vector<Report> reports;
    for (uint32_t repeat : config.repeats) {
      Report report = RunInChild(config, repeat, sink);
      if (!report.ok) {
        all_ok = false;
        fmt::print("{:<7} repeat {}: FAILED: {}\n", sink, repeat, report.error);
        std::fflush(stdout);
        continue;
      }
      fmt::print(
          "{:<7} {:>10} {:>9.2f} {:>11.0f} {:>10.1f} {:>11.1f} {:>10.1f}\n", sink, report.jobs,
          report.seconds, report.jobs / report.seconds, report.hwm_after_kb / 1024.0,
          (report.hwm_after_kb - report.hwm_before_kb) / 1024.0, report.rss_after_kb / 1024.0);
      std::fflush(stdout);
      reports.push_back(report);
    }
    if (reports.size() >= 2) {
      const Report& small = reports.front();
      const Report& large = reports.back();
      const double ratio = static_cast<double>(large.hwm_after_kb) / small.hwm_after_kb;
      const double rate = large.jobs / large.seconds;
      fmt::print(
          "{:<7} memory {}: peak {:.1f} MB for {} jobs vs {:.1f} MB for {} jobs ({:.2f}x, limit "
          "1.5x); throughput {:.0f} jobs/s at {} jobs, {} the 50,000 jobs/s aim\n\n",
          sink, ratio <= 1.5 ? "FLAT" : "NOT FLAT", large.hwm_after_kb / 1024.0, large.jobs,
          small.hwm_after_kb / 1024.0, small.jobs, ratio, rate, large.jobs,
          rate >= 50000 ? "meets" : "below");
    }
  }
  return all_ok ? 0 : 1;
}

}  // namespace
}  // namespace graphene

int main(int argc, char** argv) { return graphene::Main(argc, argv); }
