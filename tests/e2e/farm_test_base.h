// FarmTest: an end-to-end test with a real farm on loopback TCP: a
// coordinator on a free port with its own database, agents with their own
// bundle caches, and clients, all real graphene processes whose logs stay in
// the scratch folder. Heartbeats are fast so that failures are noticed
// within seconds. At the end nothing may be left running.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "tests/e2e/farm.h"
#include "tests/e2e/leftover_check.h"

namespace graphene::e2e {

// The farm targets (tests/e2e/data/farm): 3 targets.
inline constexpr const char* kFarmTestDir = "tests/e2e/data/farm";

class FarmTest : public LeftoverCheckingTest {
 protected:
  void SetUp() override;
  void TearDown() override;

  std::string endpoint() const { return endpoint_; }
  std::string coordinator_db() const { return (scratch_dir() / "coordinator.db").string(); }

  // Starts a coordinator on endpoint() and waits until it listens.
  std::unique_ptr<FarmProcess> StartCoordinator(std::vector<std::string> extra = {});
  // Starts an agent named `name` and waits until the coordinator saw it join.
  std::unique_ptr<FarmProcess> StartAgent(const std::string& name, FarmProcess& coordinator,
                                          std::vector<std::string> extra = {});
  // Starts `graphene run-all` over the farm targets on the coordinator, with
  // JSON output and `extra` options.
  std::unique_ptr<FarmProcess> StartClient(std::vector<std::string> extra,
                                           const std::string& name = "client");
  // Starts any graphene command with the test's environment.
  std::unique_ptr<FarmProcess> StartGraphene(std::vector<std::string> args,
                                             const std::string& log_name);

  // Waits until campaign `campaign` has at least `results` stored results.
  bool WaitForResults(int64_t campaign, int64_t results);
  // Every job of `campaign` has exactly one stored result, and it is done.
  void ExpectOneResultPerJob(int64_t campaign);
  // Stops each process with SIGTERM and expects exit 0.
  void StopAll(std::vector<std::unique_ptr<FarmProcess>*> processes);

 private:
  std::string endpoint_;
  int log_count_ = 0;
};

// The JSON a client printed on stdout (null, with a failure, if none).
nlohmann::json ClientReport(const FarmProcess& client);

}  // namespace graphene::e2e
