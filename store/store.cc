#include "store/store.h"

#include <fmt/format.h>

#include <array>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <system_error>

#include "base/utc_time.h"
#include "schema/database.h"
#include "store/migration.h"

namespace graphene {
namespace {

#include "kMigrate1To2Sql.inc"
#include "kMigrate2To3Sql.inc"

// Steps from each older schema version to the next. A step's SQL is a file
// beside this one (migrate_<from>_to_<to>.sql), embedded like database.sql.
constexpr std::array<Migration, 2> kMigrations{{{1, kMigrate1To2Sql}, {2, kMigrate2To3Sql}}};

// How long a statement waits for another connection's write lock.
constexpr int kBusyTimeoutMs = 5000;

constexpr std::string_view kCampaignColumns =
    "id, created_at, finished_at, command, seed, options, root, git_commit, status, total_jobs, "
    "submission, bundle, repeat, timeout_ms, grace_ms, memory_limit_mb, max_processes, strict";

// Now as UTC ISO-8601 with milliseconds, e.g. "2024-05-01T12:34:56.789Z".
std::string UtcNow() { return UtcIso(std::chrono::system_clock::now()); }

Status CreateParentFolders(const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) return Status::Ok();
  std::error_code error;
  std::filesystem::create_directories(parent, error);
  if (error) return Status::Error("creating " + parent.string() + ": " + error.message());
  return Status::Ok();
}

// SQLite takes a file shorter than its header for an empty database and
// overwrites it: refuse any non-empty file that does not start like an SQLite
// database, so that a mistyped --db never destroys a file.
Status CheckIsDatabaseFile(const std::string& path) {
  constexpr std::string_view kMagic("SQLite format 3\0", 16);
  std::ifstream file(path, std::ios::binary);
  char header[kMagic.size()] = {};
  file.read(header, sizeof(header));
  const std::string_view start(header, file.gcount());
  if (start.empty() || start == kMagic) return Status::Ok();  // missing, empty or a database
  return Status::Error("file is not a database");
}

void Sqrt(sqlite3_context* context, int /*argc*/, sqlite3_value** argv) {
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) return sqlite3_result_null(context);
  sqlite3_result_double(context, std::sqrt(sqlite3_value_double(argv[0])));
}

// Sets the per-connection settings the schema relies on. The stats views need
// sqrt(), which only some builds of SQLite have: register ours on every
// connection so that they work with any build.
Status Configure(Database& db) {
  sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);
  Result<std::string> mode = db.QueryText("PRAGMA journal_mode = WAL");
  if (!mode.ok()) return mode.status();
  if (*mode != "wal") return Status::Error("cannot use WAL journal mode (got " + *mode + ")");
  if (sqlite3_create_function(db.get(), "sqrt", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
                              Sqrt, nullptr, nullptr) != SQLITE_OK) {
    return Status::Error(db.ErrorMessage());
  }
  return db.Exec("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL");
}

CampaignRecord ReadCampaign(const Statement& row) {
  CampaignRecord campaign;
  campaign.id = row.ColumnInt(0);
  campaign.created_at = row.ColumnText(1);
  campaign.finished_at = row.ColumnText(2);
  campaign.command = row.ColumnText(3);
  campaign.seed = row.ColumnInt(4);
  campaign.options_json = row.ColumnText(5);
  campaign.root = row.ColumnText(6);
  campaign.git_commit = row.ColumnText(7);
  campaign.status = row.ColumnText(8);
  campaign.total_jobs = row.ColumnInt(9);
  campaign.submission = row.ColumnText(10);
  campaign.bundle = row.ColumnText(11);
  campaign.repeat = static_cast<uint32_t>(row.ColumnInt(12));
  campaign.limits.timeout_ms = static_cast<uint32_t>(row.ColumnInt(13));
  campaign.limits.grace_ms = static_cast<uint32_t>(row.ColumnInt(14));
  campaign.limits.memory_limit_mb = static_cast<uint32_t>(row.ColumnInt(15));
  campaign.limits.max_processes = static_cast<uint32_t>(row.ColumnInt(16));
  campaign.limits.strict = row.ColumnInt(17) != 0;
  return campaign;
}

