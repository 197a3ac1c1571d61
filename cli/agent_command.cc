#include "cli/agent_command.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>

#include "agent/agent.h"
#include "agent/run_as.h"
#include "agent/sandbox.h"
#include "base/log.h"
#include "bundle/bundle_cache.h"
#include "cli/campaign_options.h"
#include "cli/exit_codes.h"
#include "cli/stop_signals.h"
#include "security/handshake_monitor.h"

namespace graphene {
namespace {

namespace fs = std::filesystem;

constexpr Logger kLog("agent");
constexpr const char* kDefaultUser = "nobody";
constexpr const char* kRootCache = "/var/cache/graphene/bundles";

std::atomic<Agent*> running_agent{nullptr};
std::atomic<int> stop_signals{0};

void StopAgent(int count) {
  stop_signals.store(count);
  if (Agent* agent = running_agent.load()) agent->RequestStop(/*now=*/count > 1);
}

std::string DefaultCache() {
  if (::geteuid() == 0) return kRootCache;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
    return std::string(xdg) + "/graphene/bundles";
  }
  if (const char* home = std::getenv("HOME"); home && *home) {
    return std::string(home) + "/.cache/graphene/bundles";
  }
  return ".graphene/bundles";
}

// Targets run as `user` from inside the cache: every folder above it must
// let others through, or every import would fail.
void CheckReachable(const std::string& cache, const std::string& user) {
  for (fs::path dir = fs::absolute(cache); dir != dir.root_path(); dir = dir.parent_path()) {
    struct stat info {};
    if (::stat(dir.c_str(), &info) == 0 && !(info.st_mode & S_IXOTH)) {
      throw CommandError{kExitUsage,
                         fmt::format("the bundle cache {} is out of reach of user {}, who runs the "
                                     "targets: {} is mode {:o}; choose another --cache",
                                     cache, user, dir.string(), info.st_mode & 07777)};
    }
  }
}

std::optional<RunAs> TargetUser(const AgentCommandOptions& o) {
  if (::geteuid() != 0) {
    if (!o.user.empty()) {
      throw CommandError{kExitUsage, "--user needs the agent to be started as root"};
    }
    return std::nullopt;
  }
  const std::string user = o.user.empty() ? kDefaultUser : o.user;
  if (user == "root") {
    kLog.Warn("running targets as root (--user root): a target can take over this machine");
    return std::nullopt;
  }
  Result<RunAs> run_as = LookUpUser(user);
  if (!run_as.ok()) throw CommandError{kExitUsage, run_as.status().message()};
  return *run_as;
}

int Run(const AgentCommandOptions& o) {
  if (o.heartbeat_timeout_ms <= o.heartbeat_ms) {
    throw CommandError{kExitUsage, "--heartbeat-timeout-ms must be longer than --heartbeat-ms"};
  }
  Result<std::function<void(zmq::socket_t&)>> security = SetUpClientSecurity(o.security);
  if (!security.ok()) throw CommandError{kExitUsage, security.status().message()};
  const std::optional<RunAs> run_as = TargetUser(o);
  const std::string cache_dir = o.cache.empty() ? DefaultCache() : o.cache;
  Result<BundleCache> cache = BundleCache::Open(cache_dir);
  if (!cache.ok()) throw CommandError{kExitUsage, cache.status().message()};
  if (run_as) CheckReachable(cache->dir(), o.user.empty() ? kDefaultUser : o.user);
  // Only at startup: nothing of ours runs from the cache yet.
  if (Status pruned = cache->Prune(o.cache_keep); !pruned.ok()) {
    kLog.Warn("cleaning the bundle cache: {}", pruned.message());
  }

  const size_t slots = o.slots ? o.slots : DefaultSlots();
  Result<std::unique_ptr<Sandbox>> sandbox =
      Sandbox::Start(SandboxOptions{.slots = slots, .run_as = run_as});
  if (!sandbox.ok()) throw CommandError{kExitInfrastructure, sandbox.status().message()};

  zmq::context_t context;
  AgentOptions options;
  options.endpoint = o.connect;
  options.name = o.name;
  options.heartbeat_interval = std::chrono::milliseconds(o.heartbeat_ms);
  options.heartbeat_timeout = std::chrono::milliseconds(o.heartbeat_timeout_ms);
  options.bundles = &*cache;
  options.drain_timeout = std::chrono::milliseconds(static_cast<int64_t>(o.drain_timeout_s * 1000));
  // ZeroMQ retries a refused handshake silently: say why in the log.
  std::unique_ptr<HandshakeMonitor> monitor;
  options.configure_socket = [&](zmq::socket_t& socket) {
    if (*security) (*security)(socket);
    Result<std::unique_ptr<HandshakeMonitor>> attached =
        HandshakeMonitor::Attach(context, socket, o.connect);
    if (!attached.ok()) throw CommandError{kExitInfrastructure, attached.status().message()};
    monitor = std::move(attached).value();
    monitor->LogInBackground("agent", std::chrono::seconds{30});
  };
  Result<std::unique_ptr<Agent>> agent = Agent::Create(context, options, **sandbox);
  if (!agent.ok()) throw CommandError{kExitUsage, agent.status().message()};
  running_agent.store(agent->get());
  if (int count = stop_signals.load(); count > 0) (*agent)->RequestStop(count > 1);
  kLog.Info("serving {} with {} slots; bundles in {}; targets run as {}", o.connect, slots,
            cache->dir(), run_as ? FormatRunAs(*run_as) : "this agent's user");
  Status served = (*agent)->Run();
  running_agent.store(nullptr);
  if (!served.ok()) throw CommandError{kExitInfrastructure, served.message()};
  kLog.Info("stopped");
  return kExitOk;
}

}  // namespace

