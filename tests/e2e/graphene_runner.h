// GrapheneRunner: runs the real `graphene` binary the way a user's shell
// would, for the end-to-end tests. The child gets /dev/null as stdin, pipes
// for stdout and stderr, a chosen working folder and extra environment
// variables, and is killed if it outlives a generous deadline. The deadline
// is an upper bound against hangs, never a speed assertion.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace graphene::e2e {

// The graphene binary under test and the source tree (the working folder the
// tests run it in, so that targets resolve relative to the repository).
inline constexpr const char* kGrapheneBinary = GRAPHENE_BINARY;
inline constexpr const char* kSourceDir = GRAPHENE_SOURCE_DIR;

struct RunOptions {
  std::filesystem::path cwd = kSourceDir;
  // Set in the child's environment on top of the test's own.
  std::vector<std::pair<std::string, std::string>> env;
  // After this long the child is killed and the run counts as hung.
  std::chrono::seconds deadline{300};
};

struct RunResult {
  int exit_code = -1;      // the child's exit status; -1 unless it exited normally
  int term_signal = 0;     // the signal that killed it, if one did
  bool timed_out = false;  // it outlived `RunOptions::deadline` and was killed
  std::string out;         // everything it wrote to stdout
  std::string err;         // everything it wrote to stderr
};

// Runs `binary` with `args` (argv[1..]) and returns how it ended and what it
// printed. Reports a hang or a failure to start it as a test failure
// (ADD_FAILURE), so callers only check the result.
RunResult RunProgram(const std::string& binary, const std::vector<std::string>& args,
                     const RunOptions& options = {});

// RunProgram on the graphene binary under test.
RunResult RunGraphene(const std::vector<std::string>& args, const RunOptions& options = {});

// "graphene ARG ARG ...", for failure messages.
std::string DescribeCommand(const std::vector<std::string>& args);

}  // namespace graphene::e2e
