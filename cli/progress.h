// Progress of a running campaign on stderr: done/total, escapes so far,
// executions per second and time left. On a terminal, one line redrawn in
// place with a bar; otherwise a plain line at the start, every few seconds
// and at the end (for logs and CI); with --quiet, nothing.
#pragma once

#include <chrono>
#include <string>

#include "coordinator/coordinator.h"

namespace graphene {

class ProgressDisplay {
 public:
  // `enabled` false: silent. `label` starts each plain line.
  explicit ProgressDisplay(bool enabled, std::string label = "");
  // Redraws at most a few times a second, or writes a line every few seconds.
  void Update(const Progress& progress);
  // Clears the bar.
  void Finish();

 private:
  enum class Style { kOff, kBar, kLines };
  Style style_;
  std::string label_;
  bool drawn_ = false;
  uint64_t done_at_start_ = 0;
  bool started_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace graphene
