// graphene's exit statuses (SPEC section 3).
#pragma once

namespace graphene {

inline constexpr int kExitOk = 0;              // completed, nothing unexpected
inline constexpr int kExitMismatch = 1;        // a verdict disagrees with its docstring
inline constexpr int kExitUsage = 2;           // bad command line or target
inline constexpr int kExitInfrastructure = 3;  // graphene itself could not do the job

}  // namespace graphene
