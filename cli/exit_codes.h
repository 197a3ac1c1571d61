// graphene's exit statuses (SPEC section 3).
#pragma once

#include <string>

namespace graphene {

inline constexpr int kExitOk = 0;              // completed, nothing unexpected
inline constexpr int kExitMismatch = 1;        // a verdict disagrees with its docstring
inline constexpr int kExitUsage = 2;           // bad command line or target
inline constexpr int kExitInfrastructure = 3;  // graphene itself could not do the job

// Thrown by a command's steps and caught where the command prints it as one
// line and exits with `exit_code`.
struct CommandError {
  int exit_code;
  std::string message;
};

}  // namespace graphene
