#include "cli/report_command.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "base/unique_fd.h"
#include "base/utc_time.h"
#include "cli/exit_codes.h"
#include "cli/history_aggregates.h"
#include "cli/html_report.h"
#include "history/statistics.h"

namespace graphene {
namespace {

// How many campaigns the page lists.
constexpr size_t kRecentCampaigns = 20;

HtmlReportTarget LoadTarget(Store& store, TargetRows rows, const HistoryOptions& o) {
  HtmlReportTarget target;
  target.name = rows.target;
  target.totals = Totals(rows);
  for (InputHistory& input : rows.inputs) {
    if (input.escapes > 0) target.escaping_inputs.push_back(std::move(input));
  }
  Result<std::vector<CampaignRate>> rates = store.TargetHistory(target.name);
  if (!rates.ok()) throw CommandError{kExitInfrastructure, rates.status().message()};
  target.history = RatePoints(*rates, o.since, o.campaign);
  target.changes = history::DetectChanges(target.history, o.alpha);
  return target;
}

// The selected campaign, or the newest campaigns created since `o.since`.
std::vector<CampaignRecord> LoadCampaigns(Store& store, const HistoryOptions& o) {
  if (o.campaign != 0) {
    Result<CampaignRecord> campaign = store.GetCampaign(o.campaign);
    if (!campaign.ok()) throw CommandError{kExitUsage, campaign.status().message()};
    return {std::move(campaign).value()};
  }
  Result<std::vector<CampaignRecord>> recent = store.RecentCampaigns(kRecentCampaigns);
  if (!recent.ok()) throw CommandError{kExitInfrastructure, recent.status().message()};
  std::erase_if(*recent, [&](const CampaignRecord& c) { return c.created_at < o.since; });
  return std::move(recent).value();
}

HtmlReportData Load(const HistoryOptions& o) {
  std::unique_ptr<Store> store = OpenExistingDatabase(o.db);
  HtmlReportData data{.database = o.db,
                      .filter = HistoryFilterOf(o),
                      .alpha = o.alpha,
                      .generated_at = UtcIso(std::chrono::system_clock::now()),
                      .targets = {},
                      .campaigns = LoadCampaigns(*store, o)};
  for (TargetRows& rows : LoadTargetRows(*store, o)) {
    data.targets.push_back(LoadTarget(*store, std::move(rows), o));
  }
  return data;
}

[[noreturn]] void CannotWrite(const std::string& path, int error) {
  throw CommandError{kExitUsage, fmt::format("cannot write {}: {}", path, std::strerror(error))};
}

// Writes `contents` to a temporary file beside `path`, then renames it over
// `path`, so that readers see the old page or the whole new one.
void WriteAtomically(const std::string& path, const std::string& contents) {
  std::filesystem::path target(path);
  std::string temp =
      (target.parent_path() / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
  UniqueFd fd(::mkstemp(temp.data()));
  if (!fd.valid()) CannotWrite(path, errno);
  const mode_t umask_bits = ::umask(0);
  ::umask(umask_bits);
  int error = ::fchmod(fd.get(), 0666 & ~umask_bits) == 0 ? 0 : errno;
  for (size_t written = 0; error == 0 && written < contents.size();) {
    const ssize_t n = ::write(fd.get(), contents.data() + written, contents.size() - written);
    if (n < 0 && errno != EINTR) error = errno;
    if (n > 0) written += static_cast<size_t>(n);
  }
  if (error == 0 && ::fsync(fd.get()) != 0) error = errno;
  if (error == 0 && ::close(fd.release()) != 0) error = errno;
  if (error == 0 && ::rename(temp.c_str(), path.c_str()) != 0) error = errno;
  if (error != 0) {
    ::unlink(temp.c_str());
    CannotWrite(path, error);
  }
}

}  // namespace

CLI::App* AddReportCommand(CLI::App& app, ReportOptions& o) {
  CLI::App* command = app.add_subcommand(
      "report", "Write a self-contained HTML page: escape rates, flaky targets, history charts");
  command->add_option("--html", o.html, "The HTML file to write (replaced if it exists)")
      ->required();
  AddFilterOptions(*command, o.history);
  AddAlphaOption(*command, o.history);
  AddDatabaseOption(*command, o.history.db);
  return command;
}

int RunReportCommand(const ReportOptions& o) {
  try {
    WriteAtomically(o.html, RenderHtmlReport(Load(o.history)));
    return kExitOk;
  } catch (const CommandError& error) {
    fmt::print(stderr, "graphene: {}\n", error.message);
    return error.exit_code;
  }
}

}  // namespace graphene
