// `graphene campaigns`: the campaigns in a results database, newest first.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace graphene {

struct CampaignsOptions {
  std::string db = ".graphene/results.db";
  std::string format = "text";
  size_t limit = 50;
};

CLI::App* AddCampaignsCommand(CLI::App& app, CampaignsOptions& options);
int RunCampaignsCommand(const CampaignsOptions& options);

}  // namespace graphene
