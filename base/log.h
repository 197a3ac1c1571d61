// One-line logs on stderr, "graphene <component>: <text>". Info lines (an
// agent joined, a session restarted) are for long-running processes; the
// embedded mode of analyze/run-all shows only warnings.
#pragma once

#include <fmt/format.h>

#include <string_view>
#include <utility>

namespace graphene {

enum class LogLevel { kInfo = 0, kWarning = 1 };

// Lines below `level` are dropped. Default: kInfo. Not thread-safe: set it
// before starting threads.
void SetMinLogLevel(LogLevel level);

void LogLine(std::string_view component, LogLevel level, std::string_view text);

// A component's log, e.g. `constexpr Logger kLog("agent"); kLog.Warn("lost {}", n);`.
class Logger {
 public:
  constexpr explicit Logger(std::string_view component) : component_(component) {}

  template <typename... Args>
  void Info(fmt::format_string<Args...> format, Args&&... args) const {
    LogLine(component_, LogLevel::kInfo, fmt::format(format, std::forward<Args>(args)...));
  }
  template <typename... Args>
  void Warn(fmt::format_string<Args...> format, Args&&... args) const {
    LogLine(component_, LogLevel::kWarning, fmt::format(format, std::forward<Args>(args)...));
  }

 private:
  std::string_view component_;
};

}  // namespace graphene
