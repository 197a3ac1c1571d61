// GrapheneE2eTest: the fixture every end-to-end test uses. Each test gets its
// own scratch folder (with its own results database) that is removed
// afterwards, and every graphene it starts carries an environment marker
// naming the test, so that its processes can be told apart from anyone
// else's in /proc.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/graphene_runner.h"

namespace graphene::e2e {

// The environment variable that carries a test's marker.
inline constexpr const char* kRunMarkerVariable = "GRAPHENE_E2E_RUN";

class GrapheneE2eTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  const std::filesystem::path& scratch_dir() const { return scratch_dir_; }
  // The test's own results database, inside `scratch_dir()`.
  std::string db_path() const { return (scratch_dir_ / "results.db").string(); }
  // The value of kRunMarkerVariable in every graphene this test starts.
  const std::string& run_marker() const { return run_marker_; }

  // Runs graphene with exactly `args`, in the source folder, with
  // GRAPHENE_DB set to `db_path()` and the run marker set.
  RunResult Run(const std::vector<std::string>& args, RunOptions options = {});

  // Runs graphene with `args` plus `--format json --db db_path()`, records a
  // test failure unless it exits with `expected_exit` and prints one JSON
  // object, and returns that object (null on failure).
  nlohmann::json RunJson(const std::vector<std::string>& args, int expected_exit = 0);

 private:
  std::filesystem::path scratch_dir_;
  std::string run_marker_;
};

// The file a target's code is in, relative to the source folder:
// "a/b.py:f" -> "a/b.py", "a.b:f" -> "a/b.py".
std::string TargetFile(const std::string& target);

// The report's entry for `target`, or null if the report has none.
nlohmann::json FindTarget(const nlohmann::json& report, const std::string& target);

}  // namespace graphene::e2e
