#include "store/store.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/test_util.h"
#include "schema/database.h"
#include "schema/names.h"
#include "store/migration.h"
#include "store/sqlite.h"

namespace graphene {
namespace {

#include "kDatabaseV1Sql.inc"

using namespace std::string_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

using Batch = std::vector<std::pair<Job, ExecutionResult>>;

constexpr char kThreads[] = "fixtures/python/escape_threads.py:spawn_daemon_thread";
constexpr char kSafe[] = "fixtures/python/safe.py:joins_its_thread";

Job MakeJob(uint64_t campaign, uint64_t index, std::string target, std::string input,
            uint32_t repeat = 0) {
  Job job;
  job.campaign = campaign;
  job.index = index;
  job.target = std::move(target);
  job.input = std::move(input);
  job.repeat = repeat;
  return job;
}

Escape MakeThread(std::string name) {
  Escape escape;
  escape.kind = kKindThread;
  escape.name = std::move(name);
  escape.daemon = true;
  escape.native_id = 4242;
  escape.started_at = "fixtures/python/escape_threads.py:12";
  escape.started_in = "spawn_daemon_thread";
  escape.running = "worker";
  return escape;
}

ExecutionResult MakeResult(bool escaped) {
  ExecutionResult result;
  result.status = kStatusOk;
  result.escape_detected = escaped;
  if (escaped) result.escapes.push_back(MakeThread("Thread-1 (worker)"));
  result.duration_ms = 1.5;
  result.agent = "host:1";
  return result;
}

// What a client compares when checking a page of results against
// ForEachExecution(): the job, the result and its escapes by name.
std::string Summary(const StoredExecution& e) {
  std::string summary =
      fmt::format("{} {} {:?} {} {} {} {} {}", e.job_index, e.target, e.input, e.repeat,
                  e.result.status, e.result.escape_detected, e.result.agent, e.finished_at);
  for (const Escape& escape : e.result.escapes) summary += " escape:" + escape.name;
  for (const Escape& escape : e.result.transient) summary += " transient:" + escape.name;
  return summary;
}

std::vector<uint64_t> Ids(const std::vector<CampaignRecord>& campaigns) {
  std::vector<uint64_t> ids;
  for (const CampaignRecord& campaign : campaigns) ids.push_back(campaign.id);
  return ids;
}

// A campaign with every version 2 field away from its default.
CampaignRecord PlannedCampaign(std::string submission) {
  CampaignRecord campaign;
  campaign.command = "graphene submit";
  campaign.root = "/src/project";
  campaign.total_jobs = 12;
  campaign.submission = std::move(submission);
  campaign.repeat = 3;
  campaign.limits.timeout_ms = 250;
  campaign.limits.grace_ms = 7;
  campaign.limits.memory_limit_mb = 512;
  campaign.limits.max_processes = 9;
  campaign.limits.strict = true;
  return campaign;
}

void ExpectPlan(const CampaignRecord& out, const CampaignRecord& in) {
  EXPECT_EQ(out.command, in.command);
  EXPECT_EQ(out.total_jobs, in.total_jobs);
  EXPECT_EQ(out.submission, in.submission);
  EXPECT_EQ(out.bundle, in.bundle);
  EXPECT_EQ(out.repeat, in.repeat);
  EXPECT_EQ(out.limits.timeout_ms, in.limits.timeout_ms);
  EXPECT_EQ(out.limits.grace_ms, in.limits.grace_ms);
  EXPECT_EQ(out.limits.memory_limit_mb, in.limits.memory_limit_mb);
  EXPECT_EQ(out.limits.max_processes, in.limits.max_processes);
  EXPECT_EQ(out.limits.strict, in.limits.strict);
}

class StoreTest : public testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<Store>> store = Store::Open(path_);
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(*store);
  }

  uint64_t NewCampaign(uint64_t total_jobs = 0) {
    CampaignRecord campaign;
    campaign.command = "graphene analyze";
    campaign.total_jobs = total_jobs;
    Result<uint64_t> id = store_->CreateCampaign(campaign);
    EXPECT_TRUE(id.ok()) << id.status().message();
    return id.ok() ? *id : 0;
  }

  void Record(const Batch& batch, size_t expected_new) {
    Result<size_t> stored = store_->RecordResults(batch);
    ASSERT_TRUE(stored.ok()) << stored.status().message();
    EXPECT_EQ(*stored, expected_new);
  }

  std::vector<StoredExecution> ReadAll(uint64_t campaign) {
    std::vector<StoredExecution> all;
    Status s =
        store_->ForEachExecution(campaign, [&](const StoredExecution& e) { all.push_back(e); });
    EXPECT_TRUE(s.ok()) << s.message();
    return all;
  }

  // A second, plain connection, as the sqlite3 shell or a reader would have.
  Database RawConnection() {
    Result<Database> db = Database::Open(path_);
    EXPECT_TRUE(db.ok()) << db.status().message();
    return std::move(*db);
  }

  TempDir dir_;
  std::string path_ = dir_.File("results.db");
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, CampaignRoundTrips) {
  CampaignRecord in;
  in.id = 99;  // ignored
  in.command = "graphene run-all --generate 50";
  in.seed = std::numeric_limits<uint64_t>::max();  // beyond int64: must keep its bits
  in.options_json = R"({"repeat":3})";
  in.root = "/src/project";
  in.git_commit = "0123abcd";
  in.status = "done";  // ignored: a new campaign is running
  in.total_jobs = 150;
  Result<uint64_t> id = store_->CreateCampaign(in);
  ASSERT_TRUE(id.ok()) << id.status().message();

  Result<CampaignRecord> out = store_->GetCampaign(*id);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->id, *id);
  EXPECT_THAT(out->created_at,
              MatchesRegex(R"(20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-9:]{8}\.[0-9]{3}Z)"));
  EXPECT_EQ(out->finished_at, "");
  EXPECT_EQ(out->command, in.command);
  EXPECT_EQ(out->seed, in.seed);
  EXPECT_EQ(out->options_json, in.options_json);
  EXPECT_EQ(out->root, in.root);
  EXPECT_EQ(out->git_commit, in.git_commit);
  EXPECT_EQ(out->status, kCampaignRunning);
  EXPECT_EQ(out->total_jobs, 150u);
}

