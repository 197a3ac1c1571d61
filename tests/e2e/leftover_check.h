// LeftoverCheckingTest: an end-to-end test that can tell whether graphene
// left anything running. Two nets catch a leftover. The test process is made
// a child subreaper, so every orphan of its graphene runs (double forks,
// setsid) is re-parented to it rather than to init: whatever graphene started
// and left is a descendant of the test. And every new process that inherited
// the test's environment marker counts, wherever it hangs in the process
// tree. Command lines are not used to attribute processes: other graphene
// runs on the same machine have the same ones and would be blamed.
#pragma once

#include <set>
#include <vector>

#include "tests/e2e/e2e_test_base.h"
#include "tests/e2e/process_table.h"

namespace graphene::e2e {

class LeftoverCheckingTest : public GrapheneE2eTest {
 protected:
  void SetUp() override;
  // Kills whatever a failed check found, so it does not outlive the test.
  void TearDown() override;

  // Living processes started since SetUp that belong to this test's runs.
  std::vector<ProcessEntry> LeftBehind();

  // graphene has exited: nothing it started may still run. A process sent
  // SIGKILL may take a moment to be gone on a busy machine, so this allows
  // one second; the targets' leftovers live for 30 s.
  void ExpectNothingLeft();

 private:
  std::set<ProcessId> before_;
};

}  // namespace graphene::e2e
