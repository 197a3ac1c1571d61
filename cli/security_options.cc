#include "cli/security_options.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include "security/keys.h"

namespace graphene {

void AddServerSecurityOptions(CLI::App& app, ServerSecurityOptions& o) {
  app.add_option("--key", o.key, "The coordinator's key pair (a .key file from graphene keygen)")
      ->envname("GRAPHENE_KEY");
  app.add_option("--authorized-keys", o.authorized_keys,
                 "Public keys of the agents and clients admitted: a file with one per line, or a "
                 "folder of .pub files")
      ->envname("GRAPHENE_AUTHORIZED_KEYS");
  app.add_flag("--insecure", o.insecure,
               "Allow binding to a non-loopback address without keys: anyone who can reach the "
               "port can submit code and receive jobs");
}

void AddClientSecurityOptions(CLI::App& app, ClientSecurityOptions& o) {
  app.add_option("--key", o.key, "This machine's key pair (a .key file from graphene keygen)")
      ->envname("GRAPHENE_KEY");
  app.add_option("--coordinator-key", o.coordinator_key,
                 "The coordinator's public key (its .pub file), which it must prove it holds")
      ->envname("GRAPHENE_COORDINATOR_KEY");
}

void AddCoordinatorClientOptions(CLI::App& app, std::string& coordinator,
                                 ClientSecurityOptions& o) {
  app.add_option("--coordinator", coordinator, "The coordinator: tcp://HOST:PORT")
      ->required()
      ->envname("GRAPHENE_COORDINATOR");
  AddClientSecurityOptions(app, o);
}

bool IsLoopbackEndpoint(const std::string& endpoint) {
  if (endpoint.starts_with("ipc://") || endpoint.starts_with("inproc://")) return true;
  if (!endpoint.starts_with("tcp://")) return false;
  std::string host = endpoint.substr(6);
  // tcp://HOST:PORT, where an IPv6 HOST is bracketed.
  if (const size_t colon = host.rfind(':'); colon != std::string::npos) host.resize(colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host == "localhost") return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return ::inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

Result<ServerSecurity> SetUpServerSecurity(zmq::context_t& context,
                                           const ServerSecurityOptions& o,
                                           const std::string& endpoint) {
  ServerSecurity security;
  if (o.key.empty() != o.authorized_keys.empty()) {
    return Status::Error("--key and --authorized-keys go together: the coordinator needs both");
  }
  if (o.key.empty()) {
    if (!IsLoopbackEndpoint(endpoint) && !o.insecure) {
      return Status::Error(fmt::format(
          "refusing to bind {} without keys: anyone reaching it could run code on the agents; "
          "give --key and --authorized-keys (see graphene keygen), bind to 127.0.0.1, or pass "
          "--insecure",
          endpoint));
    }
    security.description = IsLoopbackEndpoint(endpoint)
                               ? "no keys: loopback only, unencrypted"
                               : "no keys (--insecure): unencrypted and open to anyone";
    return security;
  }
  Result<KeyPair> keys = ReadKeyPair(o.key);
  if (!keys.ok()) return keys.status();
  Result<std::set<std::string>> authorized = ReadAuthorizedKeys(o.authorized_keys);
  if (!authorized.ok()) return authorized.status();
  const size_t count = authorized->size();
  Result<std::unique_ptr<ZapHandler>> zap = ZapHandler::Start(context, std::move(*authorized));
  if (!zap.ok()) return zap.status();
  security.zap = std::move(zap).value();
  security.configure = [keys = *keys](zmq::socket_t& socket) { ApplyCurveServer(socket, keys); };
  security.description = fmt::format("CurveZMQ, {} authorized keys", count);
  return security;
}

Result<std::function<void(zmq::socket_t&)>> SetUpClientSecurity(const ClientSecurityOptions& o) {
  if (o.key.empty() != o.coordinator_key.empty()) {
    return Status::Error("--key and --coordinator-key go together: both are needed to talk to a "
                         "coordinator with keys");
  }
  if (o.key.empty()) return std::function<void(zmq::socket_t&)>();
  Result<KeyPair> own = ReadKeyPair(o.key);
  if (!own.ok()) return own.status();
  Result<std::string> server = ReadPublicKey(o.coordinator_key);
  if (!server.ok()) return server.status();
  return std::function<void(zmq::socket_t&)>(
      [own = *own, server = *server](zmq::socket_t& socket) {
        ApplyCurveClient(socket, own, server);
      });
}

}  // namespace graphene
