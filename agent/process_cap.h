// ProcessCap: a hard limit on how many processes one execution may have,
// through the cgroup v1 `pids` controller when the machine offers it (as root
// on most Linux hosts). fork() beyond the cap fails in the target, so a fork
// bomb stops at the limit instead of racing the supervisor's counting. Where
// no writable pids cgroup exists, the cap is inactive and the supervisor's
// periodic count is the only limit.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace graphene {

class ProcessCap {
 public:
  // Creates a cgroup for the calling supervisor, if possible, and moves the
  // supervisor into it, so that every runner it forks, and all they start,
  // count against the cap without moving each of them.
  ProcessCap();
  ~ProcessCap();  // removes the cgroup (it must be empty by then)
  ProcessCap(const ProcessCap&) = delete;
  ProcessCap& operator=(const ProcessCap&) = delete;

  bool active() const { return !dir_.empty(); }
  // Sets the cap for the next execution (the supervisor counts as one).
  // No-op when inactive or unchanged.
  void SetLimit(uint32_t processes);

  // Removes the cgroup a dead supervisor `pid` left behind. False while it
  // still holds processes (killed ones take a moment to exit): try again.
  static bool RemoveLeftover(pid_t pid);

 private:
  std::string dir_;
  uint32_t limit_ = 0;
};

}  // namespace graphene
