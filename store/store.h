// The Store: graphene's history in SQLite (schema/database.sql). The
// coordinator writes campaigns and their results through it, and resumes
// unfinished campaigns from it after a restart; the history commands read it.
// Many processes may open the same database (WAL): one writes at a time and
// readers never block it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "schema/execution.h"
#include "store/sqlite.h"

namespace graphene {

// One row of `campaigns`. Times are UTC ISO-8601; `options_json` is a JSON
// object; `status` is one of the kCampaign* names (schema/database.h). Empty
// strings stand for NULL.
struct CampaignRecord {
  uint64_t id = 0;
  std::string created_at, finished_at, command, options_json, root, git_commit, status;
  uint64_t seed = 0;
  uint64_t total_jobs = 0;
  std::string submission;  // a client's idempotency token; empty for local campaigns
  std::string bundle;      // hash of its bundle (PutBundle first); empty: targets are in `root`
  // The execution plan's parameters, as in Job (schema/execution.h); `repeat`
  // is the number of runs per input.
  uint32_t repeat = 1;
  ExecutionLimits limits{};
};

// Job indices [begin, end) of a campaign that have no stored result.
struct JobRange {
  uint64_t begin = 0;
  uint64_t end = 0;
  bool operator==(const JobRange&) const = default;
};

// A campaign's stored results.
struct ResultCounts {
  uint64_t results = 0;
  uint64_t escapes = 0;  // results with escape_detected
};

// Which executions a history query looks at.
struct HistoryFilter {
  std::string target_glob = "*";  // targets whose name matches (SQLite GLOB)
  std::string since{};            // campaigns created at or after (ISO-8601 prefix); empty: all
  uint64_t campaign = 0;          // only this campaign; 0: all
};

// Executions and escapes of one (target, input) over the filtered campaigns.
struct InputHistory {
  std::string target;
  std::string input;
  uint64_t executions = 0;
  uint64_t escapes = 0;
  uint64_t campaigns = 0;  // of the filtered ones, those it ran in
  // When it last ran, in any campaign: filters choose what is counted, not
  // what "last" means.
  std::string last_run;
};

// One campaign's executions of one target.
struct CampaignRate {
  uint64_t campaign = 0;
  std::string created_at;
  uint64_t executions = 0;
  uint64_t escapes = 0;
};

// Owns one connection to the database. Not thread-safe: use one Store per
// thread. Failed calls leave the database as it was.
class Store {
 public:
  // Opens or creates the database at `path`, creating parent folders, and
  // brings an older schema up to date. Errors are one line naming the path,
  // e.g. "cannot open database /x/y.db: unable to open database file"; a
  // database from a newer graphene is refused, never modified.
  static Result<std::unique_ptr<Store>> Open(const std::string& path);

  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& path() const { return path_; }

  // Adds a campaign with status kCampaignRunning, its targets and its inputs
  // in one transaction, so that a crash never leaves a half-created campaign
  // to resume, and returns its id. Ignores `campaign.id`, `finished_at` and
  // `status`; sets `created_at` to now when empty. Empty `options_json` is
  // stored as "{}". Targets and inputs are stored in order, as
  // AddCampaignTargets and CampaignInputs describe. When `campaign.submission`
  // is not empty and a campaign with that submission exists, returns that
  // campaign's id and writes nothing.
  Result<uint64_t> CreateCampaign(const CampaignRecord& campaign,
                                  const std::vector<TargetInfo>& targets,
                                  const std::vector<std::string>& inputs);
  // The same without targets or inputs (add targets with AddCampaignTargets).
  Result<uint64_t> CreateCampaign(const CampaignRecord& campaign);
  // Records the targets of `campaign` in order (position = index in
  // `targets`); an empty `expected` is stored as NULL. Call once per campaign,
  // and not for one created with its targets.
  Status AddCampaignTargets(uint64_t campaign, const std::vector<TargetInfo>& targets);
  // Stores each job's result once, all in one transaction: a result whose
  // (job.campaign, job.index) is already stored, or repeated within `batch`,
  // is ignored. The job's campaign and index are authoritative over the
  // result's. Returns how many results were newly stored.
  Result<size_t> RecordResults(const std::vector<std::pair<Job, ExecutionResult>>& batch);
  // Sets `campaign`'s status (a kCampaign* name) and its finished_at to now.
  Status FinishCampaign(uint64_t campaign, std::string_view status);