TEST_F(StoreTest, CampaignDefaultsAndFinish) {
  CampaignRecord in;
  in.created_at = "2024-01-02T03:04:05.678Z";
  uint64_t id = Value(store_->CreateCampaign(in));
  Database raw = RawConnection();
  EXPECT_EQ(Value(raw.QueryInt(
                fmt::format("SELECT git_commit IS NULL FROM campaigns WHERE id = {}", id))),
            1);
  EXPECT_EQ(store_->GetCampaign(id)->options_json, "{}");
  EXPECT_EQ(store_->GetCampaign(id)->created_at, in.created_at);

  ASSERT_TRUE(store_->FinishCampaign(id, kCampaignDone).ok());
  Result<CampaignRecord> done = store_->GetCampaign(id);
  EXPECT_EQ(done->status, kCampaignDone);
  EXPECT_THAT(done->finished_at, StartsWith("20"));

  Status bad = store_->FinishCampaign(id, "sleeping");
  EXPECT_THAT(bad.message(), HasSubstr("CHECK constraint failed")) << "statuses are checked";
  Status missing = store_->FinishCampaign(12345, kCampaignDone);
  EXPECT_EQ(missing.message(), "finishing campaign 12345 in " + path_ + ": no such campaign");
  Result<CampaignRecord> unknown = store_->GetCampaign(12345);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().message(),
            "reading campaign 12345 in " + path_ + ": no such campaign");
}

TEST_F(StoreTest, CampaignsWithStatusListsOldestFirst) {
  uint64_t a = NewCampaign(), b = NewCampaign(), c = NewCampaign();
  ASSERT_TRUE(store_->FinishCampaign(b, kCampaignInterrupted).ok());
  Result<std::vector<CampaignRecord>> running = store_->CampaignsWithStatus(kCampaignRunning);
  ASSERT_TRUE(running.ok()) << running.status().message();
  ASSERT_EQ(running->size(), 2u);
  EXPECT_EQ((*running)[0].id, a);
  EXPECT_EQ((*running)[1].id, c);
}

TEST_F(StoreTest, CampaignTargetsRoundTripInOrder) {
  uint64_t campaign = NewCampaign();
  TargetInfo escaping{kThreads,
                      false,
                      "",
                      "fixtures/python/escape_threads.py",
                      10,
                      "ESCAPE",
                      "starts a daemon thread"};
  TargetInfo plain{kSafe, false, "", "fixtures/python/safe.py", 3, "", ""};
  ASSERT_TRUE(store_->AddCampaignTargets(campaign, {escaping, plain, escaping}).ok());

  Result<std::vector<TargetInfo>> targets = store_->CampaignTargets(campaign);
  ASSERT_TRUE(targets.ok()) << targets.status().message();
  ASSERT_EQ(targets->size(), 3u);
  const TargetInfo& first = (*targets)[0];
  EXPECT_EQ(first.spec, kThreads);
  EXPECT_TRUE(first.ok);
  EXPECT_EQ(first.file, escaping.file);
  EXPECT_EQ(first.line, 10);
  EXPECT_EQ(first.expected, kExpectEscape);
  EXPECT_EQ(first.reason, escaping.reason);
  EXPECT_EQ((*targets)[1].spec, kSafe);
  EXPECT_EQ((*targets)[1].expected, "");
  EXPECT_EQ((*targets)[2].spec, kThreads);

  Database raw = RawConnection();
  EXPECT_EQ(Value(raw.QueryInt("SELECT count(*) FROM campaign_targets WHERE expected IS NULL")), 1);
  EXPECT_EQ(Value(raw.QueryInt("SELECT count(*) FROM targets")), 2) << "targets are shared";
}

TEST_F(StoreTest, AddCampaignTargetsNeedsTheCampaign) {
  Status s = store_->AddCampaignTargets(777, {TargetInfo{kSafe, true, "", "f.py", 1, "", ""}});
  EXPECT_EQ(s.message(),
            "adding targets to campaign 777 in " + path_ + ": FOREIGN KEY constraint failed");
}

TEST_F(StoreTest, ResultsRoundTripWithEscapesAndTransients) {
  uint64_t campaign = NewCampaign(5);
  const std::vector<std::string> inputs = {"hello", "a\0b\0"s, "", "héllo ✓ 🧵",
                                           "\xff\xfe\x80"s};
  Batch batch;
  for (size_t i = 0; i < inputs.size(); ++i) {
    batch.emplace_back(MakeJob(campaign, i, kThreads, inputs[i], i % 2), MakeResult(i % 2 == 0));
  }
  ExecutionResult& rich = batch[0].second;
  rich.status = kStatusException;
  rich.error = "ValueError: boom";
  rich.output = "line 1\nline\0 2"s;
  rich.duration_ms = 101.25;
  Escape process;
  process.kind = kKindProcess;
  process.name = "Process-1";
  process.pid = 31337;  // native_id stays null
  process.running = "python -c 'sleep'";
  rich.escapes.push_back(process);
  rich.transient.push_back(MakeThread("Thread-2 (short)"));
  Record(batch, inputs.size());

  std::vector<StoredExecution> all = ReadAll(campaign);
  ASSERT_EQ(all.size(), inputs.size());
  for (size_t i = 0; i < all.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(all[i].job_index, i);
    EXPECT_EQ(all[i].target, kThreads);
    EXPECT_EQ(all[i].input, inputs[i]);
    EXPECT_EQ(all[i].repeat, i % 2);
    EXPECT_EQ(all[i].result.campaign, campaign);
    EXPECT_EQ(all[i].result.index, i);
    EXPECT_EQ(all[i].result.escape_detected, i % 2 == 0);
    EXPECT_EQ(all[i].result.agent, "host:1");
    EXPECT_THAT(all[i].finished_at, StartsWith("20"));
  }
  const ExecutionResult& back = all[0].result;
  EXPECT_EQ(back.status, kStatusException);
  EXPECT_EQ(back.error, rich.error);
  EXPECT_EQ(back.output, rich.output);
  EXPECT_DOUBLE_EQ(back.duration_ms, 101.25);
  ASSERT_EQ(back.escapes.size(), 2u);
  EXPECT_EQ(back.escapes[0].name, "Thread-1 (worker)");
  EXPECT_TRUE(back.escapes[0].daemon);
  EXPECT_EQ(back.escapes[0].pid, std::nullopt);
  EXPECT_EQ(back.escapes[0].native_id, 4242);
  EXPECT_EQ(back.escapes[0].started_at, "fixtures/python/escape_threads.py:12");
  EXPECT_EQ(back.escapes[0].started_in, "spawn_daemon_thread");
  EXPECT_EQ(back.escapes[0].running, "worker");
  EXPECT_EQ(back.escapes[1].kind, kKindProcess);
  EXPECT_FALSE(back.escapes[1].daemon);
  EXPECT_EQ(back.escapes[1].pid, 31337);
  EXPECT_EQ(back.escapes[1].native_id, std::nullopt);
  ASSERT_EQ(back.transient.size(), 1u);
  EXPECT_EQ(back.transient[0].name, "Thread-2 (short)");
  EXPECT_TRUE(all[1].result.escapes.empty());
  EXPECT_TRUE(all[1].result.transient.empty());

  Database raw = RawConnection();
  EXPECT_EQ(Value(raw.QueryInt("SELECT typeof(value) = 'blob' FROM inputs WHERE id = 1")), 1);
  EXPECT_EQ(Value(raw.QueryInt("SELECT count(*) FROM inputs")), 5) << "empty input is its own row";
}

