#include "cli/since_option.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace graphene {
namespace {

using std::chrono::system_clock;
using ::testing::HasSubstr;

// 2026-11-25T13:00:00Z.
const system_clock::time_point kNow =
    std::chrono::sys_days{std::chrono::year(2026) / std::chrono::November / 25} +
    std::chrono::hours(13);

std::string Since(std::string_view text) {
  Result<std::string> since = ParseSince(text, kNow);
  return since.ok() ? *since : "error: " + since.status().message();
}

TEST(ParseSince, DatesAndTimesBecomePrefixesOfStoredTimes) {
  EXPECT_EQ(Since("2026-11-01"), "2026-11-01");
  EXPECT_EQ(Since("2026-11-01T10:00"), "2026-11-01T10:00");
  // A space for the T and a Z are accepted; stored times end in .fffZ, so
  // the Z would compare wrongly and goes.
  EXPECT_EQ(Since("2026-11-01 10:00:30Z"), "2026-11-01T10:00:30");
  EXPECT_EQ(Since("2026-11-01T10:00:30.5"), "2026-11-01T10:00:30.5");
  EXPECT_EQ(Since("2024-02-29"), "2024-02-29");
}

TEST(ParseSince, TimesAgoCountBackFromNow) {
  EXPECT_EQ(Since("90m"), "2026-11-25T11:30:00");
  EXPECT_EQ(Since("36h"), "2026-11-24T01:00:00");
  EXPECT_EQ(Since("7d"), "2026-11-18T13:00:00");
  EXPECT_EQ(Since("2w"), "2026-11-11T13:00:00");
  EXPECT_EQ(Since("0d"), "2026-11-25T13:00:00");
}

TEST(ParseSince, AnythingElseIsAnErrorNamingTheForms) {
  for (const char* bad : {"yesterday", "2026-13-01", "2026-02-30", "2026-11", "2026-11-01T25:00",
                          "2026-11-01T10", "7y", "d", "-7d", "", "2026-11-01+01:00"}) {
    EXPECT_THAT(Since(bad), HasSubstr("expected a UTC date or time like 2026-11-01")) << bad;
  }
}

}  // namespace
}  // namespace graphene
