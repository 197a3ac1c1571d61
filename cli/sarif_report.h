// A campaign as SARIF 2.1.0, for code-scanning tools: one run of the tool
// "graphene", one rule per escape kind, and one result per distinct escape
// of a target (kind and the file:line that started it), located there. The
// level is "error" when the target's verdict disagrees with its docstring,
// else "warning".
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "cli/summary.h"

namespace graphene {

// The SARIF log; `version` is graphene's, for tool.driver.version.
nlohmann::json RenderSarif(const CampaignSummary& summary, const std::string& version);

}  // namespace graphene
