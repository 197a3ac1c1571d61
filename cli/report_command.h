// `graphene report --html FILE [PATTERN] [--since T] [--campaign N]`: writes
// the HTML report (cli/html_report.h) of a results database's history, for
// the targets and campaigns the history commands' filters select.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cli/history_commands.h"

namespace graphene {

struct ReportOptions {
  HistoryOptions history;  // --db, the pattern, --since, --campaign, --alpha
  std::string html;        // the page to write
};

CLI::App* AddReportCommand(CLI::App& app, ReportOptions& options);

// Writes the page to `options.html`, replacing it atomically (a partly
// written page is never seen there), and prints nothing. Errors are one line
// on stderr: exit 2 when the database does not exist, the campaign does not
// exist or the page cannot be written; 3 when reading the database fails.
int RunReportCommand(const ReportOptions& options);

}  // namespace graphene
