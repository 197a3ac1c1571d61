// Usage and input errors: graphene exits with status 2 and one line on
// stderr, starting "graphene: ", that names what is wrong. It neither
// crashes nor hangs nor prints a report.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/e2e_test_base.h"

namespace graphene::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Placeholders in `BadInput::args` and `BadInput::mentions`, replaced by
// paths inside the test's scratch folder.
constexpr const char* kRegularFile = "{regular_file}";  // an existing regular file
constexpr const char* kEmptyDir = "{empty_dir}";        // an existing empty folder

struct BadInput {
  std::string name;
  std::vector<std::string> args;
  std::string mentions;  // what the message must name
};

class BadInputTest : public GrapheneE2eTest, public ::testing::WithParamInterface<BadInput> {
 protected:
  std::string Expand(std::string text) {
    const std::pair<std::string, std::filesystem::path> placeholders[] = {
        {kRegularFile, scratch_dir() / "regular"}, {kEmptyDir, scratch_dir() / "empty"}};
    for (const auto& [placeholder, path] : placeholders) {
      for (size_t at; (at = text.find(placeholder)) != std::string::npos;) {
        text.replace(at, placeholder.size(), path.string());
      }
    }
    return text;
  }
};

TEST_P(BadInputTest, ExitsWithTwoAndOneLineNamingTheProblem) {
  std::ofstream(scratch_dir() / "regular") << "not a folder\n";
  std::filesystem::create_directory(scratch_dir() / "empty");
  std::vector<std::string> args;
  for (const std::string& arg : GetParam().args) args.push_back(Expand(arg));
  const std::string mentions = Expand(GetParam().mentions);

  const RunResult run = Run(args);
  SCOPED_TRACE(DescribeCommand(args));
  EXPECT_FALSE(run.timed_out);
  EXPECT_EQ(run.term_signal, 0) << "graphene crashed";
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_EQ(run.out, "") << "no report for a run that did not happen";
  EXPECT_THAT(run.err, StartsWith("graphene: "));
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << "one line:\n" << run.err;
  EXPECT_EQ(run.err.back(), '\n');
  EXPECT_THAT(run.err, HasSubstr(mentions));
}

const std::string kGood = "fixtures.python.no_escape:join_thread";

INSTANTIATE_TEST_SUITE_P(
    Errors, BadInputTest,
    ::testing::Values(
        BadInput{"MissingModule", {"no.such.module:f", "--input", "a"}, "no.such.module"},
        BadInput{
            "MissingFile", {"tests/e2e/data/nope.py:f", "--input", "a"}, "tests/e2e/data/nope.py"},
        BadInput{"SyntaxError",
                 {"tests/e2e/data/syntax_error.py:broken", "--input", "a"},
                 "syntax_error.py"},
        BadInput{
            "SyntaxErrorInRunAll", {"run-all", "--test-dir", "tests/e2e/data"}, "syntax_error.py"},
        BadInput{"MissingFunction",
                 {"fixtures.python.escape_threads:no_such_function", "--input", "a"},
                 "no_such_function"},
        BadInput{"NonCallable",
                 {"fixtures.python.escape_threads:_WORK_SECONDS", "--input", "a"},
                 "_WORK_SECONDS"},
        BadInput{"NoColon", {"justtext", "--input", "a"}, "justtext"},
        BadInput{"NoFunction", {"mod:", "--input", "a"}, "mod:"},
        BadInput{"NoModule", {":func", "--input", "a"}, ":func"},
        BadInput{"AnalyzeWithoutTarget", {"analyze", "--input", "a"}, "TARGET"},
        BadInput{"UnknownFlag", {"--frobnicate"}, "--frobnicate"},
        BadInput{"UnknownFlagAfterTarget", {kGood, "--input", "a", "--frobnicate"}, "--frobnicate"},
        BadInput{"UnknownFlagOfRunAll", {"run-all", "--frobnicate"}, "--frobnicate"},
        BadInput{"DatabaseInProc",
                 {kGood, "--input", "a", "--db", "/proc/graphene/x.db"},
                 "/proc/graphene/x.db"},
        BadInput{"DatabaseUnderAFile",
                 {kGood, "--input", "a", "--db", std::string(kRegularFile) + "/x.db"},
                 std::string(kRegularFile) + "/x.db"},
        BadInput{"MissingTestDir",
                 {"run-all", "--test-dir", "tests/e2e/data/no_such_dir"},
                 "tests/e2e/data/no_such_dir"},
        BadInput{"TestDirWithoutTargets", {"run-all", "--test-dir", kEmptyDir}, kEmptyDir},
        BadInput{"RepeatZero", {kGood, "--input", "a", "--repeat", "0"}, "--repeat"},
        BadInput{"FormatXml", {kGood, "--input", "a", "--format", "xml"}, "xml"},
        BadInput{"LanguageRust", {kGood, "--input", "a", "--language", "rust"}, "rust"},
        // The farm's commands.
        BadInput{"AgentWithoutCoordinator", {"agent"}, "--connect"},
        BadInput{"AgentAsNoSuchUser",
                 {"agent", "--connect", "tcp://127.0.0.1:1", "--user", "no-such-user-x", "--cache",
                  std::string(kEmptyDir) + "/cache"},
                 "no-such-user-x"},
        BadInput{"AgentKeyWithoutCoordinatorKey",
                 {"agent", "--connect", "tcp://127.0.0.1:1", "--key", kRegularFile},
                 "--coordinator-key"},
        BadInput{"AgentBadKeyFile",
                 {"agent", "--connect", "tcp://127.0.0.1:1", "--key", kRegularFile,
                  "--coordinator-key", kRegularFile},
                 kRegularFile},
        BadInput{"CoordinatorHeartbeatsInverted",
                 {"coordinator", "--heartbeat-ms", "500", "--heartbeat-timeout-ms", "200"},
                 "--heartbeat-timeout-ms"},
        BadInput{
            "CoordinatorBadEndpoint",
            {"coordinator", "--bind", "nonsense://x", "--db", std::string(kEmptyDir) + "/c.db"},
            "nonsense://x"},
        BadInput{"StatusWithoutCoordinator", {"status"}, "--coordinator"},
        BadInput{
            "AttachWithoutCampaign", {"attach", "--coordinator", "tcp://127.0.0.1:1"}, "campaign"},
        BadInput{"KeygenPathInName", {"keygen", "a/b", "--dir", kEmptyDir}, "a/b"},
        BadInput{"StatsSinceNotATime", {"stats", "--since", "yesterday"}, "yesterday"},
        BadInput{"ReportSinceNoSuchDate",
                 {"report", "--html", std::string(kEmptyDir) + "/r.html", "--since", "2026-02-30"},
                 "2026-02-30"},
        BadInput{
            "SubmissionTooLarge",
            {"analyze", "json:dumps", "--generate", "100000", "--coordinator", "tcp://127.0.0.1:1"},
            "more than the 64 MB"}),
    [](const ::testing::TestParamInfo<BadInput>& info) { return info.param.name; });

}  // namespace
}  // namespace graphene::e2e
