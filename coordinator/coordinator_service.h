// CoordinatorService: the standalone coordinator (`graphene coordinator`).
// It puts a Coordinator in front of a Store: clients submit campaigns with
// their code as a bundle, the campaign and its bundle are recorded before the
// client hears back, results are stored as they arrive, and clients watch
// progress and fetch results from the database. Started on a database that
// holds unfinished submitted campaigns, it resumes them where they stopped:
// the database, not memory, says which jobs are done, and its UNIQUE
// (campaign, job) key keeps every job to one stored result.
#pragma once

#include <memory>
#include <string>
#include <zmq.hpp>

#include "base/status.h"
#include "coordinator/coordinator.h"
#include "store/store.h"

namespace graphene {

struct CoordinatorServiceOptions {
  CoordinatorOptions coordinator;
  std::string db_path;
};

class CoordinatorService : private CoordinatorEvents {
 public:
  // Opens the database, binds the coordinator and resumes the unfinished
  // campaigns that were submitted to a coordinator (campaigns run by a local
  // `analyze`/`run-all` are not ours to resume). `context` must outlive it.
  static Result<std::unique_ptr<CoordinatorService>> Start(zmq::context_t& context,
                                                           CoordinatorServiceOptions options);

  // Serves until RequestStop(), then tells the agents and returns Ok.
  // Unfinished campaigns stay "running" in the database for the next start.
  Status Run();
  void RequestStop() { coordinator_->RequestStop(); }

  CoordinatorService(const CoordinatorService&) = delete;
  CoordinatorService& operator=(const CoordinatorService&) = delete;
  ~CoordinatorService() override;

 private:
  CoordinatorService(std::unique_ptr<Store> store, std::unique_ptr<Coordinator> coordinator);

  Status ResumeCampaigns();
  Status Serve(const CampaignRecord& record);
  void OnCampaignDone(uint64_t campaign) override;
  std::optional<Message> OnRequest(const Message& request) override;
  Message OnSubmit(const Submit& submit);
  Message OnWatch(const Watch& watch);
  Message OnFetchResults(const FetchResults& fetch);
  Message OnStatus(const StatusRequest& request);
  Message OnFetchBundle(const FetchBundle& fetch);
  Result<CampaignState> StateOf(const CampaignRecord& record);

  std::unique_ptr<Store> store_;
  std::unique_ptr<Coordinator> coordinator_;
};

}  // namespace graphene
