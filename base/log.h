// One-line logs on stderr, "graphene <component>: <text>". Info lines (an
// agent joined, a session restarted) are for long-running processes; the
// embedded mode of analyze/run-all shows only warnings.
#pragma once

#include <string_view>

namespace graphene {

enum class LogLevel { kInfo = 0, kWarning = 1 };

// Lines below `level` are dropped. Default: kInfo. Not thread-safe: set it
// before starting threads.
void SetMinLogLevel(LogLevel level);

void LogLine(std::string_view component, LogLevel level, std::string_view text);

}  // namespace graphene
