// The HTML report page: what it shows for given data, that hostile names and
// inputs stay inert, and that an empty database still gives a whole page.
#include "cli/html_report.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/svg_chart.h"

namespace graphene {
namespace {

using ::testing::AllOf;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

size_t Count(const std::string& text, const std::string& what) {
  size_t count = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++count;
  return count;
}

// The target's own table row.
std::string RowOf(const std::string& page, const std::string& shown_name) {
  const size_t begin = page.find("<tr data-target=\"" + shown_name + "\"");
  if (begin == std::string::npos) return "";
  return page.substr(begin, page.find("</tr>", begin) - begin);
}

HtmlReportTarget Target(const std::string& name, std::vector<InputHistory> inputs,
                        std::vector<history::RatePoint> points = {}) {
  HtmlReportTarget target{.name = name,
                          .totals = Totals({.target = name, .inputs = inputs}),
                          .escaping_inputs = {},
                          .history = points,
                          .changes = history::DetectChanges(points)};
  for (const InputHistory& input : inputs) {
    if (input.escapes > 0) target.escaping_inputs.push_back(input);
  }
  return target;
}

InputHistory Input(const std::string& target, const std::string& input, uint64_t executions,
                   uint64_t escapes) {
  InputHistory row;
  row.target = target;
  row.input = input;
  row.executions = executions;
  row.escapes = escapes;
  return row;
}

HtmlReportData Sample() {
  HtmlReportData data;
  data.database = "/tmp/results.db";
  data.generated_at = "2026-11-25T10:00:00Z";
  data.targets.push_back(Target(
      "a.py:half", {Input("a.py:half", "x", 100, 50)},
      {{.campaign = 1, .created_at = "2026-11-01T00:00:00Z", .executions = 50, .escapes = 0},
       {.campaign = 2, .created_at = "2026-11-02T00:00:00Z", .executions = 50, .escapes = 50}}));
  data.targets.push_back(Target(
      "a.py:never", {Input("a.py:never", "x", 30, 0)},
      {{.campaign = 2, .created_at = "2026-11-02T00:00:00Z", .executions = 30, .escapes = 0}}));
  CampaignRecord& campaign = data.campaigns.emplace_back();
  campaign.id = 2;
  campaign.created_at = "2026-11-02T00:00:00Z";
  campaign.command = "graphene run-all";
  campaign.git_commit = "abc123";
  campaign.status = "finished";
  return data;
}

TEST(HtmlReportTest, IsOneSelfContainedDocument) {
  const std::string page = RenderHtmlReport(Sample());
  EXPECT_THAT(page, StartsWith("<!DOCTYPE html>"));
  EXPECT_THAT(page, EndsWith("</html>\n"));
  EXPECT_THAT(page, HasSubstr("Content-Security-Policy"));
  for (const char* external : {"http:", "https:", "src=", "href=", "url(", "@import"}) {
    EXPECT_THAT(page, Not(HasSubstr(external))) << "the page must load nothing from outside";
  }
  EXPECT_EQ(Count(page, "<script>"), 2u) << "the error handler and the page's script";
  EXPECT_THAT(page, HasSubstr("setAttribute(\"data-ready\", \"1\")"));
}

TEST(HtmlReportTest, SummaryCountsCampaignsTargetsExecutionsAndVerdicts) {
  const std::string page = RenderHtmlReport(Sample());
  EXPECT_THAT(page, HasSubstr("id=\"summary-database\"><code>/tmp/results.db</code>"));
  EXPECT_THAT(page, HasSubstr("id=\"summary-campaigns\">2<"));
  EXPECT_THAT(page, HasSubstr("id=\"summary-first-campaign\">2026-11-01T00:00:00Z<"));
  EXPECT_THAT(page, HasSubstr("id=\"summary-last-campaign\">2026-11-02T00:00:00Z<"));
  EXPECT_THAT(page, HasSubstr("id=\"summary-targets\">2<"));
  EXPECT_THAT(page, HasSubstr("id=\"summary-executions\">130<"));
  EXPECT_THAT(page, HasSubstr("id=\"summary-escapes\">50<"));
  EXPECT_THAT(page, HasSubstr("id=\"summary-verdict-SAFE\">1<"));
  EXPECT_THAT(page, HasSubstr("id=\"summary-verdict-FLAKY\">1<"));
  EXPECT_THAT(page, HasSubstr("id=\"summary-verdict-ESCAPE\">0<"));
  EXPECT_THAT(page, HasSubstr("id=\"summary-generated\">2026-11-25T10:00:00Z<"));
  EXPECT_THAT(page, HasSubstr("all targets and campaigns"));
}

TEST(HtmlReportTest, BarsShowTheRateAndItsWilsonInterval) {
  const std::string page = RenderHtmlReport(Sample());
  const std::string half = RowOf(page, "a.py:half");
  const history::Interval interval = history::WilsonInterval(50, 100);
  EXPECT_THAT(half, AllOf(HasSubstr("data-verdict=\"FLAKY\""),
                          HasSubstr("class=\"num executions\" data-value=\"100\">100<"),
                          HasSubstr("class=\"num escapes\" data-value=\"50\">50<"),
                          HasSubstr(">50.0%<"), HasSubstr(RateBarSvg(0.5, interval))));
  EXPECT_THAT(half, HasSubstr(fmt::format("width=\"{:.1f}\"", 0.5 * kBarWidth)));
  EXPECT_THAT(half, HasSubstr(fmt::format("x1=\"{:.1f}\" y1=\"8\" x2=\"{:.1f}\"",
                                          interval.low * kBarWidth, interval.high * kBarWidth)));
  const std::string never = RowOf(page, "a.py:never");
  EXPECT_THAT(never, HasSubstr(RateBarSvg(0.0, history::WilsonInterval(0, 30))));
  EXPECT_THAT(never, HasSubstr("data-verdict=\"SAFE\""));
}

TEST(HtmlReportTest, HistoryChartPerTargetMarksTheChange) {
  const std::string page = RenderHtmlReport(Sample());
  EXPECT_EQ(Count(page, "<figure class=\"history\""), 2u);
  EXPECT_THAT(page, HasSubstr("data-points=\"2\" data-changes=\"1\""));
  EXPECT_THAT(page, HasSubstr("class=\"point change up\""));
  EXPECT_THAT(page, HasSubstr("<td><code>graphene run-all</code></td>"));
}

TEST(HtmlReportTest, FlakyTargetsListAtMostTwentyEscapingInputsShownEscaped) {
  std::vector<InputHistory> inputs;
  for (int i = 0; i < 25; ++i) inputs.push_back(Input("f", fmt::format("input {}", i), 4, 2));
  inputs.push_back(Input("f", "quiet", 4, 0));
  inputs[0].input = "tab\there\xff" + std::string(500, 'x');  // 9 characters shown, then x
  HtmlReportData data;
  data.targets.push_back(Target("f", inputs));
  const std::string page = RenderHtmlReport(data);
  EXPECT_THAT(page, HasSubstr("and 5 more escaping inputs"));
  EXPECT_EQ(Count(page, "<code class=\"input\">"), 20u);
  EXPECT_THAT(page, HasSubstr("tab\\x09here\\xff" + std::string(kMaxShownInputChars - 9, 'x') +
                              "...</code>"));
  EXPECT_THAT(page, HasSubstr("input 19</code>"));
  EXPECT_THAT(page, Not(HasSubstr("input 20</code>")));
  EXPECT_THAT(page, Not(HasSubstr("quiet")));
}

TEST(HtmlReportTest, HostileNamesInputsAndCommandsStayInert) {
  const std::string evil = "</script><script>alert(1)</script>";
  HtmlReportData data;
  data.database = "<img src=x onerror=alert(2)>.db";
  data.filter.target_glob = "\"><script>alert(3)</script>";
  data.targets.push_back(
      Target(evil, {Input(evil, "<svg onload=alert(4)>", 2, 1)},
             {{.campaign = 1, .created_at = "<i>", .executions = 2, .escapes = 1}}));
  CampaignRecord& campaign = data.campaigns.emplace_back();
  campaign.id = 1;
  campaign.created_at = "<b>";
  campaign.command = "graphene \"'><script>";
  campaign.status = "<u>";
  const std::string page = RenderHtmlReport(data);
  EXPECT_EQ(Count(page, "<script>"), 2u);
  EXPECT_EQ(Count(page, "</script>"), 2u);
  for (const char* raw : {"<img", "<svg onload", "<i>", "<b>", "<u>", "\"><script"}) {
    EXPECT_THAT(page, Not(HasSubstr(raw)));
  }
  EXPECT_THAT(page,
              HasSubstr("data-target=\"&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;\""));
  EXPECT_THAT(page, HasSubstr("&lt;svg onload=alert(4)&gt;"));
  EXPECT_THAT(page, HasSubstr("graphene &quot;&#39;&gt;&lt;script&gt;"));
}

TEST(HtmlReportTest, EmptyDatabaseGivesAWholePage) {
  HtmlReportData data;
  data.database = "empty.db";
  const std::string page = RenderHtmlReport(data);
  EXPECT_THAT(page, EndsWith("</html>\n"));
  EXPECT_THAT(page, HasSubstr("id=\"summary-campaigns\">0<"));
  EXPECT_THAT(page, HasSubstr("id=\"summary-targets\">0<"));
  EXPECT_THAT(page, HasSubstr("id=\"summary-first-campaign\">-<"));
  EXPECT_THAT(page, HasSubstr("No executions match the selection."));
  EXPECT_THAT(page, HasSubstr("No flaky or input-dependent targets."));
  EXPECT_THAT(page, HasSubstr("No campaigns."));
  EXPECT_THAT(page, HasSubstr("id=\"targets-table\""))
      << "the script needs the table even when it is empty";
}

}  // namespace
}  // namespace graphene
