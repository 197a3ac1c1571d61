// A campaign as JUnit XML, for CI systems: one <testsuite> for the campaign,
// one <testcase> per target. A target whose verdict disagrees with its
// docstring is a <failure> listing its escapes; one with executions that
// could not run is an <error>; the others pass, their verdict in <system-out>.
#pragma once

#include <string>
#include <string_view>

#include "cli/summary.h"

namespace graphene {

// The whole XML document.
std::string RenderJunit(const CampaignSummary& summary);

// `text` as XML 1.0 character data or attribute value: &<>"' as entities,
// tab/newline/carriage return as character references, characters XML 1.0
// does not allow (other control characters, U+FFFE/U+FFFF) and bytes that are
// not UTF-8 as U+FFFD.
std::string XmlEscape(std::string_view text);

}  // namespace graphene
