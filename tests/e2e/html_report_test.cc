// `graphene report --html` over a history built on purpose, and the page it
// writes loaded in headless Chromium: it must load without a script error or
// console message and show the database's data as `graphene stats` does.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/history_fixture.h"

namespace graphene::e2e {
namespace {

using ::testing::AllOf;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

// Where the Debian package `chromium` puts it (or a `chromium` in PATH).
std::string FindChromium() {
  std::string path = ::getenv("PATH") ? ::getenv("PATH") : "/usr/bin:/bin";
  std::stringstream folders(path);
  for (std::string folder; std::getline(folders, folder, ':');) {
    for (const char* name : {"chromium", "chromium-browser"}) {
      const std::filesystem::path candidate = std::filesystem::path(folder) / name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
  }
  return "";
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The element that starts with `opening` (e.g. `<tr data-target="x"`), up to
// its `closing` tag; empty if there is none.
std::string Element(const std::string& page, const std::string& opening,
                    const std::string& closing) {
  const size_t begin = page.find(opening);
  if (begin == std::string::npos) return "";
  const size_t end = page.find(closing, begin);
  return page.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

// Chromium's log lines about the page's console (messages, uncaught errors,
// refused loads).
std::vector<std::string> ConsoleLines(const std::string& log) {
  std::vector<std::string> lines;
  std::stringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.find(":CONSOLE") != std::string::npos || line.find("Uncaught") != std::string::npos) {
      lines.push_back(line);
    }
  }
  return lines;
}

constexpr const char* kNoChromium =
    "headless Chromium is not installed (Debian package chromium; "
    "`bash scripts/setup.sh --tests` installs it)";

// A count's table cell as the page has it.
std::string CountCell(const std::string& css, const nlohmann::json& count) {
  return "class=\"num " + css + "\" data-value=\"" + count.dump() + "\">" + count.dump() + "<";
}

// The page's own script ran to its end, its error box stayed empty, and
// Chromium logged nothing from the page's console.
void ExpectScriptRanWithoutErrors(const std::string& dom, const std::string& log) {
  EXPECT_THAT(dom, HasSubstr("<body data-ready=\"1\">"));
  const std::string errors = Element(dom, "<p id=\"script-errors\"", "</p>");
  EXPECT_THAT(errors, AllOf(HasSubstr("hidden"), EndsWith(">"))) << errors;
  EXPECT_THAT(ConsoleLines(log), IsEmpty()) << log;
}

class HtmlReportTest : public HistoryTest {
 protected:
  std::string page_path() const { return (scratch_dir() / "report.html").string(); }

  // Loads `page` (an absolute path) in headless Chromium with a fresh profile
  // and home in the scratch folder, lets its scripts run, and returns the DOM
  // it ends with; Chromium's log goes to `log`. Chromium's processes carry
  // the run marker and are this test's descendants (LeftoverCheckingTest), so
  // whatever of them is still running afterwards is found and killed, and
  // none may survive.
  std::string DumpDom(const std::string& chromium, const std::string& page, std::string& log) {
    const std::filesystem::path home = scratch_dir() / "chromium-home";
    std::filesystem::create_directories(home);
    RunOptions options;
    options.env = {{"HOME", home.string()},
                   {"XDG_CONFIG_HOME", home.string()},
                   {"XDG_CACHE_HOME", home.string()},
                   {kRunMarkerVariable, run_marker()}};
    options.deadline = std::chrono::seconds(120);
    const RunResult run = RunProgram(
        chromium,
        {"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--user-data-dir=" + (home / "profile").string(), "--enable-logging=stderr", "--v=0",
         "--virtual-time-budget=5000", "--dump-dom", "file://" + page},
        options);
    log = run.err;
    EXPECT_EQ(run.exit_code, 0) << "chromium failed; its log:\n" << run.err;
    // Chromium's helpers exit just after it; give them a moment, then kill
    // what is left, so nothing outlives the test either way.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!LeftBehind().empty() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    for (const ProcessEntry& entry : LeftBehind()) ::kill(entry.pid, SIGKILL);
    ExpectNothingLeft();
    return run.out;
  }
};

TEST_F(HtmlReportTest, PageLoadsInChromiumAndShowsTheDatabase) {
  const RunResult report = Run({"report", "--html", page_path()});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  EXPECT_THAT(report.out, IsEmpty());
  EXPECT_THAT(report.err, IsEmpty());
  const std::string chromium = FindChromium();
  if (chromium.empty()) GTEST_SKIP() << kNoChromium;
  std::string log;
  const std::string dom = DumpDom(chromium, page_path(), log);
  ASSERT_THAT(dom, HasSubstr("</html>")) << "no DOM dumped; chromium's log:\n" << log;

  ExpectScriptRanWithoutErrors(dom, log);
  EXPECT_THAT(dom, HasSubstr("5 of 5 targets shown"));

  // Each target as `graphene stats` sees it.
  const nlohmann::json stats = Json({"stats"});
  ASSERT_EQ(stats.size(), 5u);
  uint64_t executions = 0, escapes = 0;
  for (const nlohmann::json& row : stats) {
    const std::string name = row["target"];
    executions += row["executions"].get<uint64_t>();
    escapes += row["escapes"].get<uint64_t>();
    const std::string tr = Element(dom, "<tr data-target=\"" + name + "\"", "</tr>");
    const std::string verdict = row["verdict"];
    EXPECT_THAT(
        tr,
        AllOf(HasSubstr("data-verdict=\"" + verdict + "\""), HasSubstr(">" + verdict + "</span>"),
              HasSubstr(CountCell("executions", row["executions"])),
              HasSubstr(CountCell("escapes", row["escapes"])), HasSubstr("class=\"rate-bar\"")))
        << name;
    const std::string chart =
        Element(dom, "<figure class=\"history\" data-target=\"" + name + "\"", "</figure>");
    EXPECT_THAT(chart, HasSubstr("data-points=\"3\"")) << name;
  }
  EXPECT_THAT(dom, HasSubstr("id=\"summary-campaigns\">3<"));
  EXPECT_THAT(dom, HasSubstr("id=\"summary-targets\">5<"));
  EXPECT_THAT(dom, HasSubstr("id=\"summary-executions\">" + std::to_string(executions) + "<"));
  EXPECT_THAT(dom, HasSubstr("id=\"summary-escapes\">" + std::to_string(escapes) + "<"));
  EXPECT_THAT(dom, HasSubstr("id=\"summary-verdict-FLAKY\">2<"));
  EXPECT_THAT(dom, HasSubstr("id=\"summary-verdict-INPUT-DEPENDENT\">1<"));

  // The flaky section lists the input-dependent target's escaping input, and
  // the chart of the target that changed marks the change.
  const std::string long_inputs = Element(
      dom,
      "<div class=\"flaky-target\" data-target=\"" + HistoryTarget("escapes_on_long_inputs") + "\"",
      "</div>");
  EXPECT_THAT(long_inputs, HasSubstr("<code class=\"input\">a much longer input</code>"));
  EXPECT_THAT(long_inputs, Not(HasSubstr(">short<")));
  const std::string flagged = Element(
      dom,
      "<figure class=\"history\" data-target=\"" + HistoryTarget("escapes_while_flagged") + "\"",
      "</figure>");
  EXPECT_THAT(flagged,
              AllOf(HasSubstr("data-changes=\"1\""), HasSubstr("class=\"point change up\"")));
  EXPECT_THAT(Element(dom, "<table id=\"campaigns-table\"", "</table>"),
              AllOf(HasSubstr("data-campaign=\"1\""), HasSubstr("data-campaign=\"3\"")));
}

TEST_F(HtmlReportTest, HostileDatabasePathAndPatternStayInertOnAnEmptyPage) {
  // The database under a name that is markup, and a pattern that is a script
  // and matches no target.
  const std::filesystem::path hostile = scratch_dir() / "<img src=x onerror=alert(1)>.db";
  std::filesystem::copy_file(db_path(), hostile);
  const std::string pattern = "*</script><script>alert(2)</script>*";
  const RunResult report =
      Run({"report", "--html", page_path(), pattern, "--db", hostile.string()});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  const std::string page = ReadFile(page_path());
  EXPECT_THAT(page, Not(HasSubstr("<img"))) << page;
  EXPECT_THAT(page, Not(HasSubstr("<script>alert"))) << page;

  const std::string chromium = FindChromium();
  if (chromium.empty()) GTEST_SKIP() << kNoChromium;
  std::string log;
  const std::string dom = DumpDom(chromium, page_path(), log);
  ExpectScriptRanWithoutErrors(dom, log);
  EXPECT_THAT(dom, HasSubstr("&lt;img src=x onerror=alert(1)&gt;.db"));
  EXPECT_THAT(dom, HasSubstr("&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;"));
  EXPECT_THAT(dom, HasSubstr("id=\"summary-targets\">0<"));
  EXPECT_THAT(dom, HasSubstr("0 of 0 targets shown"));
  EXPECT_THAT(dom, HasSubstr("No executions match the selection."));
}

TEST_F(HtmlReportTest, FiltersSelectTargetsAndCampaigns) {
  const RunResult report = Run({"report", "--html", page_path(), "*never*", "--campaign", "2"});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  const std::string page = ReadFile(page_path());
  EXPECT_EQ(Element(page, "<tr data-target=\"" + HistoryTarget("always_escapes"), "</tr>"), "");
  EXPECT_THAT(Element(page, "<tr data-target=\"" + HistoryTarget("never_escapes"), "</tr>"),
              HasSubstr("class=\"num executions\" data-value=\"20\">20<"));
  EXPECT_THAT(page, HasSubstr("id=\"summary-campaigns\">1<"));
  EXPECT_THAT(page, HasSubstr("data-points=\"1\""));
  EXPECT_THAT(Element(page, "<table id=\"campaigns-table\"", "</table>"),
              AllOf(HasSubstr("data-campaign=\"2\""), Not(HasSubstr("data-campaign=\"1\""))));

  // A campaign that does not exist is a usage error.
  const RunResult missing = Run({"report", "--html", page_path(), "--campaign", "99"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("campaign 99"));
}

TEST_F(HtmlReportTest, BadOptionsAndUnwritablePathsAreOneLineErrors) {
  const RunResult no_html = Run({"report"});
  EXPECT_EQ(no_html.exit_code, 2);
  EXPECT_THAT(no_html.err, AllOf(StartsWith("graphene: "), HasSubstr("--html")));

  const RunResult no_db =
      Run({"report", "--html", page_path(), "--db", (scratch_dir() / "none.db").string()});
  EXPECT_EQ(no_db.exit_code, 2);
  EXPECT_THAT(no_db.err, HasSubstr("no results database at"));
  EXPECT_FALSE(std::filesystem::exists(scratch_dir() / "none.db"));
  EXPECT_FALSE(std::filesystem::exists(page_path()));

  const std::string no_folder = (scratch_dir() / "no" / "such" / "report.html").string();
  const RunResult missing_folder = Run({"report", "--html", no_folder});
  EXPECT_EQ(missing_folder.exit_code, 2);
  EXPECT_EQ(missing_folder.err,
            "graphene: cannot write " + no_folder + ": No such file or directory\n");
  const RunResult folder = Run({"report", "--html", scratch_dir().string()});
  EXPECT_EQ(folder.exit_code, 2);
  EXPECT_THAT(folder.err, StartsWith("graphene: cannot write " + scratch_dir().string() + ": "));

  // Written twice, the page is replaced, and no temporary file is left.
  ASSERT_EQ(Run({"report", "--html", page_path()}).exit_code, 0);
  ASSERT_EQ(Run({"report", "--html", page_path(), "*never*"}).exit_code, 0);
  EXPECT_THAT(ReadFile(page_path()), HasSubstr("id=\"summary-targets\">1<"));
  for (const auto& entry : std::filesystem::directory_iterator(scratch_dir())) {
    EXPECT_THAT(entry.path().filename().string(), Not(StartsWith(".")))
        << "a temporary file was left: " << entry.path();
  }
}

}  // namespace
}  // namespace graphene::e2e
