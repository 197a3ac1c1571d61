// Times as graphene stores and shows them: UTC ISO-8601 with milliseconds,
// "2024-05-01T12:34:56.789Z", which sort as text in time order. Computed
// from the clock alone, whatever the machine's time zone (TZ).
#pragma once

#include <chrono>
#include <string>

namespace graphene {

std::string UtcIso(std::chrono::system_clock::time_point time);

}  // namespace graphene
