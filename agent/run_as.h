// Running targets as an unprivileged user. An agent started as root keeps
// root for what needs it (the zygote, the supervisors and their cgroups) and
// gives it up only in each runner, the process that imports and calls the
// target: untrusted code then cannot signal the supervisors, read root's
// files or write the bundle cache it runs from.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "base/status.h"

namespace graphene {

struct RunAs {
  uid_t uid = 0;
  gid_t gid = 0;
};

// The user named `name`, with its primary group.
Result<RunAs> LookUpUser(const std::string& name);

// How the sandbox hands the identity to its zygote: an environment variable
// "uid:gid", which the zygote reads once and removes, so targets never see it.
inline constexpr const char* kRunAsVariable = "GRAPHENE_RUN_AS";
std::string FormatRunAs(const RunAs& run_as);
std::optional<RunAs> TakeRunAsFromEnvironment();

// The identity runners take, set once by the zygote before it forks
// anything: nullopt keeps the agent's.
void SetExecutionUser(std::optional<RunAs> run_as);
const std::optional<RunAs>& ExecutionUser();

// In a forked runner: drops supplementary groups, then becomes `run_as`.
// Restores what a change of identity resets (the parent-death signal and
// dumpability, which /proc/self access needs). False, with errno, if any
// step failed; the caller must then not run the target.
bool BecomeUser(const RunAs& run_as);

}  // namespace graphene
