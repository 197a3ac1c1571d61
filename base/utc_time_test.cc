#include "base/utc_time.h"

#include <gtest/gtest.h>
#include <stdlib.h>

namespace graphene {
namespace {

using namespace std::chrono;

TEST(UtcIso, FormatsUtcWithMilliseconds) {
  const system_clock::time_point time =
      sys_days{year(2024) / May / 1} + hours(12) + minutes(34) + seconds(56) + milliseconds(789);
  EXPECT_EQ(UtcIso(time), "2024-05-01T12:34:56.789Z");
  EXPECT_EQ(UtcIso(sys_days{year(2026) / December / 31} + hours(23) + minutes(59) + seconds(59) +
                   microseconds(999999)),
            "2026-12-31T23:59:59.999Z");
  EXPECT_EQ(UtcIso(system_clock::time_point{}), "1970-01-01T00:00:00.000Z");
}

TEST(UtcIso, IgnoresTheMachinesTimeZone) {
  const system_clock::time_point time = sys_days{year(2026) / November / 25} + hours(13);
  ::setenv("TZ", "America/New_York", 1);
  ::tzset();
  EXPECT_EQ(UtcIso(time), "2026-11-25T13:00:00.000Z");
  ::unsetenv("TZ");
  ::tzset();
}

}  // namespace
}  // namespace graphene
