// A one-line progress display on a terminal: done/total, escapes so far,
// executions per second and time left. Silent when stderr is not a terminal.
#pragma once

#include <chrono>

#include "coordinator/coordinator.h"

namespace graphene {

class ProgressDisplay {
 public:
  explicit ProgressDisplay(bool enabled);
  // Redraws at most a few times a second.
  void Update(const Progress& progress);
  // Clears the line.
  void Finish();

 private:
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace graphene
