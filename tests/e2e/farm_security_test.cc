// Who may take part in a farm: keys from `graphene keygen`, a coordinator
// that admits only listed agents and clients, clients that pin the
// coordinator's key, and a coordinator without keys that stays on loopback
// unless told --insecure.
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/farm_test_base.h"

namespace graphene::e2e {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

int Mode(const fs::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return -1;
  return info.st_mode & 0777;
}

TEST_F(FarmTest, KeygenWritesAKeyPairAndKeepsIt) {
  const fs::path keys = scratch_dir() / "keys";
  RunResult made = Run({"keygen", "node", "--dir", keys.string()});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  EXPECT_EQ(Mode(keys / "node.key"), 0600);
  EXPECT_EQ(Mode(keys / "node.pub"), 0644);
  EXPECT_THAT(made.out, HasSubstr("node.pub"));

  RunResult again = Run({"keygen", "node", "--dir", keys.string()});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_THAT(again.err, HasSubstr("exists"));
  EXPECT_EQ(std::count(again.err.begin(), again.err.end(), '\n'), 1) << again.err;
  EXPECT_EQ(Run({"keygen", "node", "--dir", keys.string(), "--force"}).exit_code, 0);
}

TEST_F(FarmTest, WithoutKeysTheCoordinatorStaysOnLoopback) {
  const std::string anywhere = "tcp://0.0.0.0:" + std::to_string(FreePort());
  RunResult refused = Run({"coordinator", "--bind", anywhere, "--db", coordinator_db()});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_THAT(refused.err, HasSubstr("--insecure"));
  EXPECT_EQ(std::count(refused.err.begin(), refused.err.end(), '\n'), 1) << refused.err;

  RunResult half = Run({"coordinator", "--bind", endpoint(), "--db", coordinator_db(), "--key",
                        (scratch_dir() / "none.key").string()});
  EXPECT_EQ(half.exit_code, 2);
  EXPECT_THAT(half.err, HasSubstr("--authorized-keys"));

  auto insecure = StartGraphene(
      {"coordinator", "--bind", anywhere, "--db", coordinator_db(), "--insecure"}, "insecure");
  ASSERT_TRUE(WaitFor([&] { return insecure->Err().find("listening") != std::string::npos; }))
      << insecure->Err();
  EXPECT_THAT(insecure->Err(), HasSubstr("--insecure"));
  auto loopback = StartCoordinator();
  EXPECT_THAT(loopback->Err(), HasSubstr("loopback only"));
  StopAll({&insecure, &loopback});
  ExpectNothingLeft();
}

TEST_F(FarmTest, OnlyListedAgentsAndClientsGetIn) {
  const fs::path keys = scratch_dir() / "keys";
  const fs::path authorized = keys / "authorized";
  for (const char* name : {"coordinator", "agent", "client", "intruder"}) {
    ASSERT_EQ(Run({"keygen", name, "--dir", keys.string()}).exit_code, 0);
  }
  fs::create_directories(authorized);
  fs::copy_file(keys / "agent.pub", authorized / "agent.pub");
  fs::copy_file(keys / "client.pub", authorized / "client.pub");
  auto key = [&](const char* name) { return (keys / name).string(); };

  auto coordinator = StartCoordinator(
      {"--key", key("coordinator.key"), "--authorized-keys", authorized.string()});
  EXPECT_THAT(coordinator->Err(), HasSubstr("CurveZMQ, 2 authorized keys"));
  auto intruder = StartGraphene({"agent", "--connect", endpoint(), "--name", "intruder",
                                 "--cache", (scratch_dir() / "cache-intruder").string(), "--key",
                                 key("intruder.key"), "--coordinator-key",
                                 key("coordinator.pub")},
                                "intruder");
  auto client = StartClient({"--generate", "10", "--key", key("client.key"), "--coordinator-key",
                             key("coordinator.pub")});
  ASSERT_TRUE(WaitFor([&] { return client->Err().find("submitted") != std::string::npos; }))
      << client->Err();
  ASSERT_TRUE(WaitFor([&] { return coordinator->Err().find("refused") != std::string::npos; }))
      << coordinator->Err();
  // The intruder is told why, rather than retrying in silence.
  EXPECT_TRUE(WaitFor([&] {
    return intruder->Err().find("refused this machine's key") != std::string::npos;
  })) << intruder->Err();
  EXPECT_EQ(CountCampaign(coordinator_db(), 1).results, 0) << "the intruder ran jobs";

  // Clients need a listed key and the coordinator's own public key.
  const std::vector<std::string> status = {"status", "--coordinator", endpoint(), "--timeout",
                                           "3"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = status;
    args.insert(args.end(), extra.begin(), extra.end());
    return Run(args);
  };
  RunResult listed = with({"--key", key("client.key"), "--coordinator-key", key("coordinator.pub"),
                           "--format", "json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(nlohmann::json::parse(listed.out)["agents"].size(), 0u) << "the intruder was admitted";
  RunResult unlisted =
      with({"--key", key("intruder.key"), "--coordinator-key", key("coordinator.pub")});
  EXPECT_EQ(unlisted.exit_code, 3);
  EXPECT_THAT(unlisted.err, HasSubstr("refused this machine's key"));
  RunResult keyless = with({});
  EXPECT_EQ(keyless.exit_code, 3) << keyless.out;
  RunResult wrong_pin =
      with({"--key", key("client.key"), "--coordinator-key", key("intruder.pub")});
  EXPECT_EQ(wrong_pin.exit_code, 3) << wrong_pin.out;

  auto agent = StartAgent("agent", *coordinator,
                          {"--key", key("agent.key"), "--coordinator-key", key("coordinator.pub")});
  ASSERT_EQ(client->Wait(), 0) << client->Err();
  ExpectOneResultPerJob(1);
  EXPECT_EQ(AgentsOf(coordinator_db(), 1), std::vector<std::string>{"agent"});
  StopAll({&intruder, &agent, &coordinator});
  ExpectNothingLeft();
}

}  // namespace
}  // namespace graphene::e2e
