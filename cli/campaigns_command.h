// `graphene campaigns`: the campaigns in a results database, newest first.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cli/database_options.h"

namespace graphene {

struct CampaignsOptions {
  std::string db = kDefaultDatabase;
  std::string format = "text";
  size_t limit = 50;
};

CLI::App* AddCampaignsCommand(CLI::App& app, CampaignsOptions& options);
int RunCampaignsCommand(const CampaignsOptions& options);

}  // namespace graphene