  Result<CampaignRecord> GetCampaign(uint64_t campaign);
  // Campaigns with `status`, oldest first: with kCampaignRunning, those a
  // restarted coordinator should resume.
  Result<std::vector<CampaignRecord>> CampaignsWithStatus(std::string_view status);
  // At most `limit` campaigns, newest (highest id) first.
  Result<std::vector<CampaignRecord>> RecentCampaigns(size_t limit);
  // The campaign created with `submission`, if any.
  Result<std::optional<uint64_t>> CampaignBySubmission(std::string_view submission);
  // The targets recorded by AddCampaignTargets, in position order, with
  // `ok` = true.
  Result<std::vector<TargetInfo>> CampaignTargets(uint64_t campaign);
  // The inputs `campaign` was created with, in their order (bytes as given).
  Result<std::vector<std::string>> CampaignInputs(uint64_t campaign);

  // Stores a bundle under `hash` (the hex SHA-256 of `content`, which the
  // store does not check). Storing a hash again keeps the first content.
  Status PutBundle(std::string_view hash, std::string_view content);
  // The content stored under `hash`, or nullopt when there is none.
  Result<std::optional<std::string>> GetBundle(std::string_view hash);

  // How many results `campaign` has stored, and how many of them escaped.
  Result<ResultCounts> CountResults(uint64_t campaign);
  // The job indices in [0, `total`) that `campaign` has no result for, as
  // ascending ranges, so a resumed campaign runs exactly those. Its size
  // grows with the number of gaps, not of jobs.
  Result<std::vector<JobRange>> MissingJobs(uint64_t campaign, uint64_t total);
  // Every (target, input) with executions matching `filter`, ordered by
  // target then input id: what the history commands aggregate. Reads the
  // count tables, so it takes milliseconds over all campaigns or one, and
  // one pass over the per-campaign counts with --since.
  Result<std::vector<InputHistory>> InputHistories(const HistoryFilter& filter);
  // `target`'s executions and escapes per campaign, oldest campaign first.
  Result<std::vector<CampaignRate>> TargetHistory(std::string_view target);

  // Calls `visit` for each of `campaign`'s executions in job index order,
  // with its escapes and transients in the order they were recorded, reading
  // one row at a time. `visit` must not call back into this Store.
  Status ForEachExecution(uint64_t campaign,
                          const std::function<void(const StoredExecution&)>& visit);
  // At most `limit` of `campaign`'s executions with job index >=
  // `first_index`, in job index order and filled in as by ForEachExecution:
  // a client pages through results by asking from the last index it got + 1.
  Result<std::vector<StoredExecution>> ExecutionsPage(uint64_t campaign, uint64_t first_index,
                                                      size_t limit);

 private:
  Store(std::string path, Database db) : path_(std::move(path)), db_(std::move(db)) {}

  Status PrepareStatements();
  Status Fail(std::string_view doing, const Status& cause) const;
  // Runs `write` in one transaction, committing when it succeeds.
  Status InTransaction(const std::function<Status()>& write);
  // The parts of CreateCampaign() and AddCampaignTargets(), run inside the
  // caller's transaction.
  Result<std::optional<uint64_t>> FindSubmission(std::string_view submission);
  Result<uint64_t> InsertCampaign(const CampaignRecord& campaign);
  Status InsertTargets(uint64_t campaign, const std::vector<TargetInfo>& targets);
  Status InsertInputs(uint64_t campaign, const std::vector<std::string>& inputs);
  // Visits `campaign`'s executions from `first_index` on, at most `limit`
  // of them (-1: all); `doing` words its errors.
  Status VisitExecutions(uint64_t campaign, uint64_t first_index, int64_t limit,
                         std::string_view doing,
                         const std::function<void(const StoredExecution&)>& visit);
  // Some campaigns, as a condition on campaign_input_counts AS c that may
  // use ?2 (a time) and ?3 (`id`); an empty condition stands for all.
  struct CampaignSelection {
    std::string condition;
    int64_t id = 0;
  };
  // The campaigns created at or after `since`. Campaign ids grow with
  // creation times, so these are nearly always the ids from one on, a range
  // read in one pass.
  Result<CampaignSelection> CampaignsSince(std::string_view since);
  Result<int64_t> TargetId(std::string_view name);
  Result<int64_t> InputId(std::string_view value);
  Result<bool> StoreResult(const Job& job, const ExecutionResult& result, const std::string& now);
  Status StoreEscapes(int64_t execution_id, const std::vector<Escape>& escapes, bool transient);

  std::string path_;
  Database db_;  // declared first so that it closes after the statements
  // Cached statements for the write path (see PrepareStatements()).
  Statement select_target_, insert_target_, select_input_, insert_input_, insert_execution_,
      insert_escape_;
  // Target name -> id: campaigns reuse a few targets for many executions.
  // Cleared when a transaction fails, as its ids may have been rolled back.
  std::map<std::string, int64_t, std::less<>> target_ids_;
};

}  // namespace graphene
