#include "cli/keygen_command.h"

#include <fmt/format.h>

#include "cli/exit_codes.h"
#include "security/keys.h"

namespace graphene {

CLI::App* AddKeygenCommand(CLI::App& app, KeygenOptions& o) {
  CLI::App* command = app.add_subcommand(
      "keygen", "Write a CurveZMQ key pair: DIR/NAME.key (secret, mode 0600) and DIR/NAME.pub");
  command->add_option("name", o.name, "Name of the key files, e.g. coordinator or agent-1")
      ->required();
  command->add_option("--dir", o.dir, "Folder to write them to")->capture_default_str();
  command->add_flag("--force", o.force, "Replace existing key files");
  return command;
}

int RunKeygenCommand(const KeygenOptions& o) {
  Result<KeyPair> keys = GenerateKeyPair();
  if (!keys.ok()) {
    fmt::print(stderr, "graphene: {}\n", keys.status().message());
    return kExitInfrastructure;
  }
  if (Status written = WriteKeyPair(*keys, o.dir, o.name, o.force); !written.ok()) {
    fmt::print(stderr, "graphene: {}\n", written.message());
    return kExitUsage;
  }
  fmt::print("{}/{}.key  secret: keep it on this machine only\n", o.dir, o.name);
  fmt::print("{}/{}.pub  public key {}\n", o.dir, o.name, keys->public_key);
  return kExitOk;
}

}  // namespace graphene
