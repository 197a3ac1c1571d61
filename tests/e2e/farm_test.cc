// The farm end to end: a real coordinator and real agents over TCP on
// loopback, with machines failing mid-campaign. Whatever happens, every job
// ends with exactly one stored result, the client's report is the one the
// embedded mode gives, and nothing is left running.
#include <signal.h>

#include <filesystem>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/farm_test_base.h"

namespace graphene::e2e {
namespace {

using ::testing::HasSubstr;

// 3 targets x (55 + 45) inputs x 6 repeats: long enough to break things in
// the middle of, a few seconds on two cores.
const std::vector<std::string> kLongCampaign = {"--generate", "100", "--repeat", "6"};
constexpr int64_t kLongCampaignJobs = 3 * 100 * 6;

// The parts of a report that must not depend on where the campaign ran.
struct Verdict {
  std::string verdict;
  int64_t executions;
  int64_t escapes;
  bool match;
  bool operator==(const Verdict&) const = default;
};

std::map<std::string, Verdict> VerdictsOf(const nlohmann::json& report) {
  std::map<std::string, Verdict> verdicts;
  if (!report.is_object()) return verdicts;
  for (const nlohmann::json& target : report["targets"]) {
    verdicts[target["target"]] = Verdict{target["verdict"], target["executions"],
                                         target["escapes"], target["match"].is_boolean() &&
                                                                target["match"].get<bool>()};
  }
  return verdicts;
}

std::string Describe(const std::map<std::string, Verdict>& verdicts) {
  std::string text;
  for (const auto& [target, v] : verdicts) {
    text += target + ": " + v.verdict + " " + std::to_string(v.escapes) + "/" +
            std::to_string(v.executions) + (v.match ? " match\n" : " MISMATCH\n");
  }
  return text;
}

TEST_F(FarmTest, TwoAgentsGiveTheVerdictsOfTheEmbeddedMode) {
  auto coordinator = StartCoordinator();
  auto a1 = StartAgent("a1", *coordinator);
  auto a2 = StartAgent("a2", *coordinator);
  auto client = StartClient({"--generate", "20", "--repeat", "3"});
  ASSERT_EQ(client->Wait(), 0) << client->Err();
  const nlohmann::json remote = ClientReport(*client);
  ASSERT_TRUE(remote.is_object());
  EXPECT_EQ(remote["campaign"], "1");
  EXPECT_EQ(remote["totals"]["mismatches"], 0);
  ExpectOneResultPerJob(1);
  EXPECT_EQ(AgentsOf(coordinator_db(), 1), (std::vector<std::string>{"a1", "a2"}))
      << "both agents ran jobs";
  // Each agent fetched the bundle once and keeps it for later campaigns.
  for (const char* name : {"a1", "a2"}) {
    EXPECT_THAT(
        std::distance(std::filesystem::directory_iterator(scratch_dir() / ("cache-" + std::string(name))),
                      std::filesystem::directory_iterator{}),
        1);
  }
  EXPECT_THAT(client->Err(), HasSubstr("campaign 1 submitted to " + endpoint()));
  // Not on a terminal, progress comes as plain lines, the last one complete.
  EXPECT_THAT(client->Err(), HasSubstr("campaign 1: 180/180 executions"));

  const nlohmann::json local =
      RunJson({"run-all", "--test-dir", kFarmTestDir, "--generate", "20", "--repeat", "3"});
  const auto expected = VerdictsOf(local);
  ASSERT_EQ(expected.size(), 3u);
  EXPECT_EQ(VerdictsOf(remote), expected) << "farm:\n"
                                          << Describe(VerdictsOf(remote)) << "embedded:\n"
                                          << Describe(expected);
  EXPECT_EQ(remote["targets"][0]["results"].size(), local["targets"][0]["results"].size());

  StopAll({&a1, &a2, &coordinator});
  ExpectNothingLeft();
}

// The acceptance check: fixtures/ through a coordinator and two
// agents, against the embedded mode.
TEST_F(FarmTest, FixturesGiveTheVerdictsOfTheEmbeddedMode) {
  const std::vector<std::string> campaign = {"--generate", "3", "--repeat", "2"};
  auto coordinator = StartCoordinator();
  auto a1 = StartAgent("a1", *coordinator, {"--slots", "16"});
  auto a2 = StartAgent("a2", *coordinator, {"--slots", "16"});
  std::vector<std::string> args = {"run-all", "--coordinator", endpoint(), "--format", "json"};
  args.insert(args.end(), campaign.begin(), campaign.end());
  auto client = StartGraphene(args, "client");
  ASSERT_EQ(client->Wait(std::chrono::seconds{300}), 0) << client->Err();
  const nlohmann::json remote = ClientReport(*client);
  ExpectOneResultPerJob(1);
  std::vector<std::string> local_args = {"run-all"};
  local_args.insert(local_args.end(), campaign.begin(), campaign.end());
  const nlohmann::json local = RunJson(local_args);
  const auto expected = VerdictsOf(local);
  ASSERT_GE(expected.size(), 60u);
  EXPECT_EQ(VerdictsOf(remote), expected) << "farm:\n"
                                          << Describe(VerdictsOf(remote)) << "embedded:\n"
                                          << Describe(expected);
  EXPECT_EQ(remote["totals"]["mismatches"], 0);
  StopAll({&a1, &a2, &coordinator});
  ExpectNothingLeft();
}

TEST_F(FarmTest, KilledAgentsJobsAreRunElsewhere) {
  auto coordinator = StartCoordinator();
  auto doomed = StartAgent("doomed", *coordinator);
  auto survivor = StartAgent("survivor", *coordinator);
  auto client = StartClient(kLongCampaign);
  ASSERT_TRUE(WaitForResults(1, kLongCampaignJobs / 5)) << client->Err();
  ASSERT_LT(CountCampaign(coordinator_db(), 1).results, kLongCampaignJobs)
      << "the campaign ended before the agent could be killed";
  doomed->Signal(SIGKILL);
  EXPECT_EQ(doomed->Wait(), 128 + SIGKILL);

  ASSERT_EQ(client->Wait(std::chrono::seconds{180}), 0) << client->Err();
  ExpectOneResultPerJob(1);
  EXPECT_THAT(coordinator->Err(), HasSubstr("agent doomed"));
  EXPECT_THAT(coordinator->Err(), HasSubstr("re-queueing"));
  const nlohmann::json report = ClientReport(*client);
  EXPECT_EQ(report["totals"]["executions"], kLongCampaignJobs);
  EXPECT_EQ(report["totals"]["mismatches"], 0);
  StopAll({&survivor, &coordinator});
  ExpectNothingLeft();
}

TEST_F(FarmTest, RestartedCoordinatorResumesItsCampaign) {
  auto coordinator = StartCoordinator();
  auto a1 = StartAgent("a1", *coordinator);
  auto a2 = StartAgent("a2", *coordinator);
  auto client = StartClient(kLongCampaign);
  ASSERT_TRUE(WaitForResults(1, kLongCampaignJobs / 5)) << client->Err();
  coordinator->Signal(SIGKILL);
  EXPECT_EQ(coordinator->Wait(), 128 + SIGKILL);
  const int64_t stored = CountCampaign(coordinator_db(), 1).results;
  ASSERT_LT(stored, kLongCampaignJobs) << "the campaign ended before the coordinator was killed";

  // Same port, same database: the agents and the client find it by themselves.
  auto restarted = StartCoordinator();
  ASSERT_EQ(client->Wait(std::chrono::seconds{180}), 0) << client->Err();
  EXPECT_THAT(restarted->Err(), HasSubstr("resuming campaign 1"));
  ExpectOneResultPerJob(1);
  const nlohmann::json report = ClientReport(*client);
  EXPECT_EQ(report["totals"]["executions"], kLongCampaignJobs);
  EXPECT_EQ(report["totals"]["mismatches"], 0);
  StopAll({&a1, &a2, &restarted});
  ExpectNothingLeft();
}

TEST_F(FarmTest, StoppedAgentDrainsAndARestartedOneReconnects) {
  auto coordinator = StartCoordinator();
  auto agent = StartAgent("worker", *coordinator);
  auto client = StartClient(kLongCampaign);
  ASSERT_TRUE(WaitForResults(1, kLongCampaignJobs / 5)) << client->Err();
  agent->Signal(SIGTERM);
  EXPECT_EQ(agent->Wait(), 0) << agent->Err();
  EXPECT_THAT(agent->Err(), HasSubstr("stopping: finishing"));
  const int64_t stored = CountCampaign(coordinator_db(), 1).results;
  ASSERT_LT(stored, kLongCampaignJobs);

  // The same agent, started again, takes the campaign up.
  agent = StartAgent("worker", *coordinator);
  ASSERT_EQ(client->Wait(std::chrono::seconds{180}), 0) << client->Err();
  ExpectOneResultPerJob(1);
  StopAll({&agent, &coordinator});
  ExpectNothingLeft();
}

TEST_F(FarmTest, ClientDetachesAndReattaches) {
  auto coordinator = StartCoordinator();
  auto agent = StartAgent("a1", *coordinator);
  auto client = StartClient(kLongCampaign);
  ASSERT_TRUE(WaitForResults(1, 50)) << client->Err();
  client->Signal(SIGINT);
  EXPECT_EQ(client->Wait(), 130);
  EXPECT_THAT(client->Err(), HasSubstr("detached from campaign 1"));
  EXPECT_THAT(client->Err(), HasSubstr("graphene attach 1 --coordinator " + endpoint()));

  auto attached = StartGraphene({"attach", "1", "--coordinator", endpoint(), "--format", "json"},
                                "attach");
  ASSERT_EQ(attached->Wait(std::chrono::seconds{180}), 0) << attached->Err();
  const nlohmann::json report = ClientReport(*attached);
  EXPECT_EQ(report["campaign"], "1");
  EXPECT_EQ(report["totals"]["executions"], kLongCampaignJobs);
  EXPECT_EQ(report["totals"]["mismatches"], 0);
  ExpectOneResultPerJob(1);

  // Attaching to a finished campaign reports it at once; to none, fails.
  auto again = StartGraphene({"attach", "1", "--coordinator", endpoint()}, "attach");
  EXPECT_EQ(again->Wait(), 0) << again->Err();
  EXPECT_THAT(again->Out(), HasSubstr("campaign 1: 3 targets"));
  auto missing = StartGraphene({"attach", "99", "--coordinator", endpoint()}, "attach");
  EXPECT_EQ(missing->Wait(), 2);
  EXPECT_THAT(missing->Err(), HasSubstr("99"));

  StopAll({&agent, &coordinator});
  ExpectNothingLeft();
}

TEST_F(FarmTest, StatusShowsAgentsSlotsAndCampaigns) {
  auto coordinator = StartCoordinator();
  auto a1 = StartAgent("a1", *coordinator);
  auto a2 = StartAgent("a2", *coordinator, {"--slots", "3"});
  auto client = StartClient({"--generate", "5"});
  ASSERT_EQ(client->Wait(), 0) << client->Err();

  auto status = StartGraphene({"status", "--coordinator", endpoint(), "--format", "json"},
                              "status");
  ASSERT_EQ(status->Wait(), 0) << status->Err();
  const nlohmann::json reply = nlohmann::json::parse(status->Out(), nullptr, false);
  ASSERT_TRUE(reply.is_object()) << status->Out();
  std::map<std::string, int> slots;
  for (const nlohmann::json& agent : reply["agents"]) slots[agent["name"]] = agent["slots"];
  EXPECT_EQ(slots, (std::map<std::string, int>{{"a1", 4}, {"a2", 3}}));
  ASSERT_EQ(reply["campaigns"].size(), 1u);
  EXPECT_EQ(reply["campaigns"][0]["campaign"], 1);
  EXPECT_EQ(reply["campaigns"][0]["status"], "done");
  EXPECT_EQ(reply["campaigns"][0]["done"], reply["campaigns"][0]["total"]);

  auto text = StartGraphene({"status", "--coordinator", endpoint()}, "status");
  ASSERT_EQ(text->Wait(), 0) << text->Err();
  EXPECT_THAT(text->Out(), HasSubstr("2 agents, 7 slots"));
  StopAll({&a1, &a2, &coordinator});
  ExpectNothingLeft();
}

}  // namespace
}  // namespace graphene::e2e
