#include "agent/run_as.h"

#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

#include <fmt/format.h>

namespace graphene {
namespace {

std::optional<RunAs> execution_user;

}  // namespace

void SetExecutionUser(std::optional<RunAs> run_as) { execution_user = run_as; }
const std::optional<RunAs>& ExecutionUser() { return execution_user; }

Result<RunAs> LookUpUser(const std::string& name) {
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  const int error = ::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
  if (error != 0 || found == nullptr) {
    return Status::Error(fmt::format("no such user '{}' to run targets as", name));
  }
  return RunAs{.uid = found->pw_uid, .gid = found->pw_gid};
}

std::string FormatRunAs(const RunAs& run_as) {
  return fmt::format("{}:{}", run_as.uid, run_as.gid);
}

std::optional<RunAs> TakeRunAsFromEnvironment() {
  const char* value = ::getenv(kRunAsVariable);
  if (value == nullptr) return std::nullopt;
  unsigned long uid = 0, gid = 0;
  const bool parsed = std::sscanf(value, "%lu:%lu", &uid, &gid) == 2;
  ::unsetenv(kRunAsVariable);
  if (!parsed) return std::nullopt;
  return RunAs{.uid = static_cast<uid_t>(uid), .gid = static_cast<gid_t>(gid)};
}

bool BecomeUser(const RunAs& run_as) {
  if (::setgroups(0, nullptr) != 0 || ::setresgid(run_as.gid, run_as.gid, run_as.gid) != 0 ||
      ::setresuid(run_as.uid, run_as.uid, run_as.uid) != 0) {
    return false;
  }
  // Both are reset by the change of credentials.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  ::prctl(PR_SET_DUMPABLE, 1);
  return true;
}

}  // namespace graphene