// Reads all the rows of `select`, a query of kCampaignColumns.
Result<std::vector<CampaignRecord>> ReadCampaigns(Statement& select) {
  std::vector<CampaignRecord> campaigns;
  while (true) {
    Result<bool> row = select.Step();
    if (!row.ok()) return row.status();
    if (!*row) return campaigns;
    campaigns.push_back(ReadCampaign(select));
  }
}

Statement& BindOptionalText(Statement& statement, int index, std::string_view value) {
  return value.empty() ? statement.BindNull(index) : statement.BindText(index, value);
}

Escape ReadEscape(const Statement& row) {
  Escape escape;
  escape.kind = row.ColumnText(1);
  escape.name = row.ColumnText(2);
  escape.daemon = row.ColumnInt(3) != 0;
  escape.pid = row.ColumnOptionalInt(4);
  escape.native_id = row.ColumnOptionalInt(5);
  escape.started_at = row.ColumnText(6);
  escape.started_in = row.ColumnText(7);
  escape.running = row.ColumnText(8);
  return escape;
}

// A row of ForEachExecution()'s query, without its escapes.
StoredExecution ReadExecution(const Statement& row, uint64_t campaign) {
  StoredExecution execution;
  execution.job_index = row.ColumnInt(1);
  execution.target = row.ColumnText(2);
  execution.input = row.ColumnBlob(3);
  execution.repeat = static_cast<uint32_t>(row.ColumnInt(4));
  execution.finished_at = row.ColumnText(11);
  ExecutionResult& result = execution.result;
  result.campaign = campaign;
  result.index = execution.job_index;
  result.status = row.ColumnText(5);
  result.escape_detected = row.ColumnInt(6) != 0;
  result.duration_ms = row.ColumnDouble(7);
  result.error = row.ColumnText(8);
  result.output = row.ColumnText(9);
  result.agent = row.ColumnText(10);
  return execution;
}

// Adds the escapes and transients of `execution_id` to `result`, using
// `select`, ForEachExecution()'s escape query.
Status ReadEscapes(int64_t execution_id, Statement& select, ExecutionResult& result) {
  select.Reset();
  select.BindInt(1, execution_id);
  while (true) {
    Result<bool> row = select.Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
    (select.ColumnInt(0) != 0 ? result.transient : result.escapes).push_back(ReadEscape(select));
  }
}

}  // namespace

Result<std::unique_ptr<Store>> Store::Open(const std::string& path) {
  auto fail = [&path](const Status& cause) {
    return Status::Error(fmt::format("cannot open database {}: {}", path, cause.message()));
  };
  if (Status s = CreateParentFolders(path); !s.ok()) return fail(s);
  if (Status s = CheckIsDatabaseFile(path); !s.ok()) return fail(s);
  Result<Database> db = Database::Open(path);
  if (!db.ok()) return fail(db.status());
  if (Status s = Configure(*db); !s.ok()) return fail(s);
  if (Status s = ApplySchema(*db, kSchemaVersion, DatabaseSql(), kMigrations, DatabaseDerivedSql());
      !s.ok()) {
    return fail(s);
  }
  std::unique_ptr<Store> store(new Store(path, std::move(*db)));
  if (Status s = store->PrepareStatements(); !s.ok()) return fail(s);
  return store;
}

// The write path runs these once per execution or escape, so they are
// prepared once per Store.
Status Store::PrepareStatements() {
  const std::pair<Statement*, std::string_view> statements[] = {
      {&select_target_, "SELECT id FROM targets WHERE name = ?1"},
      {&insert_target_, "INSERT INTO targets (name) VALUES (?1)"},
      {&select_input_, "SELECT id FROM inputs WHERE value = ?1"},
      {&insert_input_, "INSERT INTO inputs (value) VALUES (?1)"},
      {&insert_execution_,
       "INSERT INTO executions (campaign_id, job_index, target_id, input_id, repeat, status, "
       "escape_detected, duration_ms, error, output, agent, finished_at) "
       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
       "ON CONFLICT (campaign_id, job_index) DO NOTHING"},
      {&insert_escape_,
       "INSERT INTO escapes (execution_id, transient, kind, name, daemon, pid, native_id, "
       "started_at, started_in, running) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"},
  };
  for (const auto& [statement, sql] : statements) {
    Result<Statement> prepared = db_.Prepare(sql);
    if (!prepared.ok()) {
      return Status::Error("preparing " + std::string(sql) + ": " + prepared.status().message());
    }
    *statement = std::move(*prepared);
  }
  return Status::Ok();
}

