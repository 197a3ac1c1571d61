// --junit and --sarif: the report files a campaign writes besides stdout, for
// CI systems and code-scanning tools.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "tests/e2e/e2e_test_base.h"

namespace graphene::e2e {
namespace {

using nlohmann::json;

constexpr const char* kDataFile = "tests/e2e/data/mismatch.py";

std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The line of `kDataFile` that starts the thread of claims_safe_but_escapes.
int ThreadStartLine() {
  std::ifstream in(std::filesystem::path(kSourceDir) / kDataFile);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.find("threading.Thread(") != std::string::npos) return number;
  }
  return 0;
}

class ReportsTest : public GrapheneE2eTest {};

TEST_F(ReportsTest, JunitAndSarifOfAMismatch) {
  const std::string junit = (scratch_dir() / "report.xml").string();
  const std::string sarif = (scratch_dir() / "report.sarif").string();
  const RunResult run = Run({std::string(kDataFile) + ":claims_safe_but_escapes",
                             std::string(kDataFile) + ":claims_escape_but_is_clean", "--input", "a",
                             "--repeat", "2", "--junit", junit, "--sarif", sarif, "--quiet"});
  EXPECT_EQ(run.exit_code, 1) << run.err;

  const std::string xml = ReadText(junit);
  EXPECT_EQ(xml.rfind("<?xml", 0), 0u) << xml;
  EXPECT_EQ(Count(xml, "<testsuite "), 1u) << xml;
  EXPECT_NE(xml.find("tests=\"2\" failures=\"2\" errors=\"0\""), std::string::npos) << xml;
  EXPECT_EQ(Count(xml, "<testcase "), 2u) << xml;
  EXPECT_EQ(Count(xml, "<failure "), 2u) << xml;
  EXPECT_NE(xml.find("classname=\"tests/e2e/data/mismatch.py\" "
                     "name=\"tests/e2e/data/mismatch.py:claims_safe_but_escapes\""),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("verdict ESCAPE, but the docstring expects SAFE"), std::string::npos) << xml;
  EXPECT_NE(xml.find("thread &apos;mismatch-thread&apos; started at " + std::string(kDataFile) +
                     ":" + std::to_string(ThreadStartLine())),
            std::string::npos)
      << xml;

  json log = json::parse(ReadText(sarif), nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(log.is_object()) << ReadText(sarif);
  EXPECT_EQ(log["version"], "2.1.0");
  ASSERT_EQ(log["runs"].size(), 1u);
  EXPECT_EQ(log["runs"][0]["tool"]["driver"]["name"], "graphene");
  const json& results = log["runs"][0]["results"];
  ASSERT_EQ(results.size(), 1u) << results.dump(2);  // the clean target has nothing to show
  EXPECT_EQ(results[0]["ruleId"], "thread");
  EXPECT_EQ(results[0]["level"], "error");
  const json& where = results[0]["locations"][0]["physicalLocation"];
  EXPECT_EQ(where["artifactLocation"]["uri"], kDataFile);
  EXPECT_EQ(where["region"]["startLine"], ThreadStartLine());
  EXPECT_GT(ThreadStartLine(), 0);
}

TEST_F(ReportsTest, AReportThatCannotBeWrittenExitsWithTwo) {
  const std::string junit = (scratch_dir() / "no-such-folder" / "report.xml").string();
  const RunResult run = Run({"fixtures/python/no_escape.py:join_thread", "--input", "a", "--repeat",
                             "1", "--junit", junit, "--quiet"});
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_NE(run.err.find("cannot write the JUnit report to '" + junit + "'"), std::string::npos)
      << run.err;
}

}  // namespace
}  // namespace graphene::e2e
