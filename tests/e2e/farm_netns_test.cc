// The farm across hosts: the coordinator in one Linux network namespace, the
// agents and the client in another, joined by a veth pair, as on two machines
// of a LAN. Every connection crosses the veth link: the coordinator binds an
// address that exists only in its own namespace. The farm uses CurveZMQ keys,
// as a real one off loopback must. Creating namespaces needs root (or
// CAP_SYS_ADMIN and CAP_NET_ADMIN) and a kernel that allows it; where that
// fails, the tests are skipped with a message that says why.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/farm_test_base.h"
#include "tests/e2e/graphene_runner.h"

namespace graphene::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A fresh namespace has no listener on any port.
constexpr int kPort = 5555;

// `name` in PATH or in the sbin folders (often not in a test's PATH), or "".
std::string FindProgram(const std::string& name) {
  std::string path = std::getenv("PATH") != nullptr ? std::getenv("PATH") : "";
  path += ":/usr/sbin:/sbin:/usr/bin:/bin";
  std::stringstream folders(path);
  for (std::string folder; std::getline(folders, folder, ':');) {
    if (folder.empty()) continue;
    const std::filesystem::path candidate = std::filesystem::path(folder) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return "";
}

std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Two network namespaces, "hosts", joined by a veth pair: the coordinator's at
// 10.251.X.1/24 and the agents' at 10.251.X.2/24. Each pair of namespaces has
// its own network stack, so concurrent runs cannot clash; X (from the pid)
// only tells their logs apart. Destroying it deletes both namespaces, which
// removes the veth pair with them.
class NetworkNamespaces {
 public:
  explicit NetworkNamespaces(std::string ip) : ip_(std::move(ip)) {
    static int count = 0;
    const std::string suffix = std::to_string(::getpid()) + "-" + std::to_string(count++);
    coordinator_ = "gr-coord-" + suffix;
    agents_ = "gr-agents-" + suffix;
    const std::string subnet = "10.251." + std::to_string(1 + ::getpid() % 250) + ".";
    coordinator_address_ = subnet + "1";
    agents_address_ = subnet + "2";

    for (const std::string& name : {coordinator_, agents_}) {
      if (!Ip({"netns", "add", name})) return;
      created_.push_back(name);
    }
    // Both ends are created inside their namespaces, so the names are free.
    ok_ = Ip({"link", "add", "to-agents", "netns", coordinator_, "type", "veth", "peer", "name",
              "to-coord", "netns", agents_}) &&
          Ip({"-n", coordinator_, "addr", "add", coordinator_address_ + "/24", "dev",
              "to-agents"}) &&
          Ip({"-n", agents_, "addr", "add", agents_address_ + "/24", "dev", "to-coord"}) &&
          Ip({"-n", coordinator_, "link", "set", "lo", "up"}) &&
          Ip({"-n", agents_, "link", "set", "lo", "up"}) &&
          Ip({"-n", coordinator_, "link", "set", "to-agents", "up"}) &&
          Ip({"-n", agents_, "link", "set", "to-coord", "up"});
  }
  NetworkNamespaces(const NetworkNamespaces&) = delete;
  NetworkNamespaces& operator=(const NetworkNamespaces&) = delete;

  ~NetworkNamespaces() {
    for (const std::string& name : created_) {
      const RunResult result = RunProgram(ip_, {"netns", "delete", name}, Options());
      EXPECT_EQ(result.exit_code, 0) << "ip netns delete " << name << ": " << result.err;
    }
  }

  bool ok() const { return ok_; }
  // The failed command and what it said, when !ok().
  const std::string& error() const { return error_; }
  const std::string& coordinator() const { return coordinator_; }
  const std::string& agents() const { return agents_; }
  const std::string& coordinator_address() const { return coordinator_address_; }
  const std::string& agents_address() const { return agents_address_; }

 private:
  static RunOptions Options() {
    RunOptions options;
    options.deadline = std::chrono::seconds{30};
    return options;
  }

  bool Ip(const std::vector<std::string>& args) {
    const RunResult result = RunProgram(ip_, args, Options());
    if (result.exit_code == 0) return true;
    error_ = "ip";
    for (const std::string& arg : args) error_ += " " + arg;
    std::string said = result.err;
    while (!said.empty() && (said.back() == '\n' || said.back() == ' ')) said.pop_back();
    error_ += ": " + (said.empty() ? "exit " + std::to_string(result.exit_code) : said);
    return false;
  }

  std::string ip_;
  std::string coordinator_, agents_;
  std::string coordinator_address_, agents_address_;
  std::vector<std::string> created_;
  bool ok_ = false;
  std::string error_;
};

class FarmNetnsTest : public FarmTest {
 protected:
  void SetUp() override {
    FarmTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    ip_ = FindProgram("ip");
    if (ip_.empty()) {
      GTEST_SKIP() << "network namespaces unavailable here (no `ip` command: install "
                      "iproute2): multi-host test skipped";
    }
    namespaces_ = std::make_unique<NetworkNamespaces>(ip_);
    if (!namespaces_->ok()) {
      const std::string why = namespaces_->error();
      namespaces_.reset();
      GTEST_SKIP() << "network namespaces unavailable here (" << why
                   << "): multi-host test skipped";
    }
    farm_endpoint_ = "tcp://" + namespaces_->coordinator_address() + ":" + std::to_string(kPort);

    // One key pair per role; the coordinator admits the agents' and clients'.
    keys_ = scratch_dir() / "keys";
    std::filesystem::create_directories(keys_ / "authorized");
    for (const char* name : {"coordinator", "agent", "client", "intruder"}) {
      const RunResult keygen = Run({"keygen", name, "--dir", keys_.string()});
      ASSERT_EQ(keygen.exit_code, 0) << keygen.err;
    }
    for (const char* name : {"agent.pub", "client.pub"}) {
      std::filesystem::copy_file(keys_ / name, keys_ / "authorized" / name);
    }
  }

  void TearDown() override {
    // The test's processes are gone by now: they died with its body's scope.
    namespaces_.reset();
    FarmTest::TearDown();
  }

  std::string key(const std::string& file) const { return (keys_ / file).string(); }

  // Starts `graphene args...` in network namespace `ns` through
  // `ip netns exec`, which execs graphene: the pid is graphene's own.
  std::unique_ptr<FarmProcess> StartIn(const std::string& ns, std::vector<std::string> args,
                                       const std::string& log_name) {
    args.insert(args.begin(), {"netns", "exec", ns, kGrapheneBinary});
    const auto log = scratch_dir() / ("netns-" + log_name + "-" + std::to_string(logs_++) + ".log");
    return std::make_unique<FarmProcess>(FarmProcess::Program(
        ip_, std::move(args), log, {{kRunMarkerVariable, run_marker()}}));
  }

  // The coordinator on its own "host", listening on the veth address only.
  std::unique_ptr<FarmProcess> StartCoordinatorHost() {
    auto coordinator = StartIn(namespaces_->coordinator(),
                               {"coordinator", "--bind", farm_endpoint_, "--db", coordinator_db(),
                                "--key", key("coordinator.key"), "--authorized-keys",
                                key("authorized"), "--heartbeat-ms", "200",
                                "--heartbeat-timeout-ms", "2000"},
                               "coordinator");
    EXPECT_TRUE(WaitFor([&] {
      return coordinator->Err().find("listening on") != std::string::npos ||
             !coordinator->running();
    })) << coordinator->Err();
    EXPECT_TRUE(coordinator->running()) << coordinator->Err();
    // Signals sent to the pid reach graphene, not a wrapper.
    std::error_code error;
    EXPECT_TRUE(std::filesystem::equivalent(
        std::filesystem::read_symlink("/proc/" + std::to_string(coordinator->pid()) + "/exe",
                                      error),
        kGrapheneBinary, error))
        << "ip netns exec did not exec graphene in place";
    return coordinator;
  }

  // An agent on the agents' "host" with key `key_name`.key.
  std::unique_ptr<FarmProcess> StartAgentHost(const std::string& name,
                                              const std::string& key_name) {
    return StartIn(namespaces_->agents(),
                   {"agent", "--connect", farm_endpoint_, "--key", key(key_name + ".key"),
                    "--coordinator-key", key("coordinator.pub"), "--name", name, "--slots", "4",
                    "--cache", (scratch_dir() / ("cache-" + name)).string(), "--heartbeat-ms",
                    "200", "--heartbeat-timeout-ms", "2000"},
                   "agent-" + name);
  }

  // Like StartAgentHost, then waits until the coordinator saw it join.
  std::unique_ptr<FarmProcess> StartJoinedAgentHost(const std::string& name,
                                                    FarmProcess& coordinator) {
    auto agent = StartAgentHost(name, "agent");
    const std::string joined = "agent " + name + " joined";
    EXPECT_TRUE(WaitFor([&] {
      return coordinator.Err().rfind(joined) != std::string::npos || !agent->running();
    })) << "agent " << name << " never joined:\n"
        << agent->Err() << "\ncoordinator:\n"
        << coordinator.Err();
    EXPECT_TRUE(agent->running()) << agent->Err();
    return agent;
  }

  // A client command (run-all, status, ...) on the agents' "host".
  std::unique_ptr<FarmProcess> StartClientHost(std::vector<std::string> args,
                                               const std::string& key_name = "client") {
    args.insert(args.end(), {"--coordinator", farm_endpoint_, "--key", key(key_name + ".key"),
                             "--coordinator-key", key("coordinator.pub")});
    const std::string log_name = args.front();
    return StartIn(namespaces_->agents(), std::move(args), log_name);
  }

  std::string ip_;
  std::unique_ptr<NetworkNamespaces> namespaces_;
  std::string farm_endpoint_;
  std::filesystem::path keys_;
  int logs_ = 0;
};

TEST_F(FarmNetnsTest, AgentsOnAnotherHostRunTheCampaignOverCurve) {
  auto coordinator = StartCoordinatorHost();
  ASSERT_TRUE(coordinator->running());
  EXPECT_THAT(coordinator->Err(), HasSubstr("CurveZMQ"));
  auto n1 = StartJoinedAgentHost("n1", *coordinator);
  auto n2 = StartJoinedAgentHost("n2", *coordinator);
  ASSERT_TRUE(n1->running() && n2->running());

  auto client = StartClientHost(
      {"run-all", "--test-dir", kFarmTestDir, "--format", "json", "--generate", "20", "--repeat",
       "3"});
  ASSERT_EQ(client->Wait(std::chrono::seconds{180}), 0) << client->Err();
  const nlohmann::json report = ClientReport(*client);
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(report["campaign"], "1");
  EXPECT_EQ(report["targets"].size(), 3u);
  EXPECT_EQ(report["totals"]["mismatches"], 0);
  ExpectOneResultPerJob(1);
  EXPECT_EQ(AgentsOf(coordinator_db(), 1), (std::vector<std::string>{"n1", "n2"}))
      << "both agents ran jobs";
  EXPECT_THAT(client->Err(), HasSubstr("campaign 1 submitted to " + farm_endpoint_));

  StopAll({&n1, &n2, &coordinator});
  ExpectNothingLeft();
}

TEST_F(FarmNetnsTest, AgentWithAnUnauthorizedKeyIsRefused) {
  auto coordinator = StartCoordinatorHost();
  ASSERT_TRUE(coordinator->running());
  auto intruder = StartAgentHost("intruder", "intruder");

  // The .pub file: comment lines starting with '#', then the Z85 key.
  std::string intruder_key;
  std::stringstream pub(ReadText(keys_ / "intruder.pub"));
  for (std::string line; std::getline(pub, line);) {
    if (!line.empty() && line[0] != '#') intruder_key = line;
  }
  ASSERT_FALSE(intruder_key.empty());
  EXPECT_TRUE(WaitFor([&] { return coordinator->Err().find("refused") != std::string::npos; },
                      std::chrono::seconds{10}))
      << coordinator->Err();
  // Refused by key, and from the other host's address.
  EXPECT_THAT(coordinator->Err(), HasSubstr(intruder_key));
  EXPECT_THAT(coordinator->Err(), HasSubstr(namespaces_->agents_address()));
  EXPECT_THAT(coordinator->Err(), Not(HasSubstr("agent intruder joined")));
  EXPECT_TRUE(intruder->running()) << intruder->Err();

  // An authorized client on the same host sees no agent at all.
  auto status = StartClientHost({"status", "--format", "json"});
  ASSERT_EQ(status->Wait(), 0) << status->Err();
  const nlohmann::json reply = nlohmann::json::parse(status->Out(), nullptr, false);
  ASSERT_TRUE(reply.is_object()) << status->Out();
  EXPECT_EQ(reply["agents"].size(), 0u) << reply.dump();
  EXPECT_THAT(coordinator->Err(), Not(HasSubstr("agent intruder joined")));

  StopAll({&intruder, &coordinator});
  ExpectNothingLeft();
}

}  // namespace
}  // namespace graphene::e2e
