// Every way of leaving concurrent work behind that the pattern fixtures show
// (threads from odd places, native threads, timers, executors, processes of
// every origin, asyncio) is reported on every repeat, with the right kind and
// the `started_at` line of the statement that started it; every clean-up
// pattern is reported as safe; and nothing is left running afterwards.
//
// The expected lines come from the fixtures themselves: a statement that
// starts escaping work carries a marker comment
//     # graphene: starts-here KIND... [for=FUNCTION]
// after the code, naming the kinds of escape reported at that line and, when
// the line is in a helper, the public function it belongs to. A kind ending
// in "?" may be reported at the line but need not be. A marker in a SAFE
// function names a `transient` instead (work that ends during the grace
// period).
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <ios>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/fixture_catalog.h"
#include "tests/e2e/leftover_check.h"
#include "tests/e2e/process_table.h"

namespace graphene::e2e {
namespace {

using nlohmann::json;
using ::testing::SizeIs;

// The pattern fixture files, relative to the source folder.
const std::vector<std::string> kPatternFiles = {
    "fixtures/python/escape_thread_patterns.py",
    "fixtures/python/escape_native.py",
    "fixtures/python/escape_executor_patterns.py",
    "fixtures/python/escape_process_patterns.py",
    "fixtures/python/escape_async.py",
    "fixtures/python/no_escape_patterns.py",
};

// Targets whose executions end with a status other than "ok".
const std::map<std::string, std::string> kExpectedStatus = {
    {"fixtures/python/no_escape_patterns.py:raises_without_leftovers", "exception"},
};

// The SAFE target whose thread ends 30 ms after the return.
const std::string kTransientTarget =
    "fixtures/python/no_escape_patterns.py:thread_ending_after_return";

constexpr int kRepeats = 5;
const std::vector<std::string> kInputs = {"a", "bb"};
// Wider than the defaults (100 ms, 5 s), so that a busy machine does not
// turn the timer that fires during the grace period, or the thread that ends
// during it, into something else, nor time out a slow execution.
const std::vector<std::string> kTimingOptions = {"--grace", "300", "--timeout", "30"};

// One marker comment.
struct Marker {
  int line = 0;                       // 1-based
  std::vector<std::string> kinds;     // escapes (or transients) reported at this line
  std::vector<std::string> optional;  // kinds that may be reported at this line
  std::string owner;                  // the public function it belongs to
  std::string enclosing;              // the innermost function around it: the expected started_in
};

int Indentation(const std::string& line) {
  const size_t code = line.find_first_not_of(" \t");
  return static_cast<int>(code == std::string::npos ? line.size() : code);
}

// Reads the markers of a fixture file (records a failure for a malformed one).
std::vector<Marker> ReadMarkers(const std::filesystem::path& path) {
  static const std::regex kMarker(R"(#\s*graphene:\s*starts-here\b(.*)$)");
  static const std::regex kDef(R"(^(\s*)(?:async\s+)?def\s+([A-Za-z_][A-Za-z0-9_]*))");
  static const std::regex kTopLevel(R"(^(?:(?:async\s+)?def|class)\s+([A-Za-z_][A-Za-z0-9_]*))");
  std::vector<std::string> lines;
  {
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
  }
  std::vector<Marker> markers;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::smatch match;
    // A marker follows code; a comment line only talks about markers.
    if (lines[i].compare(Indentation(lines[i]), 1, "#") == 0) continue;
    if (!std::regex_search(lines[i], match, kMarker)) continue;
    Marker marker;
    marker.line = static_cast<int>(i) + 1;
    std::istringstream words(match[1].str());
    for (std::string word; words >> word;) {
      if (word.rfind("for=", 0) == 0) {
        marker.owner = word.substr(4);
      } else {
        (word.back() == '?' ? marker.optional : marker.kinds)
            .push_back(word.substr(0, word.size() - (word.back() == '?')));
      }
    }
    // The innermost def whose body holds the line, and the top-level
    // definition around it.
    int indent = Indentation(lines[i]);
    std::string top_level;
    for (size_t j = i; j-- > 0;) {
      std::smatch def;
      if (Indentation(lines[j]) < indent && std::regex_search(lines[j], def, kDef)) {
        if (marker.enclosing.empty()) marker.enclosing = def[2].str();
        indent = Indentation(lines[j]);
      }
      if (std::regex_search(lines[j], def, kTopLevel)) {
        top_level = lines[j].rfind("class", 0) == 0 ? "" : def[1].str();
        break;
      }
    }
    if (marker.owner.empty()) marker.owner = top_level;
    EXPECT_FALSE(marker.kinds.empty() && marker.optional.empty())
        << path << ":" << marker.line << " names no kind";
    EXPECT_FALSE(marker.owner.empty() || marker.owner[0] == '_')
        << path << ":" << marker.line << " is not in a public function and has no for=";
    markers.push_back(marker);
  }
  return markers;
}

// Is there an entry of `kind` in `entries` attributed to `started_at`?
bool HasEntry(const json& entries, const std::string& kind, const std::string& started_at) {
  return std::any_of(entries.begin(), entries.end(), [&](const json& entry) {
    if (entry.at("kind") != kind) return false;
    return entry.at("started_at") == started_at;
  });
}

class PatternsTest : public LeftoverCheckingTest,
                     public ::testing::WithParamInterface<std::string> {
 protected:
  std::vector<std::string> RunAllArgs(const std::string& file) {
    std::vector<std::string> args = {"run-all", "--test-dir", file, "--repeat",
                                     std::to_string(kRepeats)};
    for (const std::string& input : kInputs) args.insert(args.end(), {"--input", input});
    args.insert(args.end(), kTimingOptions.begin(), kTimingOptions.end());
    return args;
  }
};

TEST_P(PatternsTest, EveryPatternIsClassifiedOnEveryRepeat) {
  const std::string file = GetParam();
  std::map<std::string, FixtureFunction> fixtures;  // by target
  for (const FixtureFunction& fixture : ScanFixtureFolder(kSourceDir, "fixtures/python")) {
    if (fixture.file == file) fixtures[fixture.target] = fixture;
  }
  ASSERT_FALSE(fixtures.empty()) << "no public functions in " << file;
  std::map<std::string, std::vector<Marker>> markers;  // by target
  for (const Marker& marker : ReadMarkers(std::filesystem::path(kSourceDir) / file)) {
    const std::string target = file + ":" + marker.owner;
    EXPECT_TRUE(fixtures.count(target)) << file << ":" << marker.line << " names " << marker.owner
                                        << ", which is not a public function of the file";
    markers[target].push_back(marker);
  }
  for (const auto& [target, fixture] : fixtures) {
    ASSERT_TRUE(fixture.expected == "ESCAPE" || fixture.expected == "SAFE") << target;
    if (fixture.expected == "ESCAPE") {
      EXPECT_FALSE(markers[target].empty()) << target << " marks no line that starts its escape";
    }
  }

  const json report = RunJson(RunAllArgs(file));
  ASSERT_TRUE(report.is_object());

  std::set<std::string> reported;
  const int executions = kRepeats * static_cast<int>(kInputs.size());
  for (const json& entry : report.at("targets")) {
    const std::string target = entry.at("target").get<std::string>();
    SCOPED_TRACE(target);
    reported.insert(target);
    auto fixture = fixtures.find(target);
    if (fixture == fixtures.end()) {
      ADD_FAILURE() << "graphene ran " << target << ", which is not a public fixture function";
      continue;
    }
    const bool escapes = fixture->second.expected == "ESCAPE";
    const auto status = kExpectedStatus.find(target);
    const std::string expected_status = status == kExpectedStatus.end() ? "ok" : status->second;
    EXPECT_EQ(entry.at("expected"), fixture->second.expected);
    EXPECT_EQ(entry.at("verdict"), fixture->second.expected);
    EXPECT_EQ(entry.at("match"), true);
    EXPECT_EQ(entry.at("executions"), executions);
    ASSERT_THAT(entry.at("results"), SizeIs(executions));

    std::map<std::string, const Marker*> by_started_at;
    for (const Marker& marker : markers[target]) {
      by_started_at[file + ":" + std::to_string(marker.line)] = &marker;
    }
    for (const json& result : entry.at("results")) {
      SCOPED_TRACE(result.dump());
      EXPECT_EQ(result.at("status"), expected_status);
      EXPECT_EQ(result.at("escape_detected"), escapes);
      if (!escapes) {
        EXPECT_THAT(result.at("escapes"), SizeIs(0));
        // A marker in a SAFE function names a transient.
        for (const Marker& marker : markers[target]) {
          for (const std::string& kind : marker.kinds) {
            EXPECT_TRUE(
                HasEntry(result.at("transient"), kind, file + ":" + std::to_string(marker.line)))
                << "no transient " << kind << " started at line " << marker.line;
          }
        }
        continue;
      }
      // Every marked (line, kind) is reported...
      for (const Marker& marker : markers[target]) {
        for (const std::string& kind : marker.kinds) {
          EXPECT_TRUE(
              HasEntry(result.at("escapes"), kind, file + ":" + std::to_string(marker.line)))
              << "no " << kind << " escape started at line " << marker.line;
        }
      }
      // ...and every escape is attributed to a marked line, in the function
      // around it.
      for (const json& escape : result.at("escapes")) {
        const std::string kind = escape.at("kind").get<std::string>();
        const std::string started_at = escape.at("started_at").get<std::string>();
        auto marker = by_started_at.find(started_at);
        if (marker == by_started_at.end()) {
          ADD_FAILURE() << "escape " << escape.dump() << " is not attributed to a marked line";
          continue;
        }
        EXPECT_EQ(escape.at("started_in"), marker->second->enclosing) << escape.dump();
        const Marker& m = *marker->second;
        if (std::find(m.kinds.begin(), m.kinds.end(), kind) == m.kinds.end() &&
            std::find(m.optional.begin(), m.optional.end(), kind) == m.optional.end()) {
          ADD_FAILURE() << "escape " << escape.dump() << " has a kind line " << m.line
                        << " does not name";
        }
      }
    }
  }
  std::set<std::string> expected_targets;
  for (const auto& [target, fixture] : fixtures) expected_targets.insert(target);
  EXPECT_EQ(reported, expected_targets) << "discovery missed or invented targets";
  EXPECT_EQ(report.at("totals").at("mismatches"), 0);
  ExpectNothingLeft();
}

INSTANTIATE_TEST_SUITE_P(Fixtures, PatternsTest, ::testing::ValuesIn(kPatternFiles),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return std::filesystem::path(info.param).stem().string();
                         });

