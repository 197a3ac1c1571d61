// Rendering a CampaignSummary for people (text) and for programs (the JSON
// contract of SPEC section 3, whose field names must not change).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "cli/summary.h"

namespace graphene {

// One line per target (verdict, expectation, escapes/executions, rate,
// target), the distinct escapes of escaping targets, then totals.
std::string RenderText(const CampaignSummary& summary);

// The `--format json` document.
nlohmann::json RenderJson(const CampaignSummary& summary);

}  // namespace graphene
