#include "cli/since_option.h"

#include <fmt/format.h>

#include <charconv>
#include <regex>

#include "base/utc_time.h"

namespace graphene {
namespace {

using std::chrono::system_clock;

Status Invalid(std::string_view text) {
  return Status::Error(
      fmt::format("{:?}: expected a UTC date or time like 2026-11-01 or 2026-11-01T10:00, "
                  "or a time ago like 90m, 36h, 7d or 2w",
                  std::string(text)));
}

// "7d" and the like: that long before `now`, to the second.
Result<std::string> TimeAgo(std::string_view text, system_clock::time_point now) {
  int64_t count = 0;
  const char* end = text.data() + text.size() - 1;
  auto [stop, error] = std::from_chars(text.data(), end, count);
  if (error != std::errc() || stop != end || count < 0 || count > 100000) return Invalid(text);
  int64_t unit = 0;
  switch (text.back()) {
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'd':
      unit = 86400;
      break;
    case 'w':
      unit = 7 * 86400;
      break;
    default:
      return Invalid(text);
  }
  // To the second: "2026-11-18T13:00:00".
  return UtcIso(now - std::chrono::seconds(count * unit)).substr(0, 19);
}

}  // namespace

Result<std::string> ParseSince(std::string_view text, system_clock::time_point now) {
  if (!text.empty() && text.find_first_not_of("0123456789") == text.size() - 1 &&
      text.size() >= 2) {
    return TimeAgo(text, now);
  }
  // Date, then optionally hours:minutes, seconds and a fraction; Z or no
  // zone, as stored times are UTC.
  static const std::regex kIso(
      R"((\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,3})?)?)?Z?)");
  std::cmatch match;
  if (!std::regex_match(text.data(), text.data() + text.size(), match, kIso)) {
    return Invalid(text);
  }
  auto number = [&match](int group) { return std::stoi(match[group].str()); };
  const std::chrono::year_month_day date{std::chrono::year(number(1)),
                                         std::chrono::month(unsigned(number(2))),
                                         std::chrono::day(unsigned(number(3)))};
  if (!date.ok()) return Invalid(text);
  std::string since = fmt::format("{}-{}-{}", match[1].str(), match[2].str(), match[3].str());
  if (match[4].matched) {
    if (number(4) > 23 || number(5) > 59 || (match[6].matched && number(6) > 59)) {
      return Invalid(text);
    }
    since += fmt::format("T{}:{}", match[4].str(), match[5].str());
    if (match[6].matched) since += ":" + match[6].str() + match[7].str();
  }
  return since;
}

}  // namespace graphene