Status Store::Fail(std::string_view doing, const Status& cause) const {
  return Status::Error(fmt::format("{} in {}: {}", doing, path_, cause.message()));
}

Result<uint64_t> Store::CreateCampaign(const CampaignRecord& campaign) {
  return CreateCampaign(campaign, {}, {});
}

Result<uint64_t> Store::CreateCampaign(const CampaignRecord& campaign,
                                       const std::vector<TargetInfo>& targets,
                                       const std::vector<std::string>& inputs) {
  uint64_t id = 0;
  // Under the transaction's write lock, so that two coordinators given the
  // same submission cannot both miss it and insert.
  Status status = InTransaction([&]() -> Status {
    if (!campaign.submission.empty()) {
      Result<std::optional<uint64_t>> existing = FindSubmission(campaign.submission);
      if (!existing.ok()) return existing.status();
      if (existing->has_value()) {
        id = **existing;
        return Status::Ok();
      }
    }
    Result<uint64_t> inserted = InsertCampaign(campaign);
    if (!inserted.ok()) return inserted.status();
    id = *inserted;
    if (Status s = InsertTargets(id, targets); !s.ok()) return s;
    return InsertInputs(id, inputs);
  });
  if (!status.ok()) return Fail("creating a campaign", status);
  return id;
}

Result<std::optional<uint64_t>> Store::FindSubmission(std::string_view submission) {
  Result<Statement> select = db_.Prepare("SELECT id FROM campaigns WHERE submission = ?1");
  if (!select.ok()) return select.status();
  select->BindText(1, submission);
  Result<bool> found = select->Step();
  if (!found.ok()) return found.status();
  if (!*found) return std::optional<uint64_t>();
  return std::optional<uint64_t>(static_cast<uint64_t>(select->ColumnInt(0)));
}

Result<uint64_t> Store::InsertCampaign(const CampaignRecord& campaign) {
  Result<Statement> insert = db_.Prepare(
      "INSERT INTO campaigns (created_at, command, seed, options, root, git_commit, status, "
      "total_jobs, submission, bundle, repeat, timeout_ms, grace_ms, memory_limit_mb, "
      "max_processes, strict) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)");
  if (!insert.ok()) return insert.status();
  insert->BindText(1, campaign.created_at.empty() ? UtcNow() : campaign.created_at)
      .BindText(2, campaign.command)
      .BindInt(3, static_cast<int64_t>(campaign.seed))
      .BindText(4, campaign.options_json.empty() ? "{}" : campaign.options_json)
      .BindText(5, campaign.root)
      .BindText(7, kCampaignRunning)
      .BindInt(8, static_cast<int64_t>(campaign.total_jobs))
      .BindInt(11, campaign.repeat)
      .BindInt(12, campaign.limits.timeout_ms)
      .BindInt(13, campaign.limits.grace_ms)
      .BindInt(14, campaign.limits.memory_limit_mb)
      .BindInt(15, campaign.limits.max_processes)
      .BindInt(16, campaign.limits.strict ? 1 : 0);
  BindOptionalText(*insert, 6, campaign.git_commit);
  BindOptionalText(*insert, 9, campaign.submission);
  BindOptionalText(*insert, 10, campaign.bundle);
  if (Status s = insert->Run(); !s.ok()) return s;
  return static_cast<uint64_t>(db_.LastInsertRowId());
}

Status Store::InTransaction(const std::function<Status()>& write) {
  Result<Transaction> transaction = Transaction::Begin(db_);
  if (!transaction.ok()) return transaction.status();
  Status status = write();
  if (status.ok()) status = transaction->Commit();
  if (!status.ok()) target_ids_.clear();  // they may name rolled-back rows
  return status;
}

Status Store::AddCampaignTargets(uint64_t campaign, const std::vector<TargetInfo>& targets) {
  Status status = InTransaction([&] { return InsertTargets(campaign, targets); });
  return status.ok() ? status
                     : Fail(fmt::format("adding targets to campaign {}", campaign), status);
}

