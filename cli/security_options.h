// The CurveZMQ options of the farm's commands, and what they do to sockets.
// The coordinator is a CURVE server admitting listed public keys; agents and
// clients are CURVE clients pinning the coordinator's key. Without keys,
// everything is in the clear and the coordinator stays on loopback unless
// told --insecure.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>
#include <zmq.hpp>

#include "base/status.h"
#include "security/zap_handler.h"

namespace graphene {

struct ServerSecurityOptions {
  std::string key;              // the coordinator's .key file
  std::string authorized_keys;  // file of public keys or folder of .pub files
  bool insecure = false;        // allow a non-loopback bind without keys
};

struct ClientSecurityOptions {
  std::string key;             // this agent's or client's .key file
  std::string coordinator_key; // the coordinator's .pub file (or Z85 key)
};

void AddServerSecurityOptions(CLI::App& app, ServerSecurityOptions& options);
void AddClientSecurityOptions(CLI::App& app, ClientSecurityOptions& options);
// What a client command needs to reach a coordinator: a required
// `--coordinator tcp://HOST:PORT` (GRAPHENE_COORDINATOR) and the client
// security options.
void AddCoordinatorClientOptions(CLI::App& app, std::string& coordinator,
                                 ClientSecurityOptions& options);

// What a coordinator socket needs: the socket hook and the ZAP handler that
// must live as long as the socket. Fails (one line) on missing or bad keys,
// and on a non-loopback `endpoint` without keys and without --insecure.
struct ServerSecurity {
  std::function<void(zmq::socket_t&)> configure;  // empty without keys
  std::unique_ptr<ZapHandler> zap;
  std::string description;  // for the log: "CurveZMQ, 3 authorized keys"
};
Result<ServerSecurity> SetUpServerSecurity(zmq::context_t& context,
                                           const ServerSecurityOptions& options,
                                           const std::string& endpoint);

// The socket hook of an agent or client; empty without keys. Fails (one
// line) when only one of the two files is given or one is bad.
Result<std::function<void(zmq::socket_t&)>> SetUpClientSecurity(
    const ClientSecurityOptions& options);

// Whether `endpoint` can only be reached from this machine (tcp on a
// loopback address, ipc, inproc).
bool IsLoopbackEndpoint(const std::string& endpoint);

}  // namespace graphene