// With --strict, the thread that ends during the grace period is an escape,
// and nothing else in the safe patterns is.
class StrictPatternsTest : public PatternsTest {};

TEST_F(StrictPatternsTest, StrictCountsOnlyTheTransientThreadAsAnEscape) {
  std::vector<std::string> args = RunAllArgs("fixtures/python/no_escape_patterns.py");
  args.push_back("--strict");
  // The SAFE-expected transient target escapes: a mismatch, exit status 1.
  const json report = RunJson(args, /*expected_exit=*/1);
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(report.at("totals").at("mismatches"), 1);
  for (const json& entry : report.at("targets")) {
    const std::string target = entry.at("target").get<std::string>();
    SCOPED_TRACE(target);
    const bool transient = target == kTransientTarget;
    EXPECT_EQ(entry.at("verdict"), transient ? "ESCAPE" : "SAFE");
    EXPECT_EQ(entry.at("match"), !transient);
    for (const json& result : entry.at("results")) {
      SCOPED_TRACE(result.dump());
      EXPECT_EQ(result.at("escape_detected"), transient);
      if (!transient) continue;
      // The thread is reported, as a transient or as an escape.
      json reported = result.at("transient");
      for (const json& escape : result.at("escapes")) reported.push_back(escape);
      EXPECT_TRUE(std::any_of(reported.begin(), reported.end(), [](const json& e) {
        return e.at("kind") == "thread" && e.at("name") == "finishing-soon";
      }));
    }
  }
  EXPECT_TRUE(FindTarget(report, kTransientTarget).is_object());
  ExpectNothingLeft();
}

}  // namespace
}  // namespace graphene::e2e