TEST_F(StoreTest, DuplicateResultsAreIgnoredAndCounted) {
  uint64_t campaign = NewCampaign(4);
  Record({{MakeJob(campaign, 0, kThreads, "a"), MakeResult(true)},
          {MakeJob(campaign, 1, kThreads, "a", 1), MakeResult(true)}},
         2);
  ExecutionResult rerun = MakeResult(false);
  rerun.agent = "other:2";
  Record({{MakeJob(campaign, 1, kThreads, "a", 1), rerun},  // stored before
          {MakeJob(campaign, 2, kThreads, "b"), MakeResult(true)},
          {MakeJob(campaign, 2, kThreads, "b"), rerun}},  // twice in one batch
         1);
  EXPECT_EQ(Value(store_->CountResults(campaign)).results, 3u);
  EXPECT_EQ(Value(store_->CountResults(campaign)).escapes, 3u)
      << "the first result of each job counts";

  std::vector<StoredExecution> all = ReadAll(campaign);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[1].result.agent, "host:1") << "the first result stays";
  EXPECT_EQ(all[2].result.agent, "host:1");
  EXPECT_EQ(all[1].result.escapes.size(), 1u) << "a duplicate adds no escapes";
  Database raw = RawConnection();
  EXPECT_EQ(Value(raw.QueryInt("SELECT count(*) FROM escapes")), 3);

  uint64_t other = NewCampaign();
  Record({{MakeJob(other, 0, kThreads, "a"), MakeResult(true)}}, 1);  // same index, new campaign
}

TEST_F(StoreTest, FailedBatchStoresNothingAndLaterBatchesWork) {
  uint64_t campaign = NewCampaign(2);
  Result<size_t> stored =
      store_->RecordResults({{MakeJob(campaign, 0, "brand/new.py:target", "x"), MakeResult(true)},
                             {MakeJob(424242, 0, kThreads, "y"), MakeResult(false)}});
  ASSERT_FALSE(stored.ok());
  EXPECT_EQ(stored.status().message(), "storing results in " + path_ +
                                           ": job 0 of campaign 424242: FOREIGN KEY constraint "
                                           "failed");
  EXPECT_EQ(Value(store_->CountResults(campaign)).results, 0u);
  // The target row of the failed batch was rolled back; the store must not
  // keep using its id.
  Record({{MakeJob(campaign, 0, "brand/new.py:target", "x"), MakeResult(true)}}, 1);
  std::vector<StoredExecution> all = ReadAll(campaign);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].target, "brand/new.py:target");
}

TEST_F(StoreTest, MissingJobsListsGapsForResuming) {
  uint64_t campaign = NewCampaign(10);
  Result<std::vector<JobRange>> none_stored = store_->MissingJobs(campaign, 10);
  ASSERT_TRUE(none_stored.ok()) << none_stored.status().message();
  EXPECT_THAT(*none_stored, ElementsAre(JobRange{0, 10}));

  Batch batch;
  for (uint64_t index : {0, 1, 4, 6, 9}) {
    batch.emplace_back(MakeJob(campaign, index, kThreads, "in"), MakeResult(false));
  }
  Record(batch, 5);
  EXPECT_EQ(Value(store_->CountResults(campaign)).results, 5u);
  EXPECT_THAT(Value(store_->MissingJobs(campaign, 10)),
              ElementsAre(JobRange{2, 4}, JobRange{5, 6}, JobRange{7, 9}));
  EXPECT_THAT(Value(store_->MissingJobs(campaign, 12)),
              ElementsAre(JobRange{2, 4}, JobRange{5, 6}, JobRange{7, 9}, JobRange{10, 12}));
  EXPECT_THAT(Value(store_->MissingJobs(campaign, 2)), ElementsAre());
  EXPECT_EQ(Value(store_->CountResults(NewCampaign())).results, 0u);
}

TEST_F(StoreTest, ViewsCountExecutionsEscapesAndRates) {
  uint64_t first = NewCampaign(), second = NewCampaign();
  ASSERT_TRUE(store_
                  ->AddCampaignTargets(first, {{kThreads, true, "", "t.py", 1, "ESCAPE", ""},
                                               {kSafe, true, "", "s.py", 1, "", ""}})
                  .ok());
  // kThreads: input "a" escapes 1 of 2 times (flaky), "b" never (input-
  // dependent overall); kSafe never escapes.
  Record({{MakeJob(first, 0, kThreads, "a", 0), MakeResult(true)},
          {MakeJob(first, 1, kThreads, "a", 1), MakeResult(false)},
          {MakeJob(first, 2, kThreads, "b", 0), MakeResult(false)},
          {MakeJob(first, 3, kSafe, "a", 0), MakeResult(false)},
          {MakeJob(second, 0, kThreads, "b", 0), MakeResult(false)}},
         5);
  Database raw = RawConnection();
  Result<Statement> target = raw.Prepare(
      "SELECT campaigns, inputs, escaping_inputs, flaky_inputs, executions, escapes, escape_rate, "
      "wilson_low, wilson_high FROM target_stats WHERE target = ?1");
  ASSERT_TRUE(target.ok()) << target.status().message();
  ASSERT_TRUE(Value(target->BindText(1, kThreads).Step()));
  EXPECT_EQ(target->ColumnInt(0), 2);
  EXPECT_EQ(target->ColumnInt(1), 2);
  EXPECT_EQ(target->ColumnInt(2), 1);
  EXPECT_EQ(target->ColumnInt(3), 1);
  EXPECT_EQ(target->ColumnInt(4), 4);
  EXPECT_EQ(target->ColumnInt(5), 1);
  EXPECT_DOUBLE_EQ(target->ColumnDouble(6), 0.25);
  EXPECT_NEAR(target->ColumnDouble(7), 0.0456, 1e-4);  // Wilson 95% for 1 of 4
  EXPECT_NEAR(target->ColumnDouble(8), 0.6994, 1e-4);

  Result<Statement> input = raw.Prepare(
      "SELECT executions, escapes, escape_rate, wilson_low, wilson_high, flaky "
      "FROM input_stats WHERE target = ?1 AND input = ?2");
  ASSERT_TRUE(Value(input->BindText(1, kThreads).BindBlob(2, "a").Step()));
  EXPECT_EQ(input->ColumnInt(0), 2);
  EXPECT_EQ(input->ColumnInt(1), 1);
  EXPECT_DOUBLE_EQ(input->ColumnDouble(2), 0.5);
  EXPECT_NEAR(input->ColumnDouble(3), 0.0945, 1e-4);
  EXPECT_NEAR(input->ColumnDouble(4), 0.9055, 1e-4);
  EXPECT_EQ(input->ColumnInt(5), 1);
  input->Reset();
  ASSERT_TRUE(Value(input->BindText(1, kThreads).BindBlob(2, "b").Step()));
  EXPECT_EQ(input->ColumnInt(0), 2);
  EXPECT_EQ(input->ColumnInt(1), 0);
  EXPECT_DOUBLE_EQ(input->ColumnDouble(3), 0.0);
  EXPECT_EQ(input->ColumnInt(5), 0);

  Result<Statement> per_campaign = raw.Prepare(
      "SELECT campaign_id, target, expected, executions, escapes, escape_rate "
      "FROM campaign_target_stats ORDER BY campaign_id, target");
  std::vector<std::string> rows;
  while (Value(per_campaign->Step())) {
    rows.push_back(fmt::format("{} {} {} {}/{} {}", per_campaign->ColumnInt(0),
                               per_campaign->ColumnText(1), per_campaign->ColumnText(2),
                               per_campaign->ColumnInt(4), per_campaign->ColumnInt(3),
                               per_campaign->ColumnDouble(5)));
  }
  EXPECT_THAT(rows, ElementsAre(fmt::format("{} {} ESCAPE 1/3 {}", first, kThreads, 1.0 / 3),
                                fmt::format("{} {}  0/1 0", first, kSafe),
                                fmt::format("{} {}  0/1 0", second, kThreads)));
}

