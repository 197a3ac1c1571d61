#include "cli/html_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "cli/escaping.h"
#include "cli/svg_chart.h"
#include "schema/names.h"

namespace graphene {
namespace {

// Stored text shown in the page: readable whatever its bytes, and inert.
std::string Text(std::string_view stored, size_t max_chars = std::string_view::npos) {
  return HtmlEscape(ShowBytes(stored, max_chars));
}

std::string Percent(double rate) { return fmt::format("{:.1f}%", rate * 100.0); }

// The page may run its own inline script and style and load nothing else.
constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'";

constexpr const char* kStyle = R"css(
:root { --safe: #2e7d32; --escape: #c62828; --flaky: #ef6c00; --input: #6a1b9a; --muted: #666; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 1200px; padding: 16px 24px;
  color: #222; background: #fff; }
h1 { font-size: 22px; margin: 0 0 12px; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 16px 0 6px; }
[hidden] { display: none !important; }
.script-errors { color: #fff; background: var(--escape); padding: 8px; white-space: pre-wrap; }
dl.summary { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dl.summary dt { color: var(--muted); }
dl.summary dd { margin: 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eee; vertical-align: middle; }
th { background: #f5f5f5; position: sticky; top: 0; }
th.sortable { cursor: pointer; user-select: none; }
th[aria-sort=ascending]::after { content: " \25B2"; }
th[aria-sort=descending]::after { content: " \25BC"; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.name, code { font-family: ui-monospace, monospace; overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 1px 6px; border-radius: 3px; color: #fff; font-size: 12px;
  font-weight: 600; white-space: nowrap; }
.verdict-safe { background: var(--safe); }
.verdict-escape { background: var(--escape); }
.verdict-flaky { background: var(--flaky); }
.verdict-input-dependent { background: var(--input); }
.filter { margin: 4px 0 8px; }
.filter input { width: 320px; padding: 4px 6px; }
.muted { color: var(--muted); }
svg text { font: 11px system-ui, sans-serif; fill: var(--muted); }
.bar-track { fill: #eee; }
.bar-rate { fill: var(--escape); opacity: 0.75; }
.bar-whisker { stroke: #111; stroke-width: 1.5; }
.grid { stroke: #e5e5e5; }
.band { fill: var(--escape); opacity: 0.15; }
.whisker { stroke: var(--escape); stroke-opacity: 0.4; }
.rate-line { fill: none; stroke: var(--escape); stroke-width: 1.5; }
.point { fill: var(--escape); }
.change { stroke: #111; stroke-width: 2; }
.change.down { fill: var(--safe); }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 8px; }
svg.history-chart { width: 100%; height: auto; }
figure.history { margin: 0; padding: 6px; border: 1px solid #eee; }
figure.history figcaption { font-family: ui-monospace, monospace; overflow-wrap: anywhere; }
)css";

// Records any error of the page's script where people (and the tests) see it.
constexpr const char* kErrorHandler = R"js(
window.onerror = function (message, source, line) {
  var box = document.getElementById("script-errors");
  box.hidden = false;
  box.textContent += "script error: " + message + " (line " + line + ")\n";
};
)js";

// Sorting the targets table by a column, and filtering everything about
// targets by name. It sets data-ready on <body> when it has run.
constexpr const char* kScript = R"js(
(function () {
  "use strict";
  var table = document.getElementById("targets-table");
  var body = table.tBodies[0];
  var headers = table.tHead.rows[0].cells;
  function key(cell) {
    var value = cell.getAttribute("data-value");
    return value === null ? cell.textContent.toLowerCase() : parseFloat(value);
  }
  function sortBy(index) {
    var header = headers[index];
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a.cells[index]), y = key(b.cells[index]);
      var order = x < y ? -1 : x > y ? 1 : 0;
      return ascending ? order : -order;
    });
    for (var i = 0; i < headers.length; i++) headers[i].removeAttribute("aria-sort");
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    rows.forEach(function (row) { body.appendChild(row); });
  }
  Array.prototype.forEach.call(headers, function (header, index) {
    if (!header.classList.contains("sortable")) return;
    header.tabIndex = 0;
    header.addEventListener("click", function () { sortBy(index); });
    header.addEventListener("keydown", function (event) {
      if (event.key === "Enter") sortBy(index);
    });
  });
  var filter = document.getElementById("target-filter");
  var count = document.getElementById("target-count");
  function applyFilter() {
    var query = filter.value.toLowerCase();
    var shown = 0;
    document.querySelectorAll("[data-target]").forEach(function (element) {
      var match = element.getAttribute("data-target").toLowerCase().indexOf(query) >= 0;
      element.hidden = !match;
      if (match && element.tagName === "TR") shown++;
    });
    count.textContent = shown + " of " + body.rows.length + " targets shown";
  }
  filter.addEventListener("input", applyFilter);
  applyFilter();
  document.body.setAttribute("data-ready", "1");
})();
)js";

std::string VerdictBadge(const std::string& verdict) {
  std::string css;
  for (char c : verdict) css += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return fmt::format("<span class=\"badge verdict-{}\">{}</span>", HtmlEscape(css),
                     HtmlEscape(verdict));
}

std::string NumberCell(const std::string& css, double value, const std::string& shown) {
  return fmt::format("<td class=\"num {}\" data-value=\"{}\">{}</td>", css, value, shown);
}

std::string CountCell(const std::string& css, uint64_t value) {
  return NumberCell(css, double(value), std::to_string(value));
}

std::string FilterWords(const HistoryFilter& filter) {
  std::vector<std::string> words;
  if (filter.target_glob != "*") words.push_back("targets matching " + Text(filter.target_glob));
  if (!filter.since.empty()) words.push_back("campaigns since " + Text(filter.since));
  if (filter.campaign != 0) words.push_back(fmt::format("campaign {}", filter.campaign));
  if (words.empty()) return "all targets and campaigns";
  std::string joined;
  for (const std::string& word : words) joined += (joined.empty() ? "" : "; ") + word;
  return joined;
}

std::string SummaryRow(const std::string& id, const std::string& label, const std::string& value) {
  return fmt::format("<dt>{}</dt><dd id=\"summary-{}\">{}</dd>\n", label, id, value);
}

std::string Summary(const HtmlReportData& data) {
  uint64_t executions = 0, escapes = 0;
  std::map<std::string, size_t> verdicts;
  std::set<uint64_t> campaigns;
  std::string first, last;
  for (const HtmlReportTarget& target : data.targets) {
    executions += target.totals.executions;
    escapes += target.totals.escapes;
    ++verdicts[target.totals.verdict];
    for (const history::RatePoint& point : target.history) {
      if (!campaigns.insert(point.campaign).second) continue;
      if (first.empty() || point.created_at < first) first = point.created_at;
      last = std::max(last, point.created_at);
    }
  }
  std::string verdict_counts;
  for (std::string_view verdict :
       {kVerdictSafe, kVerdictEscape, kVerdictFlaky, kVerdictInputDependent}) {
    const std::string name(verdict);
    verdict_counts += fmt::format("{} <span id=\"summary-verdict-{}\">{}</span> ",
                                  VerdictBadge(name), Text(name), verdicts[name]);
  }
  std::string html = "<section id=\"summary\">\n<h2>Summary</h2>\n<dl class=\"summary\">\n";
  html += SummaryRow("database", "Database", "<code>" + Text(data.database) + "</code>");
  html += SummaryRow("selection", "Selection", FilterWords(data.filter));
  html += SummaryRow("campaigns", "Campaigns", std::to_string(campaigns.size()));
  html += SummaryRow("first-campaign", "First campaign", first.empty() ? "-" : Text(first));
  html += SummaryRow("last-campaign", "Last campaign", last.empty() ? "-" : Text(last));
  html += SummaryRow("targets", "Targets", std::to_string(data.targets.size()));
  html += SummaryRow("executions", "Executions", std::to_string(executions));
  html += SummaryRow("escapes", "Escapes", std::to_string(escapes));
  html += SummaryRow("verdicts", "Verdicts", verdict_counts);
  html += SummaryRow("generated", "Generated", Text(data.generated_at));
  return html + "</dl>\n</section>\n";
}

std::string TargetRow(const HtmlReportTarget& target) {
  const TargetTotals& t = target.totals;
  return fmt::format(
      "<tr data-target=\"{0}\" data-verdict=\"{1}\"><td class=\"name\">{0}</td>"
      "<td class=\"verdict\">{2}</td>{3}{4}{5}{6}"
      "<td class=\"interval\" data-value=\"{7}\">{8} to {9}</td><td class=\"bar\">{10}</td>"
      "<td class=\"last-run\">{11}</td></tr>\n",
      Text(target.name), HtmlEscape(t.verdict), VerdictBadge(t.verdict),
      CountCell("inputs", t.inputs), CountCell("executions", t.executions),
      CountCell("escapes", t.escapes), NumberCell("rate", t.escape_rate, Percent(t.escape_rate)),
      t.interval.low, Percent(t.interval.low), Percent(t.interval.high),
      RateBarSvg(t.escape_rate, t.interval), Text(t.last_run));
}

std::string TargetsTable(const HtmlReportData& data) {
  std::string html =
      "<section id=\"targets\">\n<h2>Targets</h2>\n"
      "<p class=\"muted\">Escape rate over every execution, with its 95% Wilson interval "
      "(the whisker). Click a column to sort.</p>\n"
      "<div class=\"filter\"><input id=\"target-filter\" type=\"search\" "
      "placeholder=\"Filter targets by name\" aria-label=\"Filter targets by name\"> "
      "<span id=\"target-count\" class=\"muted\"></span></div>\n"
      "<table id=\"targets-table\"><thead><tr>"
      "<th class=\"sortable\">Target</th><th class=\"sortable\">Verdict</th>"
      "<th class=\"sortable num\">Inputs</th><th class=\"sortable num\">Executions</th>"
      "<th class=\"sortable num\">Escapes</th><th class=\"sortable num\">Escape rate</th>"
      "<th class=\"sortable\">95% interval</th><th>Rate and interval</th>"
      "<th class=\"sortable\">Last run</th></tr></thead>\n<tbody>\n";
  for (const HtmlReportTarget& target : data.targets) html += TargetRow(target);
  html += "</tbody></table>\n";
  if (data.targets.empty()) html += "<p class=\"empty\">No executions match the selection.</p>\n";
  return html + "</section>\n";
}

std::string EscapingInputs(const HtmlReportTarget& target) {
  std::string html = fmt::format(
      "<div class=\"flaky-target\" data-target=\"{}\"><h3>{} {}</h3>\n"
      "<table class=\"inputs\"><thead><tr><th>Escaping input</th><th class=\"num\">Executions"
      "</th><th class=\"num\">Escapes</th><th class=\"num\">Escape rate</th><th>Repeats</th>"
      "</tr></thead><tbody>\n",
      Text(target.name), VerdictBadge(target.totals.verdict), Text(target.name));
  const size_t listed = std::min(target.escaping_inputs.size(), kMaxListedInputs);
  for (size_t i = 0; i < listed; ++i) {
    const InputHistory& input = target.escaping_inputs[i];
    const bool flaky = history::IsFlaky({.executions = input.executions, .escapes = input.escapes});
    html += fmt::format(
        "<tr><td><code class=\"input\">{}</code></td><td class=\"num\">{}</td>"
        "<td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>\n",
        Text(input.input, kMaxShownInputChars), input.executions, input.escapes,
        Percent(Rate(input.escapes, input.executions)), flaky ? "disagree (flaky)" : "agree");
  }
  html += "</tbody></table>\n";
  if (target.escaping_inputs.size() > listed) {
    html += fmt::format("<p class=\"more\">and {} more escaping inputs</p>\n",
                        target.escaping_inputs.size() - listed);
  }
  return html + "</div>\n";
}

std::string FlakySection(const HtmlReportData& data) {
  std::string html =
      "<section id=\"flaky\">\n<h2>Flaky and input-dependent targets</h2>\n"
      "<p class=\"muted\">FLAKY: some input's repeats disagree. INPUT-DEPENDENT: every input "
      "is consistent, but some escape and others do not.</p>\n";
  bool any = false;
  for (const HtmlReportTarget& target : data.targets) {
    if (target.totals.verdict != kVerdictFlaky && target.totals.verdict != kVerdictInputDependent) {
      continue;
    }
    html += EscapingInputs(target);
    any = true;
  }
  if (!any) html += "<p class=\"empty\">No flaky or input-dependent targets.</p>\n";
  return html + "</section>\n";
}

std::string HistorySection(const HtmlReportData& data) {
  std::string html = fmt::format(
      "<section id=\"history\">\n<h2>History</h2>\n"
      "<p class=\"muted\">Each target's escape rate per campaign with its 95% interval (the "
      "band). Large points: a significant change from the previous campaign (two-sided test at "
      "alpha {}).</p>\n<div class=\"charts\">\n",
      data.alpha);
  for (const HtmlReportTarget& target : data.targets) {
    html += fmt::format(
        "<figure class=\"history\" data-target=\"{0}\"><figcaption>{0} {1}</figcaption>{2}"
        "</figure>\n",
        Text(target.name), VerdictBadge(target.totals.verdict),
        RateHistorySvg(target.history, target.changes));
  }
  html += "</div>\n";
  if (data.targets.empty()) html += "<p class=\"empty\">No history.</p>\n";
  return html + "</section>\n";
}

std::string CampaignsTable(const HtmlReportData& data) {
  std::string html =
      "<section id=\"campaigns\">\n<h2>Recent campaigns</h2>\n"
      "<table id=\"campaigns-table\"><thead><tr><th class=\"num\">Campaign</th><th>Created</th>"
      "<th>Status</th><th>Git commit</th><th>Command</th></tr></thead><tbody>\n";
  constexpr size_t kMaxCommandChars = 300;
  for (const CampaignRecord& c : data.campaigns) {
    html += fmt::format(
        "<tr data-campaign=\"{0}\"><td class=\"num\">{0}</td><td>{1}</td><td>{2}</td>"
        "<td><code>{3}</code></td><td><code>{4}</code></td></tr>\n",
        c.id, Text(c.created_at), Text(c.status), c.git_commit.empty() ? "-" : Text(c.git_commit),
        Text(c.command, kMaxCommandChars));
  }
  html += "</tbody></table>\n";
  if (data.campaigns.empty()) html += "<p class=\"empty\">No campaigns.</p>\n";
  return html + "</section>\n";
}

}  // namespace

std::string RenderHtmlReport(const HtmlReportData& data) {
  std::string html = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>graphene report: {}</title>\n<style>{}</style>\n</head>\n<body>\n"
      "<p id=\"script-errors\" class=\"script-errors\" hidden></p>\n<script>{}</script>\n"
      "<h1>graphene: concurrency escapes</h1>\n",
      kContentSecurityPolicy, Text(data.database), kStyle, kErrorHandler);
  html += Summary(data) + TargetsTable(data) + FlakySection(data) + HistorySection(data) +
          CampaignsTable(data);
  return html + fmt::format("<script>{}</script>\n</body>\n</html>\n", kScript);
}

}  // namespace graphene
