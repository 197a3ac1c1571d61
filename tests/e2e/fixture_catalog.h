// FixtureCatalog: what the end-to-end tests expect graphene to discover in a
// folder of Python targets, read independently of graphene: every top-level
// `def` of a public function (a name starting with a lowercase letter) and
// the "Expected Behavior:" its docstring states.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace graphene::e2e {

struct FixtureFunction {
  std::string target;    // "fixtures/python/escape_threads.py:spawn_daemon_thread"
  std::string file;      // "fixtures/python/escape_threads.py", relative to the root
  std::string function;  // "spawn_daemon_thread"
  std::string expected;  // "ESCAPE", "SAFE", or empty when the docstring says nothing
};

// Scans the `.py` files directly in `root`/`folder` (in name order) for lines
// matching `^def [a-z]` and the first "Expected Behavior: WORD" after each,
// before the next top-level `def`. Target names use `folder` as given.
std::vector<FixtureFunction> ScanFixtureFolder(const std::filesystem::path& root,
                                               const std::string& folder);

// The number of lines of `path`, or 0 if it cannot be read.
int CountLines(const std::filesystem::path& path);

}  // namespace graphene::e2e