CLI::App* AddAgentCommand(CLI::App& app, AgentCommandOptions& o) {
  CLI::App* command = app.add_subcommand(
      "agent", "Run a coordinator's jobs on this machine until stopped (SIGINT/SIGTERM)");
  command->add_option("--connect", o.connect, "The coordinator: tcp://HOST:PORT")
      ->required()
      ->envname("GRAPHENE_COORDINATOR");
  command->add_option("--slots", o.slots, "Executions at once [default: 16 per core]")
      ->check(CLI::Range(1, 4096))
      ->envname("GRAPHENE_SLOTS");
  command->add_option("--name", o.name, "Name in logs and results [default: HOST:PID]");
  command->add_option("--cache", o.cache,
                      "Folder of unpacked bundles [default: /var/cache/graphene/bundles as root, "
                      "else ~/.cache/graphene/bundles]");
  command
      ->add_option("--cache-keep", o.cache_keep,
                   "Bundles the cache keeps, most recently used first (pruned at startup)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  command->add_option("--user", o.user,
                      "When started as root: the user targets run as [default: nobody]");
  AddClientSecurityOptions(*command, o.security);
  command->add_option("--heartbeat-ms", o.heartbeat_ms, "Heartbeat interval to the coordinator")
      ->capture_default_str()
      ->check(CLI::Range(10, 600000));
  command
      ->add_option("--heartbeat-timeout-ms", o.heartbeat_timeout_ms,
                   "Silence after which the coordinator is presumed gone")
      ->capture_default_str()
      ->check(CLI::Range(50, 3600000));
  command
      ->add_option("--drain-timeout", o.drain_timeout_s,
                   "Seconds a stop waits for executions in flight")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 86400.0));
  return command;
}

int RunAgentCommand(const AgentCommandOptions& options) {
  InstallStopHandler(StopAgent);
  try {
    return Run(options);
  } catch (const CommandError& error) {
    fmt::print(stderr, "graphene: {}\n", error.message);
    return error.exit_code;
  }
}

}  // namespace graphene