TEST_F(StoreTest, ViewsGiveVerdictsCampaignsAndEscapeSites) {
  CampaignRecord record;
  record.command = "graphene run-all";
  record.git_commit = "0123456789abcdef0123456789abcdef01234567";
  record.total_jobs = 6;
  const uint64_t campaign = Value(store_->CreateCampaign(record));
  const std::string kInputDependent = "t.py:by_input", kFlaky = "t.py:flaky";
  Record({{MakeJob(campaign, 0, kThreads, "a"), MakeResult(true)},
          {MakeJob(campaign, 1, kSafe, "a"), MakeResult(false)},
          {MakeJob(campaign, 2, kInputDependent, "a"), MakeResult(true)},
          {MakeJob(campaign, 3, kInputDependent, "b"), MakeResult(false)},
          {MakeJob(campaign, 4, kFlaky, "a"), MakeResult(true)},
          {MakeJob(campaign, 5, kFlaky, "a", 1), MakeResult(false)}},
         6);
  Database raw = RawConnection();
  Result<Statement> verdicts =
      raw.Prepare("SELECT target, verdict, always_inputs FROM target_stats ORDER BY target");
  ASSERT_TRUE(verdicts.ok()) << verdicts.status().message();
  std::vector<std::string> rows;
  while (Value(verdicts->Step())) {
    rows.push_back(fmt::format("{} {} {}", verdicts->ColumnText(0), verdicts->ColumnText(1),
                               verdicts->ColumnInt(2)));
  }
  // The same verdicts as history::ClassifyTarget.
  EXPECT_THAT(rows,
              ElementsAre(fmt::format("{} ESCAPE 1", kThreads), fmt::format("{} SAFE 0", kSafe),
                          "t.py:by_input INPUT-DEPENDENT 1", "t.py:flaky FLAKY 0"));

  Result<Statement> listed = raw.Prepare(
      "SELECT git_commit, jobs, targets, executions, escapes, escape_rate FROM campaign_stats");
  ASSERT_TRUE(Value(listed->Step()));
  EXPECT_EQ(listed->ColumnText(0), record.git_commit);
  EXPECT_EQ(listed->ColumnInt(1), 6);
  EXPECT_EQ(listed->ColumnInt(2), 4);
  EXPECT_EQ(listed->ColumnInt(3), 6);
  EXPECT_EQ(listed->ColumnInt(4), 3);
  EXPECT_DOUBLE_EQ(listed->ColumnDouble(5), 0.5);

  Result<Statement> sites = raw.Prepare(
      "SELECT target, started_at, kind, executions, first_campaign FROM escape_sites "
      "ORDER BY target");
  rows.clear();
  while (Value(sites->Step())) {
    rows.push_back(fmt::format("{} {} {} {} {}", sites->ColumnText(0), sites->ColumnText(1),
                               sites->ColumnText(2), sites->ColumnInt(3), sites->ColumnInt(4)));
  }
  const std::string at =
      "fixtures/python/escape_threads.py:12 thread 1 " + std::to_string(campaign);
  EXPECT_THAT(rows, ElementsAre(fmt::format("{} {}", kThreads, at), "t.py:by_input " + at,
                                "t.py:flaky " + at));
}

// How many rows of the count tables differ from counting `executions` again,
// both ways: 0 when the triggers kept them exact.
int64_t CountMismatches(Database& db) {
  constexpr std::string_view kPairs[][2] = {
      {"SELECT target_id, input_id, campaign_id, executions, escapes FROM campaign_input_counts",
       "SELECT target_id, input_id, campaign_id, count(*), sum(escape_detected) FROM executions "
       "GROUP BY target_id, input_id, campaign_id"},
      {"SELECT target_id, input_id, campaigns, executions, escapes FROM input_counts",
       "SELECT target_id, input_id, count(DISTINCT campaign_id), count(*), sum(escape_detected) "
       "FROM executions GROUP BY target_id, input_id"},
      {"SELECT target_id, campaign_id, inputs, escaping_inputs, executions, escapes "
       "FROM campaign_target_counts",
       "SELECT target_id, campaign_id, count(*), sum(e > 0), sum(n), sum(e) FROM ("
       "  SELECT target_id, campaign_id, count(*) AS n, sum(escape_detected) AS e "
       "  FROM executions GROUP BY target_id, input_id, campaign_id) "
       "GROUP BY target_id, campaign_id"},
  };
  int64_t mismatches = 0;
  for (const auto& [kept, recounted] : kPairs) {
    for (const auto& [a, b] : {std::pair(kept, recounted), std::pair(recounted, kept)}) {
      mismatches += Value(db.QueryInt(fmt::format("SELECT count(*) FROM ({} EXCEPT {})", a, b)));
    }
  }
  return mismatches;
}

