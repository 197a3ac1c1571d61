#include "cli/coordinator_command.h"

#include <fmt/format.h>

#include <atomic>

#include "base/log.h"
#include "cli/database_options.h"
#include "cli/exit_codes.h"
#include "cli/stop_signals.h"
#include "coordinator/coordinator_service.h"

namespace graphene {
namespace {

constexpr Logger kLog("coordinator");

std::atomic<CoordinatorService*> running_service{nullptr};
std::atomic<bool> stop_requested{false};

void StopService(int) {
  stop_requested.store(true);
  if (CoordinatorService* service = running_service.load()) service->RequestStop();
}

}  // namespace

CLI::App* AddCoordinatorCommand(CLI::App& app, CoordinatorCommandOptions& o) {
  CLI::App* command = app.add_subcommand(
      "coordinator", "Serve campaigns to agents and clients until stopped (SIGINT/SIGTERM)");
  command->add_option("--bind", o.bind, "Where agents and clients connect: tcp://HOST:PORT")
      ->capture_default_str()
      ->envname("GRAPHENE_BIND");
  AddDatabaseOption(*command, o.db, "SQLite database of campaigns and results");
  AddServerSecurityOptions(*command, o.security);
  command->add_option("--heartbeat-ms", o.heartbeat_ms, "Heartbeat interval to agents")
      ->capture_default_str()
      ->check(CLI::Range(10, 600000));
  command
      ->add_option("--heartbeat-timeout-ms", o.heartbeat_timeout_ms,
                   "Silence after which an agent is dead and its jobs go to others")
      ->capture_default_str()
      ->check(CLI::Range(50, 3600000));
  return command;
}

int RunCoordinatorCommand(const CoordinatorCommandOptions& o) {
  if (o.heartbeat_timeout_ms <= o.heartbeat_ms) {
    fmt::print(stderr, "graphene: --heartbeat-timeout-ms must be longer than --heartbeat-ms\n");
    return kExitUsage;
  }
  zmq::context_t context;
  Result<ServerSecurity> security = SetUpServerSecurity(context, o.security, o.bind);
  if (!security.ok()) {
    fmt::print(stderr, "graphene: {}\n", security.status().message());
    return kExitUsage;
  }
  CoordinatorServiceOptions options;
  options.coordinator.endpoint = o.bind;
  options.coordinator.heartbeat_interval = std::chrono::milliseconds(o.heartbeat_ms);
  options.coordinator.heartbeat_timeout = std::chrono::milliseconds(o.heartbeat_timeout_ms);
  options.coordinator.configure_socket = security->configure;
  options.db_path = o.db;
  InstallStopHandler(StopService);
  Result<std::unique_ptr<CoordinatorService>> service =
      CoordinatorService::Start(context, std::move(options));
  if (!service.ok()) {
    fmt::print(stderr, "graphene: {}\n", service.status().message());
    return kExitInfrastructure;
  }
  running_service.store(service->get());
  if (stop_requested.load()) (*service)->RequestStop();
  kLog.Info("listening on {} ({}), database {}", o.bind, security->description, o.db);
  Status served = (*service)->Run();
  running_service.store(nullptr);
  if (!served.ok()) {
    fmt::print(stderr, "graphene: {}\n", served.message());
    return kExitInfrastructure;
  }
  kLog.Info("stopped; unfinished campaigns resume on the next start");
  return kExitOk;
}

}  // namespace graphene
