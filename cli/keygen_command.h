// `graphene keygen NAME`: a CurveZMQ key pair for a coordinator, agent or
// client of a farm.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace graphene {

struct KeygenOptions {
  std::string name;
  std::string dir = ".";
  bool force = false;
};

CLI::App* AddKeygenCommand(CLI::App& app, KeygenOptions& options);
int RunKeygenCommand(const KeygenOptions& options);

}  // namespace graphene