TEST_F(StoreTest, CountsFollowInsertsEditsAndDeletes) {
  uint64_t first = NewCampaign(), second = NewCampaign();
  Record({{MakeJob(first, 0, kThreads, "a"), MakeResult(true)},
          {MakeJob(first, 1, kThreads, "a", 1), MakeResult(false)},
          {MakeJob(first, 2, kThreads, "b"), MakeResult(false)},
          {MakeJob(first, 3, kSafe, "a"), MakeResult(false)},
          {MakeJob(second, 0, kThreads, "a"), MakeResult(true)},
          {MakeJob(second, 1, kThreads, "b"), MakeResult(true)}},
         6);
  Record({{MakeJob(second, 1, kThreads, "b"), MakeResult(false)}}, 0);  // a duplicate
  Database raw = RawConnection();
  ASSERT_TRUE(raw.Exec("PRAGMA foreign_keys = ON").ok());
  EXPECT_EQ(CountMismatches(raw), 0);
  EXPECT_EQ(Value(raw.QueryInt("SELECT count(*) FROM campaign_input_counts")), 5);
  EXPECT_EQ(Value(raw.QueryInt("SELECT campaigns FROM input_counts WHERE executions = 3")), 2);

  // Edited and deleted at the shell, the counts follow.
  ASSERT_TRUE(raw.Exec(fmt::format("UPDATE executions SET escape_detected = 1 "
                                   "WHERE campaign_id = {} AND job_index = 2",
                                   first))
                  .ok());
  EXPECT_EQ(CountMismatches(raw), 0);
  ASSERT_TRUE(raw.Exec(fmt::format("UPDATE executions SET campaign_id = {} "
                                   "WHERE campaign_id = {} AND job_index = 3",
                                   second, first))
                  .ok());
  EXPECT_EQ(CountMismatches(raw), 0);
  ASSERT_TRUE(
      raw.Exec(
             fmt::format("DELETE FROM executions WHERE campaign_id = {} AND job_index = 1", second))
          .ok());
  EXPECT_EQ(CountMismatches(raw), 0);
  EXPECT_EQ(Value(store_->CountResults(second)).results, 2u);
  EXPECT_EQ(Value(store_->CountResults(second)).escapes, 1u);

  // Deleting a campaign takes its counts with it.
  ASSERT_TRUE(raw.Exec(fmt::format("DELETE FROM campaigns WHERE id = {}", first)).ok());
  EXPECT_EQ(CountMismatches(raw), 0);
  EXPECT_EQ(Value(raw.QueryInt(fmt::format(
                "SELECT count(*) FROM campaign_target_counts WHERE campaign_id = {}", first))),
            0);
  EXPECT_EQ(Value(store_->CountResults(first)).results, 0u);
}

TEST_F(StoreTest, HistoriesAddUpOverTheCampaignsAsked) {
  CampaignRecord old_one, new_one;
  old_one.created_at = "2026-11-01T10:00:00.000Z";
  new_one.created_at = "2026-11-20T10:00:00.000Z";
  const uint64_t first = Value(store_->CreateCampaign(old_one));
  const uint64_t second = Value(store_->CreateCampaign(new_one));
  Record({{MakeJob(first, 0, kThreads, "a"), MakeResult(true)},
          {MakeJob(first, 1, kThreads, "b"), MakeResult(false)},
          {MakeJob(first, 2, kSafe, "a"), MakeResult(false)},
          {MakeJob(second, 0, kThreads, "a"), MakeResult(false)},
          {MakeJob(second, 1, kThreads, "a"), MakeResult(true)}},
         5);
  auto rows = [&](HistoryFilter filter) {
    std::vector<std::string> out;
    for (const InputHistory& h : Value(store_->InputHistories(filter))) {
      out.push_back(fmt::format("{} {} {}/{} in {}", h.target, h.input, h.escapes, h.executions,
                                h.campaigns));
    }
    return out;
  };
  // Ordered by target name, then input.
  EXPECT_THAT(rows({}), ElementsAre(fmt::format("{} a 2/3 in 2", kThreads),
                                    fmt::format("{} b 0/1 in 1", kThreads),
                                    fmt::format("{} a 0/1 in 1", kSafe)));
  EXPECT_THAT(
      rows({.target_glob = "*threads*"}),
      ElementsAre(fmt::format("{} a 2/3 in 2", kThreads), fmt::format("{} b 0/1 in 1", kThreads)));
  EXPECT_THAT(rows({.since = "2026-11-10"}), ElementsAre(fmt::format("{} a 1/2 in 1", kThreads)));
  EXPECT_THAT(rows({.campaign = first}), ElementsAre(fmt::format("{} a 1/1 in 1", kThreads),
                                                     fmt::format("{} b 0/1 in 1", kThreads),
                                                     fmt::format("{} a 0/1 in 1", kSafe)));
  EXPECT_THAT(rows({.since = "2026-11-10", .campaign = first}), ElementsAre());
  EXPECT_THAT(rows({.target_glob = "nothing*"}), ElementsAre());

  std::vector<std::string> history;
  for (const CampaignRate& rate : Value(store_->TargetHistory(kThreads))) {
    history.push_back(
        fmt::format("{} {} {}/{}", rate.campaign, rate.created_at, rate.escapes, rate.executions));
  }
  EXPECT_THAT(history, ElementsAre(fmt::format("{} 2026-11-01T10:00:00.000Z 1/2", first),
                                   fmt::format("{} 2026-11-20T10:00:00.000Z 1/2", second)));
  EXPECT_TRUE(Value(store_->TargetHistory("no/such.py:target")).empty());
  EXPECT_EQ(Value(store_->CountResults(first)).results, 3u);
  EXPECT_EQ(Value(store_->CountResults(first)).escapes, 1u);
}

TEST_F(StoreTest, CreateCampaignStoresTargetsInputsAndPlan) {
  const CampaignRecord in = PlannedCampaign("client-1/req-7");
  const std::vector<TargetInfo> targets = {
      {kThreads, true, "", "fixtures/python/escape_threads.py", 10, "ESCAPE", "daemon"},
      {kSafe, true, "", "fixtures/python/safe.py", 3, "", ""}};
  const std::vector<std::string> inputs = {"a", "a\0b\0"s, "\xff\xfe\x80"s, "", "a"};
  Result<uint64_t> id = store_->CreateCampaign(in, targets, inputs);
  ASSERT_TRUE(id.ok()) << id.status().message();

  Result<CampaignRecord> out = store_->GetCampaign(*id);
  ASSERT_TRUE(out.ok()) << out.status().message();
  ExpectPlan(*out, in);
  EXPECT_EQ(out->status, kCampaignRunning);
  std::vector<CampaignRecord> running = Value(store_->CampaignsWithStatus(kCampaignRunning));
  ASSERT_EQ(running.size(), 1u);
  ExpectPlan(running[0], in);

  EXPECT_EQ(Value(store_->CampaignInputs(*id)), inputs);
  std::vector<TargetInfo> back = Value(store_->CampaignTargets(*id));
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].spec, kThreads);
  EXPECT_EQ(back[0].expected, kExpectEscape);
  EXPECT_EQ(back[1].spec, kSafe);

  Database raw = RawConnection();
  EXPECT_EQ(Value(raw.QueryInt("SELECT count(*) FROM inputs")), 4) << "inputs are shared";
  EXPECT_EQ(Value(raw.QueryInt("SELECT count(*) FROM inputs WHERE typeof(value) <> 'blob'")), 0);
  EXPECT_EQ(Value(raw.QueryInt("SELECT count(*) FROM campaign_inputs")), 5);
  EXPECT_EQ(Value(raw.QueryInt("SELECT bundle IS NULL FROM campaigns")), 1);
  // Results reuse the campaign's input rows.
  Record({{MakeJob(*id, 0, kThreads, inputs[1]), MakeResult(false)}}, 1);
  EXPECT_EQ(Value(raw.QueryInt("SELECT count(*) FROM inputs")), 4);
  EXPECT_EQ(Value(store_->CampaignInputs(NewCampaign())), std::vector<std::string>{});
}

