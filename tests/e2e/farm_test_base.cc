#include "tests/e2e/farm_test_base.h"

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>

#include "gtest/gtest.h"

namespace graphene::e2e {

void FarmTest::SetUp() {
  LeftoverCheckingTest::SetUp();
  // Agents started as root run targets as nobody, from bundle caches in here.
  ::chmod(scratch_dir().c_str(), 0755);
  endpoint_ = "tcp://127.0.0.1:" + std::to_string(FreePort());
}

void FarmTest::TearDown() { LeftoverCheckingTest::TearDown(); }

std::unique_ptr<FarmProcess> FarmTest::StartGraphene(std::vector<std::string> args,
                                                     const std::string& log_name) {
  const auto log = scratch_dir() / (log_name + "-" + std::to_string(log_count_++) + ".log");
  return std::make_unique<FarmProcess>(
      std::move(args), log,
      std::vector<std::pair<std::string, std::string>>{{kRunMarkerVariable, run_marker()}});
}

std::unique_ptr<FarmProcess> FarmTest::StartCoordinator(std::vector<std::string> extra) {
  std::vector<std::string> args = {"coordinator",    "--bind",
                                   endpoint_,        "--db",
                                   coordinator_db(), "--heartbeat-ms",
                                   "200",            "--heartbeat-timeout-ms",
                                   "2000"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto coordinator = StartGraphene(args, "coordinator");
  EXPECT_TRUE(WaitFor([&] {
    return coordinator->Err().find("listening on") != std::string::npos || !coordinator->running();
  })) << coordinator->Err();
  EXPECT_TRUE(coordinator->running()) << coordinator->Err();
  return coordinator;
}

std::unique_ptr<FarmProcess> FarmTest::StartAgent(const std::string& name,
                                                  FarmProcess& coordinator,
                                                  std::vector<std::string> extra) {
  std::vector<std::string> args = {"agent",
                                   "--connect",
                                   endpoint_,
                                   "--name",
                                   name,
                                   "--cache",
                                   (scratch_dir() / ("cache-" + name)).string(),
                                   "--heartbeat-ms",
                                   "200",
                                   "--heartbeat-timeout-ms",
                                   "2000"};
  if (std::find(extra.begin(), extra.end(), "--slots") == extra.end()) {
    extra.insert(extra.end(), {"--slots", "4"});
  }
  args.insert(args.end(), extra.begin(), extra.end());
  auto agent = StartGraphene(args, "agent-" + name);
  const std::string joined = "agent " + name + " joined";
  EXPECT_TRUE(WaitFor([&] {
    return coordinator.Err().rfind(joined) != std::string::npos || !agent->running();
  })) << "agent " << name << " never joined:\n"
      << agent->Err();
  return agent;
}

std::unique_ptr<FarmProcess> FarmTest::StartClient(std::vector<std::string> extra,
                                                   const std::string& name) {
  std::vector<std::string> args = {"run-all",       "--test-dir", kFarmTestDir, "--coordinator",
                                   endpoint_,       "--format",   "json"};
  args.insert(args.end(), extra.begin(), extra.end());
  return StartGraphene(args, name);
}

bool FarmTest::WaitForResults(int64_t campaign, int64_t results) {
  return WaitFor([&] { return CountCampaign(coordinator_db(), campaign).results >= results; });
}

void FarmTest::ExpectOneResultPerJob(int64_t campaign) {
  const CampaignCounts counts = CountCampaign(coordinator_db(), campaign);
  EXPECT_GT(counts.total_jobs, 0);
  EXPECT_EQ(counts.results, counts.total_jobs) << "one stored result per job";
  EXPECT_EQ(counts.distinct_jobs, counts.total_jobs) << "no job stored twice, none missing";
  EXPECT_EQ(counts.min_index, 0);
  EXPECT_EQ(counts.max_index, counts.total_jobs - 1);
  EXPECT_EQ(counts.status, "done");
}

void FarmTest::StopAll(std::vector<std::unique_ptr<FarmProcess>*> processes) {
  for (auto* process : processes) {
    if (*process) (*process)->Signal(SIGTERM);
  }
  for (auto* process : processes) {
    if (!*process) continue;
    EXPECT_EQ((*process)->Wait(), 0) << (*process)->Err();
  }
}

nlohmann::json ClientReport(const FarmProcess& client) {
  nlohmann::json report = nlohmann::json::parse(client.Out(), nullptr, false);
  if (!report.is_object()) {
    ADD_FAILURE() << "the client printed no JSON report:\n"
                  << client.Out() << "\nstderr:\n"
                  << client.Err();
    return nullptr;
  }
  return report;
}

}  // namespace graphene::e2e
