#include "cli/report.h"

#include <fmt/format.h>

#include <map>
#include <tuple>

#include "schema/names.h"

namespace graphene {
namespace {

// Distinct escapes shown under a target in text output.
constexpr size_t kShownEscapes = 5;

std::string MatchWord(const std::optional<bool>& match) {
  if (!match) return "-";
  return *match ? "ok" : "MISMATCH";
}

// Escapes of one target grouped by what leaked and where it started.
std::string DescribeEscapes(const TargetSummary& target) {
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> seen;
  for (const StoredExecution& e : target.results) {
    for (const Escape& escape : e.result.escapes) {
      ++seen[{escape.kind, escape.name, escape.started_at}];
    }
  }
  std::string text;
  size_t shown = 0;
  for (const auto& [key, count] : seen) {
    if (shown++ == kShownEscapes) {
      text += fmt::format("      ... and {} more kinds of escape\n", seen.size() - kShownEscapes);
      break;
    }
    const auto& [kind, name, started_at] = key;
    text += fmt::format("      {} '{}' started at {} ({}x)\n", kind, name,
                        started_at.empty() ? "an unknown place" : started_at, count);
  }
  return text;
}

nlohmann::json EscapeJson(const Escape& e) {
  nlohmann::json j = {{"kind", e.kind},
                      {"name", e.name},
                      {"daemon", e.daemon},
                      {"pid", e.pid ? nlohmann::json(*e.pid) : nlohmann::json()},
                      {"started_at", e.started_at}};
  if (e.native_id) j["native_id"] = *e.native_id;
  if (!e.started_in.empty()) j["started_in"] = e.started_in;
  if (!e.running.empty()) j["running"] = e.running;
  return j;
}

nlohmann::json ResultJson(const StoredExecution& e) {
  nlohmann::json escapes = nlohmann::json::array(), transient = nlohmann::json::array();
  for (const Escape& escape : e.result.escapes) escapes.push_back(EscapeJson(escape));
  for (const Escape& gone : e.result.transient) transient.push_back(EscapeJson(gone));
  nlohmann::json j = {{"input", e.input},
                      {"repeat", e.repeat},
                      {"status", e.result.status},
                      {"escape_detected", e.result.escape_detected},
                      {"escapes", escapes},
                      {"transient", transient},
                      {"duration_ms", e.result.duration_ms}};
  if (!e.result.error.empty()) j["error"] = e.result.error;
  return j;
}

nlohmann::json TargetJson(const TargetSummary& t) {
  nlohmann::json results = nlohmann::json::array();
  for (const StoredExecution& e : t.results) results.push_back(ResultJson(e));
  return {{"target", t.info.spec},
          {"expected", t.info.expected.empty() ? nlohmann::json() : nlohmann::json(t.info.expected)},
          {"reason", t.info.reason},
          {"verdict", t.verdict},
          {"match", t.match ? nlohmann::json(*t.match) : nlohmann::json()},
          {"executions", t.executions},
          {"escapes", t.escapes},
          {"escape_rate", t.escape_rate()},
          {"flaky", t.flaky},
          {"errors", t.errors},
          {"results", results}};
}

}  // namespace

std::string RenderText(const CampaignSummary& summary) {
  std::string text = fmt::format("{:<16} {:<8} {:<8} {:>13} {:>7}  {}\n", "VERDICT", "EXPECTED",
                                 "MATCH", "ESCAPES/RUNS", "RATE", "TARGET");
  for (const TargetSummary& t : summary.targets) {
    text += fmt::format("{:<16} {:<8} {:<8} {:>13} {:>6.1f}%  {}\n", t.verdict,
                        t.info.expected.empty() ? "-" : t.info.expected, MatchWord(t.match),
                        fmt::format("{}/{}", t.escapes, t.executions), 100.0 * t.escape_rate(),
                        t.info.spec);
    if (t.errors > 0) text += fmt::format("      {} executions could not be run\n", t.errors);
    if (t.escapes > 0) text += DescribeEscapes(t);
  }
  text += fmt::format(
      "campaign {}: {} targets, {} executions, {} escaped, {} mismatches{}\n", summary.campaign,
      summary.targets.size(), summary.executions, summary.escapes, summary.mismatches,
      summary.errors ? fmt::format(", {} executions failed to run", summary.errors) : "");
  return text;
}

nlohmann::json RenderJson(const CampaignSummary& summary) {
  nlohmann::json targets = nlohmann::json::array();
  for (const TargetSummary& t : summary.targets) targets.push_back(TargetJson(t));
  return {{"campaign", std::to_string(summary.campaign)},
          {"seed", summary.seed},
          {"targets", targets},
          {"totals",
           {{"targets", summary.targets.size()},
            {"executions", summary.executions},
            {"escapes", summary.escapes},
            {"mismatches", summary.mismatches},
            {"errors", summary.errors}}}};
}

}  // namespace graphene