TEST_F(StoreTest, NewCampaignsGetPlanDefaults) {
  uint64_t id = NewCampaign();
  CampaignRecord defaults;
  defaults.command = "graphene analyze";
  ExpectPlan(Value(store_->GetCampaign(id)), defaults);
  Database raw = RawConnection();
  EXPECT_EQ(Value(raw.QueryInt("SELECT submission IS NULL AND bundle IS NULL FROM campaigns")), 1);
}

TEST_F(StoreTest, FailedCreateCampaignStoresNothing) {
  CampaignRecord campaign = PlannedCampaign("sub");
  campaign.bundle = "0000";  // never stored
  Result<uint64_t> id =
      store_->CreateCampaign(campaign, {{kSafe, true, "", "s.py", 1, "", ""}}, {"x", "y"});
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().message(),
            "creating a campaign in " + path_ + ": FOREIGN KEY constraint failed");
  Database raw = RawConnection();
  for (const char* table :
       {"campaigns", "campaign_targets", "campaign_inputs", "targets", "inputs"}) {
    EXPECT_EQ(Value(raw.QueryInt(fmt::format("SELECT count(*) FROM {}", table))), 0) << table;
  }
  EXPECT_EQ(Value(store_->CampaignBySubmission("sub")), std::nullopt);
  // The failed transaction's target id must not be reused from the cache.
  uint64_t later = Value(store_->CreateCampaign({}, {{kSafe, true, "", "s.py", 1, "", ""}}, {}));
  EXPECT_EQ(Value(store_->CampaignTargets(later)).size(), 1u);
}

TEST_F(StoreTest, SubmissionsAreIdempotent) {
  const std::vector<TargetInfo> targets = {{kSafe, true, "", "s.py", 1, "", ""}};
  uint64_t first = Value(store_->CreateCampaign(PlannedCampaign("tok"), targets, {"a", "b"}));
  CampaignRecord retry = PlannedCampaign("tok");
  retry.command = "a retry with other contents";
  EXPECT_EQ(Value(store_->CreateCampaign(retry, targets, {"c"})), first);
  EXPECT_EQ(Value(store_->CreateCampaign(retry)), first);
  EXPECT_EQ(Value(store_->CampaignBySubmission("tok")), first);
  EXPECT_EQ(Value(store_->CampaignBySubmission("other")), std::nullopt);
  EXPECT_EQ(Value(store_->CampaignBySubmission("")), std::nullopt);
  EXPECT_EQ(store_->GetCampaign(first)->command, "graphene submit") << "the retry wrote nothing";
  EXPECT_THAT(Value(store_->CampaignInputs(first)), ElementsAre("a", "b"));
  EXPECT_EQ(Value(store_->CampaignTargets(first)).size(), 1u);

  uint64_t other = Value(store_->CreateCampaign(PlannedCampaign("tok2"), targets, {"a"}));
  EXPECT_NE(other, first);
  EXPECT_NE(NewCampaign(), NewCampaign()) << "local campaigns have no submission";
  Database raw = RawConnection();
  EXPECT_EQ(Value(raw.QueryInt("SELECT count(*) FROM campaigns")), 4);
  EXPECT_EQ(Value(raw.QueryInt("SELECT count(*) FROM campaign_inputs")), 3);
  Status duplicate = raw.Exec(
      "INSERT INTO campaigns (created_at, status, submission) "
      "VALUES ('2024-01-01T00:00:00.000Z', 'running', 'tok')");
  EXPECT_THAT(duplicate.message(), HasSubstr("UNIQUE constraint failed"));
}

TEST_F(StoreTest, BundlesArePutOnceAndRead) {
  const std::string hash(64, 'a');
  const std::string content = "PK\x03\x04\0\xff tests\0"s;
  ASSERT_TRUE(store_->PutBundle(hash, content).ok());
  EXPECT_EQ(Value(store_->GetBundle(hash)), content);
  Status again = store_->PutBundle(hash, "different");
  ASSERT_TRUE(again.ok()) << again.message();
  EXPECT_EQ(Value(store_->GetBundle(hash)), content) << "the first content stays";
  EXPECT_EQ(Value(store_->GetBundle(std::string(64, 'b'))), std::nullopt);
  ASSERT_TRUE(store_->PutBundle("empty", "").ok());
  EXPECT_EQ(Value(store_->GetBundle("empty")), std::optional<std::string>(""));

  Database raw = RawConnection();
  Result<Statement> row =
      raw.Prepare("SELECT typeof(content), size, created_at FROM bundles WHERE hash = ?1");
  ASSERT_TRUE(Value(row->BindText(1, hash).Step()));
  EXPECT_EQ(row->ColumnText(0), "blob");
  EXPECT_EQ(row->ColumnInt(1), static_cast<int64_t>(content.size()));
  EXPECT_THAT(row->ColumnText(2), StartsWith("20"));

  CampaignRecord campaign = PlannedCampaign("");
  campaign.bundle = hash;
  uint64_t id = Value(store_->CreateCampaign(campaign, {}, {}));
  EXPECT_EQ(store_->GetCampaign(id)->bundle, hash);
}

TEST_F(StoreTest, ExecutionsPagePagesLikeForEachExecution) {
  uint64_t campaign = NewCampaign(12), other = NewCampaign(12);
  Batch batch;
  for (uint64_t index : {0, 1, 2, 5, 6, 9}) {
    batch.emplace_back(MakeJob(campaign, index, kThreads, "in\0"s + std::to_string(index)),
                       MakeResult(index % 2 == 1));
  }
  batch[3].second.transient.push_back(MakeThread("Thread-9 (short)"));  // job 5
  batch.emplace_back(MakeJob(other, 3, kSafe, "x"), MakeResult(true));
  Record(batch, 7);

  std::vector<std::string> all;
  for (const StoredExecution& e : ReadAll(campaign)) all.push_back(Summary(e));
  ASSERT_EQ(all.size(), 6u);
  auto page = [&](uint64_t first, size_t limit) {
    std::vector<std::string> summaries;
    for (const StoredExecution& e : Value(store_->ExecutionsPage(campaign, first, limit))) {
      summaries.push_back(Summary(e));
    }
    return summaries;
  };
  EXPECT_THAT(page(0, 3), ElementsAre(all[0], all[1], all[2]));
  EXPECT_THAT(page(3, 3), ElementsAre(all[3], all[4], all[5])) << "from the last index + 1";
  EXPECT_THAT(page(10, 3), ElementsAre());
  EXPECT_THAT(page(6, 100), ElementsAre(all[4], all[5]));
  EXPECT_THAT(page(3, 1), ElementsAre(all[3])) << "a gap is skipped";
  EXPECT_EQ(page(0, std::numeric_limits<size_t>::max()), all);
  EXPECT_THAT(page(0, 0), ElementsAre());
  EXPECT_THAT(page(std::numeric_limits<uint64_t>::max(), 5), ElementsAre());

  std::vector<StoredExecution> fifth = Value(store_->ExecutionsPage(campaign, 5, 1));
  ASSERT_EQ(fifth.size(), 1u);
  EXPECT_EQ(fifth[0].input, "in\0"s + "5");
  EXPECT_EQ(fifth[0].result.campaign, campaign);
  EXPECT_EQ(fifth[0].result.index, 5u);
  ASSERT_EQ(fifth[0].result.escapes.size(), 1u);
  EXPECT_EQ(fifth[0].result.escapes[0].native_id, 4242);
  ASSERT_EQ(fifth[0].result.transient.size(), 1u);
  EXPECT_EQ(fifth[0].result.transient[0].name, "Thread-9 (short)");
  EXPECT_EQ(Value(store_->ExecutionsPage(other, 0, 10)).size(), 1u);
  EXPECT_EQ(Value(store_->ExecutionsPage(4242, 0, 10)).size(), 0u) << "no such campaign";
}