Status Store::InsertTargets(uint64_t campaign, const std::vector<TargetInfo>& targets) {
  if (targets.empty()) return Status::Ok();
  Result<Statement> insert = db_.Prepare(
      "INSERT INTO campaign_targets (campaign_id, position, target_id, file, line, expected, "
      "reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!insert.ok()) return insert.status();
  for (size_t position = 0; position < targets.size(); ++position) {
    const TargetInfo& target = targets[position];
    Result<int64_t> target_id = TargetId(target.spec);
    if (!target_id.ok()) return target_id.status();
    insert->Reset();
    insert->BindInt(1, static_cast<int64_t>(campaign))
        .BindInt(2, static_cast<int64_t>(position))
        .BindInt(3, *target_id)
        .BindText(4, target.file)
        .BindInt(5, target.line)
        .BindText(7, target.reason);
    BindOptionalText(*insert, 6, target.expected);
    if (Status s = insert->Run(); !s.ok()) return s;
  }
  return Status::Ok();
}

// Inputs go through InputId(), as results' do: stored once, as BLOBs.
Status Store::InsertInputs(uint64_t campaign, const std::vector<std::string>& inputs) {
  if (inputs.empty()) return Status::Ok();
  Result<Statement> insert = db_.Prepare(
      "INSERT INTO campaign_inputs (campaign_id, position, input_id) VALUES (?1, ?2, ?3)");
  if (!insert.ok()) return insert.status();
  for (size_t position = 0; position < inputs.size(); ++position) {
    Result<int64_t> input_id = InputId(inputs[position]);
    if (!input_id.ok()) return input_id.status();
    insert->Reset();
    insert->BindInt(1, static_cast<int64_t>(campaign))
        .BindInt(2, static_cast<int64_t>(position))
        .BindInt(3, *input_id);
    if (Status s = insert->Run(); !s.ok()) return s;
  }
  return Status::Ok();
}

// Looks up with a SELECT before inserting: most names are already stored,
// and a read is cheaper than a failed insert.
Result<int64_t> Store::TargetId(std::string_view name) {
  if (auto it = target_ids_.find(name); it != target_ids_.end()) return it->second;
  select_target_.Reset();
  select_target_.BindText(1, name);
  Result<bool> found = select_target_.Step();
  if (!found.ok()) return found.status();
  int64_t id = *found ? select_target_.ColumnInt(0) : 0;
  select_target_.Reset();
  if (!*found) {
    insert_target_.Reset();
    if (Status s = insert_target_.BindText(1, name).Run(); !s.ok()) return s;
    id = db_.LastInsertRowId();
  }
  target_ids_.emplace(name, id);
  return id;
}

// Inputs are not cached: generated campaigns have as many inputs as jobs.
Result<int64_t> Store::InputId(std::string_view value) {
  select_input_.Reset();
  select_input_.BindBlob(1, value);
  Result<bool> found = select_input_.Step();
  if (!found.ok()) return found.status();
  if (*found) {
    int64_t id = select_input_.ColumnInt(0);
    select_input_.Reset();
    return id;
  }
  insert_input_.Reset();
  if (Status s = insert_input_.BindBlob(1, value).Run(); !s.ok()) return s;
  return db_.LastInsertRowId();
}

Result<size_t> Store::RecordResults(const std::vector<std::pair<Job, ExecutionResult>>& batch) {
  const std::string now = UtcNow();
  size_t stored = 0;
  Status status = InTransaction([&]() -> Status {
    for (const auto& [job, result] : batch) {
      Result<bool> is_new = StoreResult(job, result, now);
      if (!is_new.ok()) {
        return Status::Error(fmt::format("job {} of campaign {}: {}", job.index, job.campaign,
                                         is_new.status().message()));
      }
      stored += *is_new ? 1 : 0;
    }
    return Status::Ok();
  });
  if (!status.ok()) return Fail("storing results", status);
  return stored;
}

// Returns false, storing nothing, when the job already has a result.
Result<bool> Store::StoreResult(const Job& job, const ExecutionResult& result,
                                const std::string& now) {
  Result<int64_t> target_id = TargetId(job.target);
  if (!target_id.ok()) return target_id.status();
  Result<int64_t> input_id = InputId(job.input);
  if (!input_id.ok()) return input_id.status();
  Statement& insert = insert_execution_;
  insert.Reset();
  insert.BindInt(1, static_cast<int64_t>(job.campaign))
      .BindInt(2, static_cast<int64_t>(job.index))
      .BindInt(3, *target_id)
      .BindInt(4, *input_id)
      .BindInt(5, job.repeat)
      .BindText(6, result.status)
      .BindInt(7, result.escape_detected ? 1 : 0)
      .BindDouble(8, result.duration_ms)
      .BindText(9, result.error)
      .BindText(10, result.output)
      .BindText(11, result.agent)
      .BindText(12, now);
  if (Status s = insert.Run(); !s.ok()) return s;
  if (db_.Changes() == 0) return false;  // ON CONFLICT DO NOTHING: a duplicate
  const int64_t execution_id = db_.LastInsertRowId();
  if (Status s = StoreEscapes(execution_id, result.escapes, false); !s.ok()) return s;
  if (Status s = StoreEscapes(execution_id, result.transient, true); !s.ok()) return s;
  return true;
}

Status Store::StoreEscapes(int64_t execution_id, const std::vector<Escape>& escapes,
                           bool transient) {
  for (const Escape& escape : escapes) {
    insert_escape_.Reset();
    insert_escape_.BindInt(1, execution_id)
        .BindInt(2, transient ? 1 : 0)
        .BindText(3, escape.kind)
        .BindText(4, escape.name)
        .BindInt(5, escape.daemon ? 1 : 0)
        .BindOptionalInt(6, escape.pid)
        .BindOptionalInt(7, escape.native_id)
        .BindText(8, escape.started_at)
        .BindText(9, escape.started_in)
        .BindText(10, escape.running);
    if (Status s = insert_escape_.Run(); !s.ok()) return s;
  }
  return Status::Ok();
}

Status Store::FinishCampaign(uint64_t campaign, std::string_view status) {
  const std::string doing = fmt::format("finishing campaign {}", campaign);
  Result<Statement> update =
      db_.Prepare("UPDATE campaigns SET status = ?1, finished_at = ?2 WHERE id = ?3");
  if (!update.ok()) return Fail(doing, update.status());
  update->BindText(1, status).BindText(2, UtcNow()).BindInt(3, static_cast<int64_t>(campaign));
  if (Status s = update->Run(); !s.ok()) return Fail(doing, s);
  if (db_.Changes() == 0) return Fail(doing, Status::Error("no such campaign"));
  return Status::Ok();
}

Result<CampaignRecord> Store::GetCampaign(uint64_t campaign) {
  const std::string doing = fmt::format("reading campaign {}", campaign);
  Result<Statement> select =
      db_.Prepare(fmt::format("SELECT {} FROM campaigns WHERE id = ?1", kCampaignColumns));
  if (!select.ok()) return Fail(doing, select.status());
  select->BindInt(1, static_cast<int64_t>(campaign));
  Result<bool> found = select->Step();
  if (!found.ok()) return Fail(doing, found.status());
  if (!*found) return Fail(doing, Status::Error("no such campaign"));
  return ReadCampaign(*select);
}

Result<std::vector<CampaignRecord>> Store::CampaignsWithStatus(std::string_view status) {
  const std::string doing = fmt::format("listing {} campaigns", status);
  Result<Statement> select = db_.Prepare(
      fmt::format("SELECT {} FROM campaigns WHERE status = ?1 ORDER BY id", kCampaignColumns));
  if (!select.ok()) return Fail(doing, select.status());
  select->BindText(1, status);
  Result<std::vector<CampaignRecord>> campaigns = ReadCampaigns(*select);
  if (!campaigns.ok()) return Fail(doing, campaigns.status());
  return campaigns;
}

Result<std::vector<CampaignRecord>> Store::RecentCampaigns(size_t limit) {
  const std::string_view doing = "listing recent campaigns";
  Result<Statement> select = db_.Prepare(
      fmt::format("SELECT {} FROM campaigns ORDER BY id DESC LIMIT ?1", kCampaignColumns));
  if (!select.ok()) return Fail(doing, select.status());
  // LIMIT takes a signed 64-bit value; a negative one means no limit.
  select->BindInt(1, limit > static_cast<size_t>(std::numeric_limits<int64_t>::max())
                         ? -1
                         : static_cast<int64_t>(limit));
  Result<std::vector<CampaignRecord>> campaigns = ReadCampaigns(*select);
  if (!campaigns.ok()) return Fail(doing, campaigns.status());
  return campaigns;
}

Result<std::optional<uint64_t>> Store::CampaignBySubmission(std::string_view submission) {
  Result<std::optional<uint64_t>> found = FindSubmission(submission);
  if (!found.ok()) {
    return Fail(fmt::format("finding the campaign of submission {}", submission), found.status());
  }
  return found;
}

Result<std::vector<TargetInfo>> Store::CampaignTargets(uint64_t campaign) {
  const std::string doing = fmt::format("reading the targets of campaign {}", campaign);
  Result<Statement> select = db_.Prepare(
      "SELECT t.name, ct.file, ct.line, ct.expected, ct.reason FROM campaign_targets AS ct "
      "JOIN targets AS t ON t.id = ct.target_id WHERE ct.campaign_id = ?1 ORDER BY ct.position");
  if (!select.ok()) return Fail(doing, select.status());
  select->BindInt(1, static_cast<int64_t>(campaign));
  std::vector<TargetInfo> targets;
  while (true) {
    Result<bool> row = select->Step();
    if (!row.ok()) return Fail(doing, row.status());
    if (!*row) return targets;
    TargetInfo& target = targets.emplace_back();
    target.spec = select->ColumnText(0);
    target.ok = true;
    target.file = select->ColumnText(1);
    target.line = select->ColumnInt(2);
    target.expected = select->ColumnText(3);
    target.reason = select->ColumnText(4);
  }
}

Result<std::vector<std::string>> Store::CampaignInputs(uint64_t campaign) {
  const std::string doing = fmt::format("reading the inputs of campaign {}", campaign);
  Result<Statement> select = db_.Prepare(
      "SELECT i.value FROM campaign_inputs AS ci JOIN inputs AS i ON i.id = ci.input_id "
      "WHERE ci.campaign_id = ?1 ORDER BY ci.position");
  if (!select.ok()) return Fail(doing, select.status());
  select->BindInt(1, static_cast<int64_t>(campaign));
  std::vector<std::string> inputs;
  while (true) {
    Result<bool> row = select->Step();
    if (!row.ok()) return Fail(doing, row.status());
    if (!*row) return inputs;
    inputs.push_back(select->ColumnBlob(0));
  }
}

Status Store::PutBundle(std::string_view hash, std::string_view content) {
  const std::string doing = fmt::format("storing bundle {}", hash);
  Result<Statement> insert = db_.Prepare(
      "INSERT OR IGNORE INTO bundles (hash, content, size, created_at) VALUES (?1, ?2, ?3, ?4)");
  if (!insert.ok()) return Fail(doing, insert.status());
  insert->BindText(1, hash)
      .BindBlob(2, content)
      .BindInt(3, static_cast<int64_t>(content.size()))
      .BindText(4, UtcNow());
  if (Status s = insert->Run(); !s.ok()) return Fail(doing, s);
  return Status::Ok();
}

Result<std::optional<std::string>> Store::GetBundle(std::string_view hash) {
  const std::string doing = fmt::format("reading bundle {}", hash);
  Result<Statement> select = db_.Prepare("SELECT content FROM bundles WHERE hash = ?1");
  if (!select.ok()) return Fail(doing, select.status());
  select->BindText(1, hash);
  Result<bool> found = select->Step();
  if (!found.ok()) return Fail(doing, found.status());
  if (!*found) return std::optional<std::string>();
  return std::optional<std::string>(select->ColumnBlob(0));
}

Result<ResultCounts> Store::CountResults(uint64_t campaign) {
  const std::string doing = fmt::format("counting the results of campaign {}", campaign);
  Result<Statement> select = db_.Prepare(
      "SELECT coalesce(sum(executions), 0), coalesce(sum(escapes), 0) "
      "FROM campaign_target_counts WHERE campaign_id = ?1");
  if (!select.ok()) return Fail(doing, select.status());
  select->BindInt(1, static_cast<int64_t>(campaign));
  Result<bool> row = select->Step();
  if (!row.ok()) return Fail(doing, row.status());
  return ResultCounts{.results = static_cast<uint64_t>(select->ColumnInt(0)),
                      .escapes = static_cast<uint64_t>(select->ColumnInt(1))};
}

Result<std::vector<JobRange>> Store::MissingJobs(uint64_t campaign, uint64_t total) {
  const std::string doing = fmt::format("finding the missing jobs of campaign {}", campaign);
  Result<Statement> select = db_.Prepare(
      "SELECT job_index FROM executions WHERE campaign_id = ?1 AND job_index < ?2 "
      "ORDER BY job_index");
  if (!select.ok()) return Fail(doing, select.status());
  select->BindInt(1, static_cast<int64_t>(campaign)).BindInt(2, static_cast<int64_t>(total));
  std::vector<JobRange> missing;
  uint64_t next = 0;  // the first index not yet known to be stored
  while (true) {
    Result<bool> row = select->Step();
    if (!row.ok()) return Fail(doing, row.status());
    const uint64_t stored = *row ? static_cast<uint64_t>(select->ColumnInt(0)) : total;
    if (stored > next) missing.push_back({next, stored});
    next = stored + 1;
    if (!*row) return missing;
  }
}

Result<Store::CampaignSelection> Store::CampaignsSince(std::string_view since) {
  Result<Statement> select = db_.Prepare(
      "SELECT (SELECT count(*) FROM campaigns WHERE created_at < ?1), "
      "min(id), count(*) FROM campaigns WHERE created_at >= ?1");
  if (!select.ok()) return select.status();
  select->BindText(1, since);
  Result<bool> row = select->Step();
  if (!row.ok()) return row.status();
  const int64_t before = select->ColumnInt(0), first = select->ColumnInt(1),
                since_count = select->ColumnInt(2);
  if (before == 0) return CampaignSelection{};  // all of them
  Result<Statement> suffix = db_.Prepare("SELECT count(*) FROM campaigns WHERE id >= ?1");
  if (!suffix.ok()) return suffix.status();
  suffix->BindInt(1, first);
  if (Status s = suffix->Step().status(); !s.ok()) return s;
  // The unary + keeps SQLite from reading the counts through their campaign
  // index, which is far slower than one pass in key order when the
  // campaigns are many.
  if (suffix->ColumnInt(0) == since_count) return CampaignSelection{"+c.campaign_id >= ?3", first};
  return CampaignSelection{
      "+c.campaign_id IN (SELECT id FROM campaigns WHERE created_at >= ?2 AND id >= ?3)", first};
}

Result<std::vector<InputHistory>> Store::InputHistories(const HistoryFilter& filter) {
  const std::string doing = "reading the history of targets " + filter.target_glob;
  // Which campaigns' counts to add up; none: all campaigns, whose sums
  // input_counts holds already.
  CampaignSelection selection;
  if (filter.campaign != 0) {
    selection = {"c.campaign_id = ?3 AND (SELECT created_at FROM campaigns WHERE id = ?3) >= ?2",
                 static_cast<int64_t>(filter.campaign)};
  } else if (!filter.since.empty()) {
    Result<CampaignSelection> since = CampaignsSince(filter.since);
    if (!since.ok()) return Fail(doing, since.status());
    selection = *since;
  }
  const std::string& campaigns = selection.condition;
  const std::string counts =
      campaigns.empty()
          ? "SELECT target_id, input_id, executions, escapes, campaigns FROM input_counts AS c "
            "WHERE target_id IN (SELECT id FROM targets WHERE name GLOB ?1)"
          : "SELECT target_id, input_id, sum(executions) AS executions, sum(escapes) AS escapes, "
            "count(*) AS campaigns FROM campaign_input_counts AS c "
            "WHERE target_id IN (SELECT id FROM targets WHERE name GLOB ?1) AND " +
                campaigns + " GROUP BY target_id, input_id";
  Result<Statement> select = db_.Prepare(
      "SELECT t.name, i.value, g.executions, g.escapes, g.campaigns, a.last_run FROM (" + counts +
      ") AS g JOIN targets AS t ON t.id = g.target_id JOIN inputs AS i ON i.id = g.input_id "
      "JOIN input_counts AS a ON a.target_id = g.target_id AND a.input_id = g.input_id "
      "ORDER BY t.name, g.input_id");
  if (!select.ok()) return Fail(doing, select.status());
  select->BindText(1, filter.target_glob);
  if (!campaigns.empty()) {
    // SQLite refuses to bind a parameter the statement does not use.
    if (campaigns.find("?2") != std::string::npos) select->BindText(2, filter.since);
    select->BindInt(3, selection.id);
  }
  std::vector<InputHistory> rows;
  while (true) {
    Result<bool> row = select->Step();
    if (!row.ok()) return Fail(doing, row.status());
    if (!*row) return rows;
    rows.push_back(InputHistory{.target = select->ColumnText(0),
                                .input = select->ColumnBlob(1),
                                .executions = static_cast<uint64_t>(select->ColumnInt(2)),
                                .escapes = static_cast<uint64_t>(select->ColumnInt(3)),
                                .campaigns = static_cast<uint64_t>(select->ColumnInt(4)),
                                .last_run = select->ColumnText(5)});
  }
}

Result<std::vector<CampaignRate>> Store::TargetHistory(std::string_view target) {
  const std::string doing = fmt::format("reading the history of {}", target);
  Result<Statement> select = db_.Prepare(
      "SELECT k.campaign_id, c.created_at, k.executions, k.escapes "
      "FROM campaign_target_counts AS k JOIN campaigns AS c ON c.id = k.campaign_id "
      "WHERE k.target_id = (SELECT id FROM targets WHERE name = ?1) "
      "ORDER BY c.created_at, k.campaign_id");
  if (!select.ok()) return Fail(doing, select.status());
  select->BindText(1, target);
  std::vector<CampaignRate> rows;
  while (true) {
    Result<bool> row = select->Step();
    if (!row.ok()) return Fail(doing, row.status());
    if (!*row) return rows;
    rows.push_back(CampaignRate{.campaign = static_cast<uint64_t>(select->ColumnInt(0)),
                                .created_at = select->ColumnText(1),
                                .executions = static_cast<uint64_t>(select->ColumnInt(2)),
                                .escapes = static_cast<uint64_t>(select->ColumnInt(3))});
  }
}

Status Store::ForEachExecution(uint64_t campaign,
                               const std::function<void(const StoredExecution&)>& visit) {
  return VisitExecutions(campaign, 0, -1,
                         fmt::format("reading the executions of campaign {}", campaign), visit);
}

Result<std::vector<StoredExecution>> Store::ExecutionsPage(uint64_t campaign, uint64_t first_index,
                                                           size_t limit) {
  std::vector<StoredExecution> page;
  constexpr uint64_t kMaxIndex = std::numeric_limits<int64_t>::max();  // job_index is signed
  if (first_index > kMaxIndex || limit == 0) return page;
  Status s = VisitExecutions(
      campaign, first_index, limit > kMaxIndex ? -1 : static_cast<int64_t>(limit),
      fmt::format("reading the executions of campaign {} from job {}", campaign, first_index),
      [&page](const StoredExecution& execution) { page.push_back(execution); });
  if (!s.ok()) return s;
  return page;
}

Status Store::VisitExecutions(uint64_t campaign, uint64_t first_index, int64_t limit,
                              std::string_view doing,
                              const std::function<void(const StoredExecution&)>& visit) {
  Result<Statement> select = db_.Prepare(
      "SELECT e.id, e.job_index, t.name, i.value, e.repeat, e.status, e.escape_detected, "
      "e.duration_ms, e.error, e.output, e.agent, e.finished_at FROM executions AS e "
      "JOIN targets AS t ON t.id = e.target_id JOIN inputs AS i ON i.id = e.input_id "
      "WHERE e.campaign_id = ?1 AND e.job_index >= ?2 ORDER BY e.job_index LIMIT ?3");
  Result<Statement> select_escapes = db_.Prepare(
      "SELECT transient, kind, name, daemon, pid, native_id, started_at, started_in, running "
      "FROM escapes WHERE execution_id = ?1 ORDER BY id");
  if (!select.ok()) return Fail(doing, select.status());
  if (!select_escapes.ok()) return Fail(doing, select_escapes.status());
  select->BindInt(1, static_cast<int64_t>(campaign))
      .BindInt(2, static_cast<int64_t>(first_index))
      .BindInt(3, limit);
  while (true) {
    Result<bool> row = select->Step();
    if (!row.ok()) return Fail(doing, row.status());
    if (!*row) return Status::Ok();
    StoredExecution execution = ReadExecution(*select, campaign);
    if (Status s = ReadEscapes(select->ColumnInt(0), *select_escapes, execution.result); !s.ok()) {
      return Fail(doing, s);
    }
    visit(execution);
  }
}

}  // namespace graphene
