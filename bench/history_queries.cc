// history_bench: how fast the history commands (campaigns, stats, flaky,
// history) answer on a big history database.
//
// It builds the database through the real write path (Store::CreateCampaign,
// Store::RecordResults) with the shape of `graphene run-all --generate 50
// --repeat 3` over the repository's fixtures, one campaign every 10 minutes
// over a week, until it holds about --executions executions (default 10
// million). Targets behave in a seeded, reproducible mix: always escape,
// never, at random, depending on the input, or with a rate that changes
// midway. Then it times each query by running the real graphene binary as a
// subprocess, output discarded. It prints figures and fails only when a
// query does. A database built with the same parameters is reused (the
// parameters are kept in PATH.params); --rebuild builds it again. See
// bench/README.md.
#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "generator/input_generator.h"
#include "generator/rng.h"
#include "schema/database.h"
#include "schema/execution.h"
#include "schema/names.h"
#include "store/store.h"

extern char** environ;

namespace graphene {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The shape of each campaign, as `graphene run-all --generate 50 --repeat 3`.
constexpr size_t kInputs = 50;
constexpr uint32_t kRepeat = 3;
constexpr size_t kBatch = 5000;                 // results per RecordResults call (one transaction)
constexpr int64_t kFirstCampaign = 1793491200;  // 2026-11-01T00:00:00Z
constexpr int64_t kCampaignEvery = 600;         // seconds between campaigns
constexpr uint64_t kRunAllSeed = 0;             // run-all's default: same inputs every campaign

struct Config {
  uint64_t executions = 10'000'000;
  std::string db;  // default: /tmp/graphene-history-bench-<executions>.db
  bool rebuild = false;
  int repeats = 3;
  uint64_t seed = 1;  // of the targets' behaviour, not of the inputs
};

enum class Behaviour { kAlways, kNever, kRandom, kInputDependent, kDrift };

// A fixture target and how it behaves in the generated history.
struct Target {
  TargetInfo info;
  Behaviour behaviour = Behaviour::kNever;
  double rate_before = 0, rate_after = 0;  // kRandom: rate_before; kDrift: both halves
  std::string kind;                        // of its escapes
  int64_t start_line = 0;                  // where its escapes are started
};

// Every function of fixtures/python whose docstring has an "Expected
// Behavior", as run-all finds them: file by file in name order.
std::vector<TargetInfo> ScanFixtures() {
  std::vector<fs::path> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(GRAPHENE_FIXTURES_DIR)) {
    if (entry.path().extension() == ".py") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  static const std::regex def_line(R"(^def (\w+)\()");
  static const std::regex expected_line(R"(Expected Behavior: (ESCAPE|SAFE))");
  std::vector<TargetInfo> targets;
  for (const fs::path& file : files) {
    std::ifstream in(file);
    std::string line;
    std::optional<TargetInfo> current;
    for (int64_t number = 1; std::getline(in, line); ++number) {
      std::smatch match;
      if (std::regex_search(line, match, def_line)) {
        const std::string relative = "fixtures/python/" + file.filename().string();
        current = TargetInfo{};
        current->spec = relative + ":" + match[1].str();
        current->ok = true;
        current->file = relative;
        current->line = number;
      } else if (current && std::regex_search(line, match, expected_line)) {
        current->expected = match[1].str();
        current->reason = "benchmark";
        targets.push_back(*current);
        current.reset();
      }
    }
  }
  return targets;
}

std::string KindOf(const std::string& file) {
  if (file.find("process") != std::string::npos) return std::string(kKindProcess);
  if (file.find("executor") != std::string::npos) return std::string(kKindExecutorWorker);
  if (file.find("pool") != std::string::npos) return std::string(kKindPoolWorker);
  if (file.find("async") != std::string::npos) return std::string(kKindAsyncTask);
  if (file.find("native") != std::string::npos) return std::string(kKindNativeThread);
  return std::string(kKindThread);
}

// Gives the targets a mix of behaviours: most do what their docstring says,
// some escape at random, some only on some inputs, and a few change rate
// halfway through the week (up for even ones, down for odd ones).
std::vector<Target> AssignBehaviours(const std::vector<TargetInfo>& infos) {
  std::vector<Target> targets;
  for (size_t k = 0; k < infos.size(); ++k) {
    Target t{.info = infos[k], .kind = KindOf(infos[k].file), .start_line = infos[k].line + 6};
    const bool escapes = infos[k].expected == kExpectEscape;
    if (k % 22 == 9) {
      t.behaviour = Behaviour::kDrift;
      t.rate_before = (k / 22) % 2 ? 0.6 : 0.05;
      t.rate_after = (k / 22) % 2 ? 0.1 : 0.5;
    } else if (k % 10 == 3) {
      t.behaviour = Behaviour::kRandom;
      t.rate_before = 0.1 + 0.1 * double(k % 7);
    } else if (k % 10 == 6) {
      t.behaviour = Behaviour::kInputDependent;
    } else {
      t.behaviour = escapes ? Behaviour::kAlways : Behaviour::kNever;
    }
    targets.push_back(std::move(t));
  }
  return targets;
}

double Uniform(Rng& rng) { return double(rng.Next() >> 11) * 0x1.0p-53; }

bool Escapes(const Target& t, size_t target, size_t input, bool second_half, Rng& rng) {
  switch (t.behaviour) {
    case Behaviour::kAlways:
      return true;
    case Behaviour::kNever:
      return false;
    case Behaviour::kRandom:
      return Uniform(rng) < t.rate_before;
    case Behaviour::kInputDependent:
      return (input + target) % 4 == 0;
    case Behaviour::kDrift:
      return Uniform(rng) < (second_half ? t.rate_after : t.rate_before);
  }
  return false;
}

ExecutionResult MakeResult(const Target& t, bool escaped, Rng& rng) {
  ExecutionResult result;
  result.status = kStatusOk;
  result.escape_detected = escaped;
  result.duration_ms = 0.05 + 5 * Uniform(rng);
  result.agent = "local";
  if (!escaped) return result;
  const bool process = t.kind == kKindProcess || t.kind == kKindPoolWorker;
  Escape escape;
  escape.kind = t.kind;
  escape.name = process ? "Process-1" : "Thread-1 (_long_worker)";
  escape.started_at = fmt::format("{}:{}", t.info.file, t.start_line);
  escape.started_in = t.info.spec.substr(t.info.spec.find(':') + 1);
  escape.running = process ? "python3 -c 'from multiprocessing...'" : "_long_worker";
  const int64_t id = 1000 + int64_t(rng.Below(60000));
  (process ? escape.pid : escape.native_id) = id;
  result.escapes.push_back(std::move(escape));
  return result;
}

std::string IsoTime(int64_t unix_seconds) {
  const std::time_t time = unix_seconds;
  std::tm tm{};
  gmtime_r(&time, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
  return text;
}

uint64_t Fnv1a(const std::string& text) {
  uint64_t hash = 0xcbf29ce484222325u;
  for (unsigned char c : text) hash = (hash ^ c) * 0x100000001b3u;
  return hash;
}

// What the database was built from; a database whose side file says
// otherwise is rebuilt.
std::string Parameters(const Config& config, size_t campaigns, const std::vector<Target>& targets) {
  std::string specs;
  for (const Target& t : targets) specs += t.info.spec + "\n";
  return fmt::format(
      "schema_version={} campaigns={} targets={} inputs={} repeat={} seed={} targets_hash={:x}\n",
      kSchemaVersion, campaigns, targets.size(), kInputs, kRepeat, config.seed, Fnv1a(specs));
}

uint64_t FileSize(const std::string& path) {
  std::error_code error;
  const uintmax_t size = fs::file_size(path, error);
  return error ? 0 : size;
}

void RemoveDatabase(const std::string& db) {
  for (const char* suffix : {"", "-wal", "-shm", ".params"}) fs::remove(db + suffix);
}

struct BuildFigures {
  uint64_t executions = 0;
  double total_s = 0;   // everything: creating campaigns, generating and storing results
  double record_s = 0;  // inside Store::RecordResults only
};

// Stores campaign `c` of `campaigns` and all its results, adding to `figures`.
Status BuildCampaign(Store& store, size_t c, size_t campaigns, const std::vector<Target>& targets,
                     const std::vector<std::string>& inputs, Rng& rng, BuildFigures& figures) {
  std::vector<TargetInfo> infos;
  for (const Target& t : targets) infos.push_back(t.info);
  CampaignRecord record;
  record.created_at = IsoTime(kFirstCampaign + int64_t(c) * kCampaignEvery);
  record.command = "graphene run-all --generate 50 --repeat 3";
  record.options_json = R"({"generate":50,"repeat":3})";
  record.root = fs::path(GRAPHENE_FIXTURES_DIR).parent_path().parent_path();
  record.seed = kRunAllSeed;
  record.total_jobs = targets.size() * inputs.size() * kRepeat;
  record.repeat = kRepeat;
  Result<uint64_t> id = store.CreateCampaign(record, infos, inputs);
  if (!id.ok()) return id.status();
  const bool second_half = c >= campaigns / 2;
  std::vector<std::pair<Job, ExecutionResult>> batch;
  uint64_t index = 0;
  for (size_t t = 0; t < targets.size(); ++t) {
    for (size_t i = 0; i < inputs.size(); ++i) {
      for (uint32_t r = 0; r < kRepeat; ++r, ++index) {
        Job job{.campaign = *id,
                .index = index,
                .target = targets[t].info.spec,
                .root = record.root,
                .input = inputs[i],
                .repeat = r};
        const bool escaped = Escapes(targets[t], t, i, second_half, rng);
        batch.emplace_back(std::move(job), MakeResult(targets[t], escaped, rng));
        if (batch.size() < kBatch && index + 1 < record.total_jobs) continue;
        const Clock::time_point start = Clock::now();
        Result<size_t> stored = store.RecordResults(batch);
        figures.record_s += std::chrono::duration<double>(Clock::now() - start).count();
        if (!stored.ok()) return stored.status();
        figures.executions += *stored;
        batch.clear();
      }
    }
  }
  return store.FinishCampaign(*id, kCampaignDone);
}

Result<BuildFigures> Build(const std::string& db, size_t campaigns,
                           const std::vector<Target>& targets, uint64_t seed) {
  Result<std::unique_ptr<Store>> store = Store::Open(db);
  if (!store.ok()) return store.status();
  const std::vector<std::string> inputs = GenerateInputs(kInputs, kRunAllSeed);
  Rng rng(seed);
  BuildFigures figures;
  const Clock::time_point start = Clock::now();
  for (size_t c = 0; c < campaigns; ++c) {
    Status status = BuildCampaign(**store, c, campaigns, targets, inputs, rng, figures);
    if (!status.ok()) return status;
    if ((c + 1) % 50 == 0 || c + 1 == campaigns) {
      const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
      fmt::print(stderr, "  {}/{} campaigns, {} executions, {:.0f} s, {:.0f} exec/s\n", c + 1,
                 campaigns, figures.executions, elapsed, double(figures.executions) / elapsed);
    }
  }
  figures.total_s = std::chrono::duration<double>(Clock::now() - start).count();
  return figures;
}

// One run of graphene with `args`: its wall time, exit code and output size.
struct Run {
  int exit_code = -1;
  double seconds = 0;
  size_t lines = 0;
};

Run RunGraphene(const std::vector<std::string>& args) {
  std::vector<char*> argv{const_cast<char*>(GRAPHENE_BINARY)};
  for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    fmt::print(stderr, "history_bench: creating a pipe: {}\n", std::strerror(errno));
    return {};
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  Run run;
  const Clock::time_point start = Clock::now();
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, GRAPHENE_BINARY, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  char buffer[65536];
  for (ssize_t n; (n = read(fds[0], buffer, sizeof buffer)) > 0;) {
    run.lines += size_t(std::count(buffer, buffer + n, '\n'));
  }
  close(fds[0]);
  if (spawned != 0) {
    fmt::print(stderr, "history_bench: starting {}: {}\n", GRAPHENE_BINARY, std::strerror(spawned));
    return {};
  }
  int wait_status = 0;
  if (waitpid(pid, &wait_status, 0) != pid) {
    fmt::print(stderr, "history_bench: waiting for graphene: {}\n", std::strerror(errno));
    return {};
  }
  run.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (WIFEXITED(wait_status)) run.exit_code = WEXITSTATUS(wait_status);
  return run;
}

struct Query {
  std::string label;
  std::vector<std::string> args;
};

// `report` is where `graphene report --html` writes its page.
std::vector<Query> Queries(size_t campaigns, const std::vector<Target>& targets,
                           const std::string& report) {
  const int64_t last = kFirstCampaign + int64_t(campaigns - 1) * kCampaignEvery;
  const std::string since = IsoTime(std::max(kFirstCampaign, last - 24 * 3600));
  const std::string middle = std::to_string(campaigns / 2 + 1);
  std::string drifting = targets.front().info.spec;
  for (const Target& t : targets) {
    if (t.behaviour == Behaviour::kDrift) drifting = t.info.spec;
  }
  return {
      {"campaigns", {"campaigns"}},
      {"stats", {"stats"}},
      {"stats '*threads*'", {"stats", "*threads*"}},
      {"stats --since " + since, {"stats", "--since", since}},
      {"stats --campaign " + middle, {"stats", "--campaign", middle}},
      {"flaky", {"flaky"}},
      {"history " + drifting, {"history", drifting}},
      {"stats --format json", {"stats", "--format", "json"}},
      {"flaky --format csv", {"flaky", "--format", "csv"}},
      {"report --html", {"report", "--html", report}},
  };
}

// Times each query `repeats` times; false when one failed.
bool TimeQueries(const std::string& db, const std::vector<Query>& queries, int repeats) {
  fmt::print("\n| query | min s | median s | lines out | within 1 s |\n|---|---|---|---|---|\n");
  bool ok = true;
  for (const Query& query : queries) {
    std::vector<std::string> args = query.args;
    args.insert(args.end(), {"--db", db});
    std::vector<double> seconds;
    size_t lines = 0;
    for (int k = 0; k < repeats; ++k) {
      const Run run = RunGraphene(args);
      if (run.exit_code != 0) {
        fmt::print(stderr, "history_bench: `graphene {}` exited with {}\n", query.label,
                   run.exit_code);
        ok = false;
        break;
      }
      seconds.push_back(run.seconds);
      lines = run.lines;
    }
    if (seconds.empty()) continue;
    std::sort(seconds.begin(), seconds.end());
    const double median = seconds.size() % 2
                              ? seconds[seconds.size() / 2]
                              : (seconds[seconds.size() / 2 - 1] + seconds[seconds.size() / 2]) / 2;
    fmt::print("| `{}` | {:.3f} | {:.3f} | {} | {} |\n", query.label, seconds.front(), median,
               lines, median <= 1.0 ? "yes" : "NO");
    std::fflush(stdout);
  }
  return ok;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

int Main(int argc, char** argv) {
  Config config;
  CLI::App app(
      "Builds a big history database through the Store and times graphene's history "
      "queries on it");
  app.add_option("--executions", config.executions,
                 "Executions to store (rounded up to whole "
                 "campaigns of 9,900)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--db", config.db, "Database (default /tmp/graphene-history-bench-<N>.db)");
  app.add_flag("--rebuild", config.rebuild, "Build the database even if it exists");
  app.add_option("--repeats", config.repeats, "Timed runs per query")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--seed", config.seed, "Seed of the targets' behaviour")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (config.db.empty()) {
    config.db = fmt::format("/tmp/graphene-history-bench-{}.db", config.executions);
  }

  const std::vector<Target> targets = AssignBehaviours(ScanFixtures());
  if (targets.empty()) {
    fmt::print(stderr, "history_bench: no targets in {}\n", GRAPHENE_FIXTURES_DIR);
    return 2;
  }
  const size_t per_campaign = targets.size() * kInputs * kRepeat;
  const size_t campaigns = (config.executions + per_campaign - 1) / per_campaign;
  const std::string parameters = Parameters(config, campaigns, targets);
  fmt::print(
      "graphene: {}\ndatabase: {}\n{} campaigns x {} targets x {} inputs x {} repeats = "
      "{} executions, one campaign every {} min from {}\n",
      GRAPHENE_BINARY, config.db, campaigns, targets.size(), kInputs, kRepeat,
      campaigns * per_campaign, kCampaignEvery / 60, IsoTime(kFirstCampaign));

  if (!config.rebuild && fs::exists(config.db) && ReadFile(config.db + ".params") == parameters) {
    fmt::print("reusing the database (same parameters; --rebuild to build it again)\n");
  } else {
    RemoveDatabase(config.db);
    fmt::print("building...\n");
    std::fflush(stdout);
    Result<BuildFigures> built = Build(config.db, campaigns, targets, config.seed);
    if (!built.ok()) {
      fmt::print(stderr, "history_bench: {}\n", built.status().message());
      return 1;
    }
    std::ofstream(config.db + ".params") << parameters;
    fmt::print(
        "built: {} executions in {:.1f} s ({:.0f} exec/s overall), {:.1f} s in "
        "Store::RecordResults ({:.0f} exec/s)\n",
        built->executions, built->total_s, double(built->executions) / built->total_s,
        built->record_s, double(built->executions) / built->record_s);
  }
  fmt::print("database size: {:.1f} MB (+ {:.1f} MB WAL)\n", double(FileSize(config.db)) / 1e6,
             double(FileSize(config.db + "-wal")) / 1e6);
  std::fflush(stdout);
  return TimeQueries(config.db, Queries(campaigns, targets, config.db + ".html"), config.repeats)
             ? 0
             : 1;
}

}  // namespace
}  // namespace graphene

int main(int argc, char** argv) { return graphene::Main(argc, argv); }