TEST_F(StoreTest, RecentCampaignsAreNewestFirst) {
  uint64_t a = NewCampaign(), b = NewCampaign(), c = NewCampaign(), d = NewCampaign();
  ASSERT_TRUE(store_->FinishCampaign(b, kCampaignDone).ok());
  EXPECT_THAT(Ids(Value(store_->RecentCampaigns(3))), ElementsAre(d, c, b));
  std::vector<CampaignRecord> all = Value(store_->RecentCampaigns(100));
  EXPECT_THAT(Ids(all), ElementsAre(d, c, b, a));
  EXPECT_EQ(all[2].status, kCampaignDone);
  EXPECT_EQ(all[0].command, "graphene analyze");
  EXPECT_THAT(Ids(Value(store_->RecentCampaigns(0))), ElementsAre());
  EXPECT_EQ(Value(store_->RecentCampaigns(std::numeric_limits<size_t>::max())).size(), 4u);
}

TEST_F(StoreTest, UsesWalModeAndSchemaVersion) {
  Database raw = RawConnection();
  EXPECT_EQ(Value(raw.QueryText("PRAGMA journal_mode")), "wal");
  EXPECT_EQ(Value(raw.QueryInt("PRAGMA user_version")), kSchemaVersion);
}

TEST_F(StoreTest, ReopeningKeepsEverything) {
  uint64_t campaign = NewCampaign(1);
  Record({{MakeJob(campaign, 0, kThreads, "a"), MakeResult(true)}}, 1);
  store_.reset();
  Result<std::unique_ptr<Store>> reopened = Store::Open(path_);
  ASSERT_TRUE(reopened.ok()) << reopened.status().message();
  EXPECT_EQ((*reopened)->GetCampaign(campaign)->command, "graphene analyze");
  EXPECT_EQ(Value((*reopened)->CountResults(campaign)).results, 1u);
  Result<size_t> again =
      (*reopened)->RecordResults({{MakeJob(campaign, 0, kThreads, "a"), MakeResult(false)}});
  EXPECT_EQ(*again, 0u) << "duplicates are caught across restarts";
}

TEST_F(StoreTest, TwoStoresShareOneDatabase) {
  Result<std::unique_ptr<Store>> second = Store::Open(path_);
  ASSERT_TRUE(second.ok()) << second.status().message();
  uint64_t campaign = NewCampaign(2);
  Record({{MakeJob(campaign, 0, kThreads, "a"), MakeResult(true)}}, 1);
  EXPECT_EQ(Value((*second)->CountResults(campaign)).results, 1u);
  EXPECT_EQ(
      Value((*second)->RecordResults({{MakeJob(campaign, 0, kThreads, "a"), MakeResult(true)},
                                      {MakeJob(campaign, 1, kThreads, "a"), MakeResult(true)}})),
      1u);
}

TEST(StoreOpen, RefusesNewerSchema) {
  TempDir dir;
  const std::string path = dir.File("new.db");
  ASSERT_TRUE(Store::Open(path).ok());
  {
    Result<Database> raw = Database::Open(path);
    ASSERT_TRUE(raw->Exec("PRAGMA user_version = 7").ok());
  }
  Result<std::unique_ptr<Store>> store = Store::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().message(),
            fmt::format("cannot open database {}: database schema version 7 is newer than this "
                        "graphene ({}); upgrade graphene",
                        path, kSchemaVersion));
}

TEST(StoreOpen, CreatesParentFolders) {
  TempDir dir;
  const std::string path = dir.File("a/b/c/results.db");
  Result<std::unique_ptr<Store>> store = Store::Open(path);
  ASSERT_TRUE(store.ok()) << store.status().message();
  EXPECT_EQ((*store)->path(), path);
  EXPECT_TRUE(std::filesystem::exists(path));
}

TEST(StoreOpen, UnwritablePathsAreErrors) {
  TempDir dir;
  const std::string file = dir.File("plain");
  std::ofstream(file) << "not a folder";
  for (const std::string& path :
       {std::string("/proc/graphene.db"), file + "/results.db", file, dir.File("")}) {
    SCOPED_TRACE(path);
    Result<std::unique_ptr<Store>> store = Store::Open(path);
    ASSERT_FALSE(store.ok());
    EXPECT_THAT(store.status().message(), StartsWith("cannot open database " + path + ": "));
    EXPECT_EQ(store.status().message().find('\n'), std::string::npos) << "one line";
  }
}

TEST(StoreOpen, NeverOverwritesOtherFiles) {
  TempDir dir;
  for (const std::string& content : {"x"s, "print('hello')\n"s, std::string(5000, 'z')}) {
    const std::string path = dir.File("precious");
    std::ofstream(path) << content;
    Result<std::unique_ptr<Store>> store = Store::Open(path);
    ASSERT_FALSE(store.ok());
    EXPECT_EQ(store.status().message(),
              "cannot open database " + path + ": file is not a database");
    std::ifstream in(path);
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), content);
  }
}

TEST(StoreOpen, RefusesForeignSqliteFile) {
  TempDir dir;
  const std::string path = dir.File("other.db");
  {
    Result<Database> raw = Database::Open(path);
    ASSERT_TRUE(raw->Exec("CREATE TABLE mine (x)").ok());
  }
  Result<std::unique_ptr<Store>> store = Store::Open(path);
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(), HasSubstr("not a graphene database"));
}

