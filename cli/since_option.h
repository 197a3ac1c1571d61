// The --since option of the history commands: a point in time as people
// write it, turned into the form campaigns.created_at is compared with.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "base/status.h"

namespace graphene {

// Accepts an ISO-8601 UTC date or date and time ("2026-11-01",
// "2026-11-01T10:00", "2026-11-01 10:00:30.5Z") or a time before `now`
// ("90m", "36h", "7d", "2w"), and returns it as an ISO-8601 prefix that
// compares as text with stored times ("2026-11-01T10:00"). Anything else,
// or a date that does not exist, is an error naming the accepted forms.
Result<std::string> ParseSince(std::string_view text, std::chrono::system_clock::time_point now);

}  // namespace graphene
