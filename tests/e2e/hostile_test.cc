// Hostile targets (fixtures/hostile): code that crashes, exits, hangs, stops
// itself, kills graphene's supervisor, closes every fd, reads stdin, floods
// output, returns the unprintable, recurses without end, allocates far too
// much memory, or starts hundreds of processes. Each must end as exactly one
// recorded result with the right status and a clear error text, with what it
// left behind reported as escapes, with the agent still serving the next job,
// and with no process left running afterwards.
//
// "Nothing left" is checked as in cleanup_test.cc: this test process is a
// child subreaper, so orphans of graphene's runs are re-parented to it, and
// every process that inherited the test's environment marker counts too.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/fixture_catalog.h"
#include "tests/e2e/leftover_check.h"
#include "tests/e2e/process_table.h"
#include "tests/e2e/result_database.h"

namespace graphene::e2e {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr const char* kHostileDir = "fixtures/hostile";
constexpr const char* kTruncationMarker = "[graphene: output truncated, ";
// What sizes.py:huge_output writes: 10 MiB to stdout and 1 MiB to stderr.
constexpr size_t kHugeOutputBytes = 11 * 1024 * 1024;
// The output graphene keeps of an execution, before its truncation marker.
constexpr size_t kMaxKeptOutput = 64 * 1024;

// What is expected of a hostile target that is run alone.
struct HostileCase {
  std::string name;      // the test's parameter name
  std::string target;    // relative to kHostileDir: "crashes.py:segfault"
  std::string status;    // ok, exception, crash, timeout
  std::string error;     // must appear in the error text (case-insensitive); "" means no error
  std::string escape;    // "" (nothing escapes), "thread" or "process"
  int min_escapes = 0;   // at least this many escapes of that kind
  int max_escapes = -1;  // at most this many escapes of any kind; -1: no bound
  std::vector<std::string> extra_args;  // --timeout, --memory-limit, ...
};

// Targets that hang get a short timeout; the others a long one, so that a
// busy machine does not turn them into timeouts (they never wait for it).
const std::vector<std::string> kHangs = {"--timeout", "1"};
const std::vector<std::string> kQuick = {"--timeout", "20"};

std::vector<std::string> With(std::vector<std::string> base, const std::vector<std::string>& more) {
  base.insert(base.end(), more.begin(), more.end());
  return base;
}

const std::vector<HostileCase>& HostileCases() {
  static const std::vector<HostileCase> cases = {
      {"segfault", "crashes.py:segfault", "crash", "SIGSEGV", "", 0, 0, kQuick},
      {"abort", "crashes.py:abort", "crash", "SIGABRT", "", 0, 0, kQuick},
      {"os_exit", "crashes.py:exit_without_cleanup", "crash", "status 3", "", 0, 0, kQuick},
      {"sys_exit", "exceptions.py:exit_with_status_2", "exception", "SystemExit", "", 0, 0, kQuick},
      {"keyboard_interrupt", "exceptions.py:raise_keyboard_interrupt", "exception",
       "KeyboardInterrupt", "", 0, 0, kQuick},
      {"base_exception", "exceptions.py:raise_base_exception_subclass", "exception",
       "NotAnException", "", 0, 0, kQuick},
      {"recursion", "exceptions.py:recurse_forever", "exception", "RecursionError", "", 0, 0,
       kQuick},
      {"busy_loop", "hangs.py:busy_loop", "timeout", "timeout", "", 0, 0, kHangs},
      {"sleep_forever", "hangs.py:sleep_forever", "timeout", "timeout", "", 0, 0, kHangs},
      {"sigstop", "hangs.py:stop_itself", "timeout", "timeout", "", 0, 0, kHangs},
      // The supervisor is gone, but the `sleep 30` it started is still reported.
      {"kill_parent", "sabotage.py:kill_parent", "crash", "supervisor", "process", 1, -1, kQuick},
      {"close_every_fd", "sabotage.py:close_every_fd_then_escape", "ok", "", "thread", 1, 1,
       kQuick},
      // Reading must not block: a hang would show as a timeout.
      {"read_stdin", "sabotage.py:read_stdin", "ok", "", "", 0, 0, {"--timeout", "10"}},
      {"huge_return_value", "sizes.py:huge_return_value", "ok", "", "", 0, 0, kQuick},
      {"huge_output", "sizes.py:huge_output", "ok", "", "", 0, 0, kQuick},
      {"unprintable_return_value", "sizes.py:unprintable_return_value", "ok", "", "", 0, 0, kQuick},
      {"allocate_64_gib", "sizes.py:allocate_64_gib", "exception", "MemoryError", "", 0, 0, kQuick},
      // 1 GiB fits in the default limit (4096 MB) but not in 256 MB.
      {"allocate_1_gib", "sizes.py:allocate_1_gib", "ok", "", "", 0, 0, kQuick},
      {"allocate_1_gib_over_memory_limit", "sizes.py:allocate_1_gib", "exception", "MemoryError",
       "", 0, 0, With(kQuick, {"--memory-limit", "256"})},
      // The limit (default 256, or --max-processes) stops the target before it has all 500.
      {"start_500_children", "children.py:start_500_children", "crash", "process limit", "process",
       1, 499, kQuick},
      {"start_500_children_max_50", "children.py:start_500_children", "crash", "process limit",
       "process", 1, 100, With(kQuick, {"--max-processes", "50"})},
      {"children_ignoring_sigterm", "children.py:children_ignoring_sigterm", "ok", "", "process", 3,
       3, kQuick},
      {"children_in_new_session", "children.py:children_in_new_session", "ok", "", "process", 3, 3,
       kQuick},
      // The limit must stop the bomb near 256 processes, not at its own bound of 2048.
      {"fork_bomb", "children.py:bounded_fork_bomb", "crash", "process limit", "process", 1, 512,
       kQuick},
  };
  return cases;
}

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// gtest prints a case by its name.
void PrintTo(const HostileCase& c, std::ostream* out) { *out << c.name; }

// A result in a few lines, for failure messages: its status, error text and
// how many escapes of which kind it has (a fork bomb's JSON is megabytes).
std::string Summarize(const json& result) {
  std::map<std::string, int> kinds;
  for (const json& escape : result.at("escapes")) ++kinds[escape.at("kind").get<std::string>()];
  std::string text = "result: status " + result.at("status").dump() + ", error " +
                     result.value("error", "").substr(0, 600) + ", escapes:";
  for (const auto& [kind, count] : kinds) text += " " + std::to_string(count) + " " + kind;
  if (kinds.empty()) text += " none";
  return text;
}

// Checks one result of a hostile target against what its case expects.
void ExpectResultMatches(const json& result, const HostileCase& c) {
  SCOPED_TRACE(Summarize(result));
  EXPECT_EQ(result.at("status"), c.status);
  const std::string error = result.value("error", "");
  if (c.error.empty()) {
    EXPECT_EQ(error, "") << "a result with status " << c.status << " needs no error text";
  } else {
    EXPECT_THAT(Lower(error), HasSubstr(Lower(c.error)));
  }
  const json& escapes = result.at("escapes");
  EXPECT_EQ(result.at("escape_detected"), !escapes.empty());
  if (c.escape.empty()) {
    EXPECT_THAT(escapes, SizeIs(0)) << "the target starts nothing";
    return;
  }
  int of_kind = 0;
  for (const json& escape : escapes) {
    if (escape.at("kind") == c.escape) ++of_kind;
    if (escape.at("kind") == "process") {
      EXPECT_TRUE(escape.at("pid").is_number_integer()) << escape.dump();
    }
  }
  EXPECT_GE(of_kind, c.min_escapes) << "escapes of kind " << c.escape;
  if (c.max_escapes >= 0) {
    EXPECT_LE(static_cast<int>(escapes.size()), c.max_escapes);
  }
}

class HostileTest : public LeftoverCheckingTest {
 protected:
  // Runs graphene with `args` plus the JSON format and the test's database,
  // checks its exit status, and returns its report (null if it printed none).
  json RunReport(const std::vector<std::string>& args, int expected_exit) {
    std::vector<std::string> full = args;
    full.insert(full.end(), {"--format", "json", "--db", db_path(), "--quiet"});
    const RunResult run = Run(full);
    EXPECT_EQ(run.exit_code, expected_exit)
        << DescribeCommand(full) << " (signal " << run.term_signal << "); stderr:\n"
        << run.err.substr(0, 4000);
    json report = json::parse(run.out, nullptr, /*allow_exceptions=*/false);
    if (!report.is_object()) {
      ADD_FAILURE() << DescribeCommand(full) << " printed no JSON object on stdout:\n"
                    << run.out.substr(0, 4000);
      return nullptr;
    }
    return report;
  }
};

class HostileTargetTest : public HostileTest, public ::testing::WithParamInterface<HostileCase> {};

TEST_P(HostileTargetTest, IsRecordedWithItsStatusAndLeavesNothingRunning) {
  const HostileCase& c = GetParam();
  const std::string target = std::string(kHostileDir) + "/" + c.target;
  const json report = RunReport(
      With({"analyze", target, "--input", "a", "--repeat", "1", "--grace", "100"}, c.extra_args),
      /*expected_exit=*/0);
  if (report.is_object()) {
    const json entry = FindTarget(report, target);
    ASSERT_TRUE(entry.is_object()) << report.dump().substr(0, 4000);
    EXPECT_EQ(entry.at("errors"), 0) << "graphene itself failed to run the target";
    ASSERT_THAT(entry.at("results"), SizeIs(1));
    ExpectResultMatches(entry.at("results")[0], c);
    EXPECT_EQ(entry.at("verdict").get<std::string>(), c.escape.empty() ? "SAFE" : "ESCAPE");
    EXPECT_EQ(entry.at("match"), true) << "the docstring's expectation";
  }
  ExpectNothingLeft();
}

INSTANTIATE_TEST_SUITE_P(Hostile, HostileTargetTest, ::testing::ValuesIn(HostileCases()),
                         [](const ::testing::TestParamInfo<HostileCase>& info) {
                           return info.param.name;
                         });

TEST_F(HostileTest, HugeOutputIsStoredTruncatedWithAMarker) {
  const std::string target = std::string(kHostileDir) + "/sizes.py:huge_output";
  const json report = RunReport(
      {"analyze", target, "--input", "a", "--repeat", "1", "--grace", "100", "--timeout", "20"},
      /*expected_exit=*/0);
  ASSERT_TRUE(report.is_object());

  ResultDatabase db(db_path());
  ASSERT_TRUE(db.ok()) << db.error();
  const auto rows = db.Query("SELECT status, output FROM executions");
  ASSERT_TRUE(rows.has_value()) << db.error();
  ASSERT_THAT(*rows, SizeIs(1));
  EXPECT_EQ((*rows)[0][0], "ok");
  const std::string& output = (*rows)[0][1];
  const size_t marker = output.rfind(kTruncationMarker);
  ASSERT_NE(marker, std::string::npos)
      << "no truncation marker in " << output.size() << " bytes of output ending with:\n"
      << output.substr(output.size() - std::min<size_t>(output.size(), 200));
  // "...kept output\n[graphene: output truncated, N more bytes]": the kept
  // output and the N dropped bytes add up to everything the target wrote.
  const std::string tail = output.substr(marker + std::string(kTruncationMarker).size());
  EXPECT_THAT(tail, HasSubstr(" more bytes]"));
  const size_t dropped = std::stoull(tail);
  const size_t kept = marker > 0 && output[marker - 1] == '\n' ? marker - 1 : marker;
  EXPECT_LE(kept, kMaxKeptOutput);
  EXPECT_EQ(kept + dropped, kHugeOutputBytes) << "kept " << kept << ", dropped " << dropped;
  EXPECT_EQ(output.substr(0, 4), "yyyy") << "the output starts with what the target printed";
  ExpectNothingLeft();
}

// Inputs are bytes, not necessarily UTF-8: the target gets them as text that
// encodes back to the same bytes, and the database keeps them exactly.
TEST_F(HostileTest, InputsThatAreNotUtf8ReachTheTargetAndTheDatabaseIntact) {
  const std::string target = "tests/e2e/data/byte_inputs.py:escapes_on_exact_bytes";
  const std::string raw = "\xff\xfe raw";
  const json report = RunReport(
      {"analyze", target, "--input", raw, "--input", "plain", "--repeat", "1", "--grace", "100"},
      /*expected_exit=*/0);
  ASSERT_TRUE(report.is_object());
  const json entry = FindTarget(report, target);
  ASSERT_TRUE(entry.is_object());
  EXPECT_EQ(entry.at("errors"), 0);
  EXPECT_EQ(entry.at("executions"), 2);
  EXPECT_EQ(entry.at("escapes"), 1) << "the target saw exactly the bytes given";

  ResultDatabase db(db_path());
  ASSERT_TRUE(db.ok()) << db.error();
  const auto rows = db.Query(
      "SELECT hex(i.value), e.escape_detected FROM executions AS e "
      "JOIN inputs AS i ON i.id = e.input_id ORDER BY e.job_index");
  ASSERT_TRUE(rows.has_value()) << db.error();
  ASSERT_THAT(*rows, SizeIs(2));
  EXPECT_EQ((*rows)[0][0], "FFFE20726177");
  EXPECT_EQ((*rows)[0][1], "1");
  ExpectNothingLeft();
}

// Every hostile target in one campaign on a few slots (so that each slot
// serves several of them in turn), followed by ordinary fixtures: each job gets exactly one result,
// each hostile result has the status it has alone, the ordinary targets that run after them are
// classified as usual (the agent kept serving jobs), and nothing is left.
TEST_F(HostileTest, OneCampaignOfEveryHostileTargetThenOrdinaryTargets) {
  const std::vector<FixtureFunction> fixtures = ScanFixtureFolder(kSourceDir, kHostileDir);
  // The default-option case of each function says what it does in a campaign.
  std::map<std::string, HostileCase> by_target;
  for (const HostileCase& c : HostileCases()) {
    const std::string target = std::string(kHostileDir) + "/" + c.target;
    bool default_options = std::none_of(
        c.extra_args.begin(), c.extra_args.end(),
        [](const std::string& arg) { return arg == "--memory-limit" || arg == "--max-processes"; });
    if (default_options && !by_target.count(target)) by_target[target] = c;
  }
  ASSERT_GE(fixtures.size(), 20u) << "the hostile fixtures were not found";
  std::vector<std::string> args = {"analyze"};
  for (const FixtureFunction& fixture : fixtures) {
    EXPECT_TRUE(by_target.count(fixture.target))
        << fixture.target << " has no expectation in hostile_test.cc";
    args.push_back(fixture.target);
  }
  const std::set<std::string> slow_targets = {
      "children.py:start_500_children", "children.py:bounded_fork_bomb",
      "sizes.py:huge_return_value",     "sizes.py:huge_output",
      "sizes.py:allocate_1_gib",        "exceptions.py:recurse_forever"};
  const std::string daemon = "fixtures/python/escape_threads.py:spawn_daemon_thread";
  const std::string joined = "fixtures/python/no_escape.py:join_thread";
  args.insert(args.end(), {daemon, joined});
  constexpr int kRepeat = 1;
  args.insert(args.end(), {"--input", "a", "--repeat", std::to_string(kRepeat), "--timeout", "5",
                           "--grace", "100", "--slots", "4"});
  const json report = RunReport(args, /*expected_exit=*/0);
  ASSERT_TRUE(report.is_object());

  const size_t targets = fixtures.size() + 2;
  const int64_t jobs = static_cast<int64_t>(targets) * kRepeat;
  ASSERT_THAT(report.at("targets"), SizeIs(targets));
  EXPECT_EQ(report.at("totals").at("executions"), jobs);
  EXPECT_EQ(report.at("totals").at("errors"), 0);
  for (const FixtureFunction& fixture : fixtures) {
    SCOPED_TRACE(fixture.target);
    const json entry = FindTarget(report, fixture.target);
    ASSERT_TRUE(entry.is_object());
    auto c = by_target.find(fixture.target);
    if (c == by_target.end()) continue;
    ASSERT_THAT(entry.at("results"), SizeIs(kRepeat));
    for (const json& result : entry.at("results")) {
      // Run alone these finish in well under a second, but next to a fork
      // bomb on a busy machine they may not within --timeout.
      if (slow_targets.count(c->second.target) && result.at("status") == "timeout") {
        EXPECT_THAT(result.value("error", ""), HasSubstr("timeout")) << Summarize(result);
        continue;
      }
      ExpectResultMatches(result, c->second);
    }
  }

  for (const std::string& target : {daemon, joined}) {
    SCOPED_TRACE(target);
    const json entry = FindTarget(report, target);
    ASSERT_TRUE(entry.is_object());
    EXPECT_EQ(entry.at("match"), true);
    EXPECT_EQ(entry.at("verdict").get<std::string>(), target == daemon ? "ESCAPE" : "SAFE");
    ASSERT_THAT(entry.at("results"), SizeIs(kRepeat));
    for (const json& result : entry.at("results")) {
      SCOPED_TRACE(result.dump());
      EXPECT_EQ(result.at("status"), "ok");
      if (target == daemon) {
        ASSERT_THAT(result.at("escapes"), SizeIs(1));
        EXPECT_EQ(result.at("escapes")[0].at("kind"), "thread");
        EXPECT_EQ(result.at("escapes")[0].at("daemon"), true);
      } else {
        EXPECT_THAT(result.at("escapes"), SizeIs(0));
      }
    }
  }

  // Exactly one stored result per job: as many executions as jobs, each job
  // index once.
  ResultDatabase db(db_path());
  ASSERT_TRUE(db.ok()) << db.error();
  EXPECT_EQ(db.QueryInt("SELECT total_jobs FROM campaigns"), jobs);
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM executions"), jobs);
  EXPECT_EQ(db.QueryInt("SELECT count(DISTINCT job_index) FROM executions"), jobs);
  EXPECT_EQ(db.QueryInt("SELECT count(*) FROM campaigns WHERE status = 'done'"), 1);
  ExpectNothingLeft();
}

}  // namespace
}  // namespace graphene::e2e