// Every column, foreign key, trigger and index of every table and view: what a
// migrated database must share with one created at the current version.
std::vector<std::string> SchemaShape(Database& db) {
  const std::pair<std::string_view, std::string_view> parts[] = {
      {"column",
       "SELECT m.name, p.name, p.type, p.\"notnull\", p.dflt_value, p.pk "
       "FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS p "
       "WHERE m.type IN ('table', 'view')"},
      {"foreign key",
       "SELECT m.name, p.\"from\", p.\"table\", p.\"to\", p.on_delete "
       "FROM sqlite_master AS m JOIN pragma_foreign_key_list(m.name) AS p "
       "WHERE m.type = 'table'"},
      {"trigger", "SELECT tbl_name, name, '', '', '' FROM sqlite_master WHERE type = 'trigger'"},
      {"index",
       "SELECT m.name, p.name, p.\"unique\", p.partial, "
       "(SELECT group_concat(name) FROM pragma_index_info(p.name)) "
       "FROM sqlite_master AS m JOIN pragma_index_list(m.name) AS p "
       "WHERE m.type = 'table'"},
  };
  std::vector<std::string> shape;
  for (const auto& [kind, sql] : parts) {
    Result<Statement> select = db.Prepare(sql);
    EXPECT_TRUE(select.ok()) << select.status().message();
    if (!select.ok()) return shape;
    while (Value(select->Step())) {
      std::string row(kind);
      for (int column = 0; column < (kind == "column" ? 6 : 5); ++column) {
        row += " " + (select->ColumnIsNull(column) ? "NULL" : select->ColumnText(column));
      }
      shape.push_back(row);
    }
  }
  std::sort(shape.begin(), shape.end());
  return shape;
}

class StoreMigrationTest : public testing::Test {
 protected:
  // A version 1 database as graphene 1 left it: one finished campaign with a
  // target, an input, an execution and its escape.
  void SetUp() override {
    Result<Database> db = Database::Open(path_);
    ASSERT_TRUE(db.ok()) << db.status().message();
    ASSERT_TRUE(ApplySchema(*db, 1, kDatabaseV1Sql, {}).ok());
    Status s = db->Exec(
        "INSERT INTO campaigns (id, created_at, finished_at, command, seed, options, root, "
        "  git_commit, status, total_jobs) VALUES (7, '2024-01-02T03:04:05.678Z', "
        "  '2024-01-02T03:05:00.000Z', 'graphene analyze', 42, '{\"repeat\":2}', '/src', "
        "  'abc123', 'done', 1);"
        "INSERT INTO targets (id, name) VALUES (1, 'fixtures/python/escape_threads.py:f');"
        "INSERT INTO campaign_targets VALUES (7, 0, 1, 'escape_threads.py', 3, 'ESCAPE', 'r');"
        "INSERT INTO inputs (id, value) VALUES (1, CAST('in' AS BLOB));"
        "INSERT INTO executions (id, campaign_id, job_index, target_id, input_id, repeat, "
        "  status, escape_detected, duration_ms, finished_at) "
        "  VALUES (1, 7, 0, 1, 1, 0, 'ok', 1, 2.5, '2024-01-02T03:04:59.000Z');"
        "INSERT INTO escapes (execution_id, transient, kind, name, daemon, started_at, "
        "  started_in, running) VALUES (1, 0, 'thread', 'Thread-1', 1, 'f.py:3', 'f', 'w');");
    ASSERT_TRUE(s.ok()) << s.message();
  }

  TempDir dir_;
  std::string path_ = dir_.File("v1.db");
};

TEST_F(StoreMigrationTest, MigratesVersion1InPlaceKeepingItsRows) {
  Result<std::unique_ptr<Store>> opened = Store::Open(path_);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  Store& store = **opened;

  CampaignRecord old = Value(store.GetCampaign(7));
  EXPECT_EQ(old.command, "graphene analyze");
  EXPECT_EQ(old.seed, 42u);
  EXPECT_EQ(old.options_json, R"({"repeat":2})");
  EXPECT_EQ(old.git_commit, "abc123");
  EXPECT_EQ(old.status, kCampaignDone);
  EXPECT_EQ(old.finished_at, "2024-01-02T03:05:00.000Z");
  CampaignRecord defaults;
  defaults.command = old.command;
  defaults.total_jobs = 1;
  ExpectPlan(old, defaults);
  EXPECT_THAT(Ids(Value(store.RecentCampaigns(10))), ElementsAre(7u));
  EXPECT_EQ(Value(store.CampaignTargets(7)).size(), 1u);
  EXPECT_EQ(Value(store.CampaignInputs(7)), std::vector<std::string>{}) << "v1 kept no inputs";
  std::vector<StoredExecution> executions = Value(store.ExecutionsPage(7, 0, 10));
  ASSERT_EQ(executions.size(), 1u);
  EXPECT_EQ(executions[0].input, "in");
  ASSERT_EQ(executions[0].result.escapes.size(), 1u);
  EXPECT_EQ(executions[0].result.escapes[0].name, "Thread-1");

  // The new parts work on the migrated database.
  ASSERT_TRUE(store.PutBundle("h", "zip").ok());
  CampaignRecord planned = PlannedCampaign("tok");
  planned.bundle = "h";
  uint64_t id = Value(store.CreateCampaign(planned, {}, {"a\0"s}));
  EXPECT_EQ(Value(store.CreateCampaign(planned, {}, {})), id);
  ExpectPlan(Value(store.GetCampaign(id)), planned);
  EXPECT_THAT(Value(store.CampaignInputs(id)), ElementsAre("a\0"s));

  Result<Database> raw = Database::Open(path_);
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(Value(raw->QueryInt("PRAGMA user_version")), kSchemaVersion);
  EXPECT_EQ(Value(raw->QueryInt("SELECT executions FROM target_stats")), 1) << "views work";
  EXPECT_EQ(Value(raw->QueryInt("SELECT escapes FROM campaign_target_stats")), 1);
  EXPECT_EQ(CountMismatches(*raw), 0) << "the counts of old executions are filled in";
  EXPECT_EQ(Value(raw->QueryInt("SELECT count(*) FROM input_counts")), 1);
  EXPECT_THAT(raw->Exec("UPDATE campaigns SET strict = 2").message(),
              HasSubstr("CHECK constraint failed"));
}

TEST_F(StoreMigrationTest, MigratedSchemaMatchesACreatedOne) {
  ASSERT_TRUE(Store::Open(path_).ok());
  const std::string fresh_path = dir_.File("fresh.db");
  ASSERT_TRUE(Store::Open(fresh_path).ok());
  Result<Database> migrated = Database::Open(path_);
  Result<Database> fresh = Database::Open(fresh_path);
  ASSERT_TRUE(migrated.ok() && fresh.ok());
  std::vector<std::string> shape = SchemaShape(*fresh);
  EXPECT_THAT(shape, testing::Contains("index campaigns campaigns_by_submission 1 1 submission"));
  EXPECT_THAT(shape, testing::Contains("foreign key campaigns bundle bundles hash NO ACTION"));
  EXPECT_EQ(SchemaShape(*migrated), shape);
}

}  // namespace
}  // namespace graphene
