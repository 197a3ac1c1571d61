// Farm pieces for the end-to-end tests: real `graphene coordinator`,
// `graphene agent` and client processes started in the background, each
// logging to a file in the test's scratch folder, and a reader of the
// coordinator's database. A FarmProcess still running when it goes out of
// scope is killed, so a failed test leaves nothing behind.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace graphene::e2e {

class FarmProcess {
 public:
  // Starts graphene with `args` in `cwd`, stdin from /dev/null, stdout to
  // `log` and stderr to `log`.err, with `env` added to the environment.
  FarmProcess(std::vector<std::string> args, std::filesystem::path log,
              std::vector<std::pair<std::string, std::string>> env,
              std::filesystem::path cwd = GRAPHENE_SOURCE_DIR);
  // Like the above, but runs `program` instead of graphene (e.g. ip netns exec).
  static FarmProcess Program(std::string program, std::vector<std::string> args,
                             std::filesystem::path log,
                             std::vector<std::pair<std::string, std::string>> env);
  FarmProcess(FarmProcess&& other) noexcept;
  FarmProcess& operator=(FarmProcess&&) = delete;
  ~FarmProcess();

  pid_t pid() const { return pid_; }
  bool running();
  void Signal(int signal);
  // Waits for the exit; the exit status, 128 + signal if killed, or nullopt
  // if still running after `limit` (which fails the test).
  std::optional<int> Wait(std::chrono::seconds limit = std::chrono::seconds{60});
  // What it printed on stdout and stderr so far.
  std::string Out() const;
  std::string Err() const;

 private:
  FarmProcess() = default;
  void Start(const std::string& program, std::vector<std::string> argv,
             const std::filesystem::path& cwd,
             const std::vector<std::pair<std::string, std::string>>& env);

  pid_t pid_ = -1;
  std::optional<int> status_;
  std::filesystem::path log_;
};

// A TCP port on 127.0.0.1 that nothing listens on right now.
int FreePort();

// Polls `condition` every 20 ms until it holds (true) or `limit` passes (false).
template <typename Condition>
bool WaitFor(Condition condition, std::chrono::seconds limit = std::chrono::seconds{60}) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    ::usleep(20000);
  }
  return true;
}

// Facts about a coordinator's database, read with a fresh connection.
struct CampaignCounts {
  int64_t results = -1;          // rows in executions
  int64_t distinct_jobs = -1;    // distinct job_index values
  int64_t total_jobs = -1;       // campaigns.total_jobs
  int64_t min_index = -1, max_index = -1;
  std::string status;
};
CampaignCounts CountCampaign(const std::string& db, int64_t campaign);
// Distinct values of executions.agent for `campaign`.
std::vector<std::string> AgentsOf(const std::string& db, int64_t campaign);

}  // namespace graphene::e2e
