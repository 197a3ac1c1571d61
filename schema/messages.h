// The ZeroMQ wire protocol between coordinator and agents. Every message is
// one ZeroMQ frame holding a msgpack array [protocol_version, type, body],
// where body is a msgpack map. Decode() is the only way bytes become a
// Message: it checks the version, the type and the body's shape, so a
// malformed or foreign peer yields an error, never a crash.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/status.h"
#include "schema/execution.h"

namespace graphene {

// 2: jobs name a bundle, clients submit and follow campaigns. A peer of
// version 1 would run bundled jobs in the wrong folder, so it is refused.
inline constexpr uint32_t kProtocolVersion = 2;
// Messages larger than this are refused (ZMQ_MAXMSGSIZE on every socket).
inline constexpr int64_t kMaxWireMessageBytes = 64ll << 20;

// Agent -> coordinator, first message on a connection.
struct Hello {
  std::string agent;  // human-readable agent name (host:pid)
  uint32_t slots = 1;
  MSGPACK_DEFINE_MAP(agent, slots);
};

// Agent -> coordinator: "I can take `credit` more jobs".
struct Ready {
  uint32_t credit = 0;
  MSGPACK_DEFINE_MAP(credit);
};

// Coordinator -> agent.
struct JobBatch {
  std::vector<Job> jobs;
  MSGPACK_DEFINE_MAP(jobs);
};

// Agent -> coordinator.
struct ResultBatch {
  std::vector<ExecutionResult> results;
  MSGPACK_DEFINE_MAP(results);
};

// Both ways, when otherwise idle, so each side can tell the other is alive.
struct Heartbeat {
  uint64_t sent_ms = 0;
  MSGPACK_DEFINE_MAP(sent_ms);
};

// Agent -> coordinator: "send me bundle `hash`", for jobs naming a bundle
// this agent has not cached.
struct FetchBundle {
  std::string hash;
  MSGPACK_DEFINE_MAP(hash);
};

// Coordinator -> agent: the bundle's bytes (bundle/ decodes them); empty
// `content` with an `error` when the coordinator does not have it.
struct BundleData {
  std::string hash;
  std::string content;
  std::string error;
  MSGPACK_DEFINE_MAP(hash, content, error);
};

// What a client asks a coordinator to run: the campaign's targets, inputs
// and execution limits, expanded by the coordinator as a CampaignPlan.
struct CampaignSpec {
  std::string command;       // the client's command line, for people
  uint64_t seed = 0;
  std::string options_json;  // the client's options, as recorded in campaigns.options
  std::string root;          // the client's folder, for people: agents use the bundle
  std::string git_commit;
  std::vector<TargetInfo> targets;
  std::vector<std::string> inputs;
  uint32_t repeat = 1;
  ExecutionLimits limits{};
  MSGPACK_DEFINE_MAP(command, seed, options_json, root, git_commit, targets, inputs, repeat,
                     limits);
};

// Client -> coordinator: run `campaign` with the code in `bundle`. The
// client picks `submission` at random and sends the same one again when it
// retries, so a retried Submit never creates a second campaign.
struct Submit {
  std::string submission;
  CampaignSpec campaign;
  std::string bundle_hash;
  std::string bundle;
  MSGPACK_DEFINE_MAP(submission, campaign, bundle_hash, bundle);
};

// Coordinator -> client: the campaign a Submit created (or had created).
struct Submitted {
  std::string submission;
  uint64_t campaign = 0;
  MSGPACK_DEFINE_MAP(submission, campaign);
};

// Client -> coordinator: "how far is `campaign`?", answered by a
// CampaignState. Clients ask again and again; the coordinator keeps no
// state about them, so one can leave and re-attach at any time.
struct Watch {
  uint64_t campaign = 0;
  bool details = false;  // include the targets and how the campaign was made
  MSGPACK_DEFINE_MAP(campaign, details);
};

struct CampaignState {
  uint64_t campaign = 0;
  std::string status;  // a campaigns.status name (schema/database.h)
  uint64_t done = 0;
  uint64_t total = 0;
  uint64_t escapes = 0;  // stored executions with an escape
  // Only when the Watch asked for details:
  std::vector<TargetInfo> targets{};
  std::string command{};
  uint64_t seed = 0;
  std::string options_json{};
  MSGPACK_DEFINE_MAP(campaign, status, done, total, escapes, targets, command, seed,
                     options_json);
};

// Client -> coordinator: stored results of `campaign` from job `first_index`
// on, at most `limit` of them, answered by a ResultsPage.
struct FetchResults {
  uint64_t campaign = 0;
  uint64_t first_index = 0;
  uint32_t limit = 1000;
  MSGPACK_DEFINE_MAP(campaign, first_index, limit);
};

struct ResultsPage {
  uint64_t campaign = 0;
  uint64_t first_index = 0;  // as asked, so the client can match the answer
  std::vector<StoredExecution> executions{};
  uint64_t next_index = 0;   // where the next page starts
  bool end = false;          // no stored result from next_index on
  MSGPACK_DEFINE_MAP(campaign, first_index, executions, next_index, end);
};

// Client -> coordinator: "who is there and what is running?"
struct StatusRequest {
  uint32_t recent_campaigns = 20;  // finished campaigns to include
  MSGPACK_DEFINE_MAP(recent_campaigns);
};

struct AgentState {
  std::string name;
  uint32_t slots = 0;
  uint64_t leased = 0;   // jobs it is running for us
  uint64_t idle_ms = 0;  // since it was last heard
  MSGPACK_DEFINE_MAP(name, slots, leased, idle_ms);
};

struct CampaignListing {
  CampaignState state;
  std::string created_at;
  std::string command;
  MSGPACK_DEFINE_MAP(state, created_at, command);
};

struct StatusReply {
  std::vector<AgentState> agents;
  std::vector<CampaignListing> campaigns;  // running ones, then recent ones, newest first
  MSGPACK_DEFINE_MAP(agents, campaigns);
};

// Coordinator -> client: a request it could not answer, and why.
struct Refused {
  std::string request;  // the request's MessageName
  std::string reason;
  MSGPACK_DEFINE_MAP(request, reason);
};

// Either side: "I am leaving". An agent hands back nothing: unfinished jobs
// are re-leased by the coordinator.
struct Bye {
  std::string reason;
  MSGPACK_DEFINE_MAP(reason);
};

// A Heartbeat stamped with the current wall-clock time.
Heartbeat HeartbeatNow();

using Message = std::variant<Hello, Ready, JobBatch, ResultBatch, Heartbeat, Bye, FetchBundle,
                             BundleData, Submit, Submitted, Watch, CampaignState, FetchResults,
                             ResultsPage, StatusRequest, StatusReply, Refused>;

// The message's type name, for logs ("hello", "jobs", ...).
std::string_view MessageName(const Message& message);

std::string Encode(const Message& message);
Result<Message> Decode(std::string_view bytes);

}  // namespace graphene
