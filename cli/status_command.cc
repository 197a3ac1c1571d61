#include "cli/status_command.h"

#include <fmt/format.h>

#include <atomic>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/coordinator_client.h"
#include "cli/exit_codes.h"

namespace graphene {
namespace {

nlohmann::json StatusJson(const StatusReply& reply) {
  nlohmann::json agents = nlohmann::json::array();
  for (const AgentState& agent : reply.agents) {
    agents.push_back({{"name", agent.name},
                      {"slots", agent.slots},
                      {"running", agent.leased},
                      {"idle_ms", agent.idle_ms}});
  }
  nlohmann::json campaigns = nlohmann::json::array();
  for (const CampaignListing& listing : reply.campaigns) {
    campaigns.push_back({{"campaign", listing.state.campaign},
                         {"status", listing.state.status},
                         {"done", listing.state.done},
                         {"total", listing.state.total},
                         {"escapes", listing.state.escapes},
                         {"created_at", listing.created_at},
                         {"command", listing.command}});
  }
  return {{"agents", agents}, {"campaigns", campaigns}};
}

void PrintText(const StatusReply& reply, const std::string& endpoint) {
  uint64_t slots = 0, running = 0;
  for (const AgentState& agent : reply.agents) {
    slots += agent.slots;
    running += agent.leased;
  }
  fmt::print("coordinator {}: {} agents, {} slots, {} executions running\n", endpoint,
             reply.agents.size(), slots, running);
  if (!reply.agents.empty()) {
    fmt::print("\n{:<32} {:>6} {:>8} {:>10}\n", "AGENT", "SLOTS", "RUNNING", "IDLE");
    for (const AgentState& agent : reply.agents) {
      fmt::print("{:<32} {:>6} {:>8} {:>9.1f}s\n", agent.name, agent.slots, agent.leased,
                 agent.idle_ms / 1000.0);
    }
  }
  if (!reply.campaigns.empty()) {
    fmt::print("\n{:>8} {:<12} {:>21} {:>8}  {:<24} {}\n", "CAMPAIGN", "STATUS", "DONE/TOTAL",
               "ESCAPES", "CREATED", "COMMAND");
    for (const CampaignListing& listing : reply.campaigns) {
      const CampaignState& state = listing.state;
      fmt::print("{:>8} {:<12} {:>21} {:>8}  {:<24} {}\n", state.campaign, state.status,
                 fmt::format("{}/{}", state.done, state.total), state.escapes, listing.created_at,
                 listing.command);
    }
  }
}

}  // namespace

CLI::App* AddStatusCommand(CLI::App& app, StatusOptions& o) {
  CLI::App* command =
      app.add_subcommand("status", "Show a running coordinator's agents, slots and campaigns");
  AddCoordinatorClientOptions(*command, o.coordinator, o.security);
  command->add_option("--format", o.format, "Output format")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
  command->add_option("--recent", o.recent, "Finished campaigns to list")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  command->add_option("--timeout", o.timeout_s, "Seconds to wait for the coordinator")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 3600.0));
  return command;
}

int RunStatusCommand(const StatusOptions& o) {
  Result<std::function<void(zmq::socket_t&)>> security = SetUpClientSecurity(o.security);
  if (!security.ok()) {
    fmt::print(stderr, "graphene: {}\n", security.status().message());
    return kExitUsage;
  }
  zmq::context_t context;
  Result<std::unique_ptr<CoordinatorClient>> client =
      CoordinatorClient::Connect(context, o.coordinator, *security);
  if (!client.ok()) {
    fmt::print(stderr, "graphene: {}\n", client.status().message());
    return kExitUsage;
  }
  static const std::atomic<bool> never{false};
  Result<Message> reply = (*client)->Call(
      StatusRequest{.recent_campaigns = o.recent},
      [](const Message& m) { return std::holds_alternative<StatusReply>(m); },
      std::chrono::milliseconds(static_cast<int64_t>(o.timeout_s * 1000)), never);
  if (!reply.ok()) {
    fmt::print(stderr, "graphene: {}\n", reply.status().message());
    return kExitInfrastructure;
  }
  const StatusReply& status = std::get<StatusReply>(*reply);
  if (o.format == "json") {
    std::cout << StatusJson(status).dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
  } else {
    PrintText(status, o.coordinator);
  }
  return kExitOk;
}

}  // namespace graphene
