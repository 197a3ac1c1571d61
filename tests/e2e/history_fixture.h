// HistoryTest: an end-to-end test over a history built on purpose. Before
// each test, three campaigns run every target of kHistoryTargets (escaping
// always, never, at random, only on long inputs, and only while a flag file
// exists, which it does during the third campaign only) with a short and a
// long input, 10 repeats each, into the test's own database.
#pragma once

#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "tests/e2e/leftover_check.h"

namespace graphene::e2e {

// The targets' file, relative to the source folder.
inline constexpr const char* kHistoryTargets = "tests/e2e/data/history/history_targets.py";

// "FILE:function" for a function of kHistoryTargets, as graphene names it.
std::string HistoryTarget(const std::string& function);

class HistoryTest : public LeftoverCheckingTest {
 protected:
  void SetUp() override;

  // Runs graphene with `args` plus `--format json`, records a failure unless
  // it exits with 0, and returns what it printed, parsed (discarded on
  // failure).
  nlohmann::json Json(std::vector<std::string> args);
};

}  // namespace graphene::e2e
