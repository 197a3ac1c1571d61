#include "cli/sarif_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <tuple>

#include "schema/names.h"

namespace graphene {
namespace {

struct Rule {
  std::string_view kind;
  std::string_view name;
  std::string_view description;
};

constexpr std::array<Rule, 7> kRules = {{
    {kKindThread, "EscapedThread", "A Python thread the function started is still running"},
    {kKindTimer, "EscapedTimer", "A threading.Timer the function started is still pending"},
    {kKindExecutorWorker, "EscapedExecutorWorker",
     "A worker thread of an executor the function created is still running"},
    {kKindPoolWorker, "EscapedPoolWorker",
     "A worker of a multiprocessing pool the function created is still running"},
    {kKindProcess, "EscapedProcess", "A process the function started is still running"},
    {kKindNativeThread, "EscapedNativeThread",
     "An OS thread started by native code during the call is still running"},
    {kKindAsyncTask, "EscapedAsyncTask", "An asyncio task the function created is still pending"},
}};

struct Location {
  std::string file;
  int64_t line = 0;
};

// "dir/file.py:12" -> {"dir/file.py", 12}; nullopt without a positive line.
std::optional<Location> ParseStartedAt(const std::string& started_at) {
  const size_t colon = started_at.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == started_at.size()) {
    return std::nullopt;
  }
  const std::string digits = started_at.substr(colon + 1);
  if (digits.size() > 9 || digits.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  const int64_t line = std::stoll(digits);
  if (line <= 0) return std::nullopt;
  return Location{.file = started_at.substr(0, colon), .line = line};
}

// A path as a URI reference: relative paths stay relative, absolute ones
// become file:// URIs; characters a URI may not hold are percent-encoded.
std::string PathUri(const std::string& path) {
  std::string uri = path.starts_with('/') ? "file://" : "";
  for (unsigned char c : path) {
    if (std::isalnum(c) || std::string_view("-._~/!$&'()*+,;=:@").find(static_cast<char>(c)) !=
                               std::string_view::npos) {
      uri += static_cast<char>(c);
    } else {
      uri += fmt::format("%{:02X}", c);
    }
  }
  return uri;
}

nlohmann::json RulesJson() {
  nlohmann::json rules = nlohmann::json::array();
  for (const Rule& rule : kRules) {
    rules.push_back({{"id", rule.kind},
                     {"name", rule.name},
                     {"shortDescription", {{"text", rule.description}}},
                     {"defaultConfiguration", {{"level", "warning"}}},
                     {"properties", {{"tags", {"concurrency", "resource-leak"}}}}});
  }
  return rules;
}

std::optional<size_t> RuleIndex(const std::string& kind) {
  for (size_t i = 0; i < kRules.size(); ++i) {
    if (kRules[i].kind == kind) return i;
  }
  return std::nullopt;
}

// What is known of one distinct escape of a target.
struct Seen {
  std::set<std::string> names, started_in, running;
  uint64_t executions = 0;
};

std::string Joined(const std::set<std::string>& values) {
  std::string text;
  for (const std::string& value : values) {
    if (!text.empty()) text += "', '";
    text += value;
  }
  return text;
}

nlohmann::json ResultJson(const TargetSummary& t, const std::string& kind,
                          const std::string& started_at, const Seen& seen,
                          const Location& location) {
  std::string text =
      fmt::format("{} leaves a {} '{}' running", t.info.spec, kind, Joined(seen.names));
  if (!seen.running.empty()) text += fmt::format(" (running '{}')", Joined(seen.running));
  text += fmt::format(", started at {}", started_at.empty() ? "an unknown place" : started_at);
  if (!seen.started_in.empty()) text += fmt::format(" in {}", Joined(seen.started_in));
  text +=
      fmt::format(", in {} of {} executions; verdict {}", seen.executions, t.executions, t.verdict);
  if (!t.info.expected.empty()) text += fmt::format(", the docstring expects {}", t.info.expected);
  const bool mismatch = t.match.has_value() && !*t.match;
  nlohmann::json result = {
      {"ruleId", kind},
      {"level", mismatch ? "error" : "warning"},
      {"message", {{"text", text}}},
      {"locations",
       {{{"physicalLocation",
          {{"artifactLocation", {{"uri", PathUri(location.file)}}},
           {"region", {{"startLine", location.line}}}}}}}},
      {"properties",
       {{"target", t.info.spec},
        {"verdict", t.verdict},
        {"expected", t.info.expected.empty() ? nlohmann::json() : nlohmann::json(t.info.expected)},
        {"executions", t.executions},
        {"executionsWithThisEscape", seen.executions},
        {"startedAt", started_at}}}};
  if (std::optional<size_t> index = RuleIndex(kind)) result["ruleIndex"] = *index;
  return result;
}

}  // namespace

nlohmann::json RenderSarif(const CampaignSummary& summary, const std::string& version) {
  nlohmann::json results = nlohmann::json::array();
  for (const TargetSummary& t : summary.targets) {
    std::map<std::pair<std::string, std::string>, Seen> distinct;  // (kind, started_at)
    for (const StoredExecution& e : t.results) {
      std::set<std::pair<std::string, std::string>> in_this;
      for (const Escape& escape : e.result.escapes) {
        Seen& seen = distinct[{escape.kind, escape.started_at}];
        seen.names.insert(escape.name);
        if (!escape.started_in.empty()) seen.started_in.insert(escape.started_in);
        // What it runs, without the frames below its own function.
        if (!escape.running.empty())
          seen.running.insert(escape.running.substr(0, escape.running.find(" < ")));
        in_this.insert({escape.kind, escape.started_at});
      }
      for (const auto& key : in_this) ++distinct[key].executions;
    }
    for (const auto& [key, seen] : distinct) {
      const auto& [kind, started_at] = key;
      std::optional<Location> location = ParseStartedAt(started_at);
      // Without a place of its own, an escape is shown at the target's definition.
      if (!location && !t.info.file.empty()) {
        location = Location{.file = t.info.file, .line = std::max<int64_t>(t.info.line, 1)};
      }
      if (!location) continue;
      results.push_back(ResultJson(t, kind, started_at, seen, *location));
    }
  }
  return {
      {"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
      {"version", "2.1.0"},
      {"runs",
       {{{"tool",
          {{"driver", {{"name", "graphene"}, {"version", version}, {"rules", RulesJson()}}}}},
         {"properties", {{"campaign", std::to_string(summary.campaign)}, {"seed", summary.seed}}},
         {"results", results}}}}};
}

}  // namespace graphene
