#include "base/log.h"

#include <fmt/format.h>

namespace graphene {
namespace {

LogLevel min_level = LogLevel::kInfo;

}  // namespace

void SetMinLogLevel(LogLevel level) { min_level = level; }

void LogLine(std::string_view component, LogLevel level, std::string_view text) {
  if (level < min_level) return;
  fmt::print(stderr, "graphene {}: {}\n", component, text);
}

}  // namespace graphene
