// `graphene report --html`: one self-contained HTML page about a results
// database. A summary, a table of the targets with their verdicts and escape
// rates (bars with 95% Wilson intervals), the flaky and input-dependent
// targets with the inputs that escape, a chart of each target's rate per
// campaign, and the recent campaigns. Charts are inline SVG drawn here, so
// the page shows everything without its script; the script only sorts the
// table and filters by target name. The page loads nothing from outside.
// A pure renderer: the caller loads the data (cli/report_command.h).
#pragma once

#include <string>
#include <vector>

#include "cli/history_aggregates.h"
#include "history/statistics.h"
#include "store/store.h"

namespace graphene {

// At most this many escaping inputs are listed per flaky or input-dependent
// target; the rest are counted.
inline constexpr size_t kMaxListedInputs = 20;
// Inputs are shown cut to this many characters.
inline constexpr size_t kMaxShownInputChars = 120;

// One target of the report.
struct HtmlReportTarget {
  std::string name;
  TargetTotals totals;
  // Its (target, input) rows that escaped at least once, in the store's order.
  std::vector<InputHistory> escaping_inputs;
  // Its executions per campaign, oldest first, and the changes
  // history::DetectChanges finds between them.
  std::vector<history::RatePoint> history;
  std::vector<history::Change> changes;
};

// Everything the page shows. Strings may hold any bytes: the renderer
// escapes them.
struct HtmlReportData {
  std::string database;      // the database's path, as given
  HistoryFilter filter;      // what was selected (shown in the summary)
  double alpha = 0.05;       // significance level of the changes
  std::string generated_at;  // UTC ISO-8601
  std::vector<HtmlReportTarget> targets;
  std::vector<CampaignRecord> campaigns;  // the recent campaigns, newest first
};

// The page for `data`, a complete UTF-8 HTML document. The number of
// campaigns and the first and last campaign's time in the summary are those
// of the targets' histories.
std::string RenderHtmlReport(const HtmlReportData& data);

}  // namespace graphene
