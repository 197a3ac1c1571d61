#include "cli/junit_report.h"

#include <fmt/format.h>

#include <map>
#include <set>
#include <tuple>

namespace graphene {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

// Decodes one UTF-8 sequence at `text[i]`: its code point and length, or
// length 0 when it is not well-formed (overlong, surrogate, truncated).
std::pair<char32_t, size_t> DecodeUtf8(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  size_t length;
  char32_t code;
  if (lead < 0x80) return {lead, 1};
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2, code = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3, code = lead & 0x0F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4, code = lead & 0x07;
  } else {
    return {0, 0};
  }
  if (i + length > text.size()) return {0, 0};
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return {0, 0};
    code = (code << 6) | (byte(i + k) & 0x3F);
  }
  const bool overlong = (length == 3 && code < 0x800) || (length == 4 && code < 0x10000);
  if (overlong || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return {0, 0};
  return {code, length};
}

bool AllowedInXml(char32_t c) {
  return c == 0x9 || c == 0xA || c == 0xD || (c >= 0x20 && c <= 0xD7FF) ||
         (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

// "dir/file.py:fn" -> "dir/file.py", "pkg.mod:fn" -> "pkg.mod".
std::string ClassName(const TargetSummary& t) {
  const size_t colon = t.info.spec.rfind(':');
  return colon == std::string::npos ? t.info.spec : t.info.spec.substr(0, colon);
}

std::string Expected(const TargetSummary& t) {
  return t.info.expected.empty() ? "nothing" : t.info.expected;
}

// The distinct escapes of `t`, one line each, with how many executions had it.
std::string EscapeLines(const TargetSummary& t) {
  std::map<std::tuple<std::string, std::string, std::string, std::string>, uint64_t> seen;
  for (const StoredExecution& e : t.results) {
    std::set<std::tuple<std::string, std::string, std::string, std::string>> in_this;
    for (const Escape& escape : e.result.escapes) {
      in_this.insert({escape.kind, escape.name, escape.started_at, escape.started_in});
    }
    for (const auto& key : in_this) ++seen[key];
  }
  std::string text;
  for (const auto& [key, count] : seen) {
    const auto& [kind, name, started_at, started_in] = key;
    text += fmt::format("{} '{}' started at {}{} ({} of {} executions)\n", kind, name,
                        started_at.empty() ? "an unknown place" : started_at,
                        started_in.empty() ? "" : " in " + started_in, count, t.executions);
  }
  return text;
}

// What could not be run, one line per distinct error message.
std::string ErrorLines(const TargetSummary& t) {
  std::map<std::string, uint64_t> seen;
  for (const StoredExecution& e : t.results) {
    if (!e.result.error.empty()) ++seen[e.result.error];
  }
  std::string text;
  for (const auto& [error, count] : seen) text += fmt::format("{} ({}x)\n", error, count);
  return text;
}

double Seconds(const TargetSummary& t) {
  double ms = 0;
  for (const StoredExecution& e : t.results) ms += e.result.duration_ms;
  return ms / 1000.0;
}

std::string Outcome(const TargetSummary& t) {
  return fmt::format("verdict {}, expected {}: {} of {} executions escaped\n", t.verdict,
                     Expected(t), t.escapes, t.executions);
}

}  // namespace

std::string XmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const auto [code, length] = DecodeUtf8(text, i);
    if (length == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    switch (code) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '\t':
        out += "&#9;";
        break;
      case '\n':
        out += "&#10;";
        break;
      case '\r':
        out += "&#13;";
        break;
      default:
        if (AllowedInXml(code)) {
          out.append(text.substr(i, length));
        } else {
          out += kReplacement;
        }
    }
    i += length;
  }
  return out;
}

std::string RenderJunit(const CampaignSummary& summary) {
  std::string cases;
  size_t failures = 0, errors = 0;
  double total_seconds = 0;
  for (const TargetSummary& t : summary.targets) {
    const double seconds = Seconds(t);
    total_seconds += seconds;
    cases += fmt::format("  <testcase classname=\"{}\" name=\"{}\" time=\"{:.3f}\">\n",
                         XmlEscape(ClassName(t)), XmlEscape(t.info.spec), seconds);
    // One of failure or error per test case: a mismatch is the finding, so it
    // wins; the executions that could not run are then named in its text.
    if (t.match.has_value() && !*t.match) {
      ++failures;
      std::string text = t.escapes > 0 ? EscapeLines(t) : "no execution escaped\n";
      if (t.errors > 0) {
        text += fmt::format("{} executions could not be run:\n{}", t.errors, ErrorLines(t));
      }
      cases += fmt::format("    <failure message=\"{}\" type=\"mismatch\">{}</failure>\n",
                           XmlEscape(fmt::format("verdict {}, but the docstring expects {}",
                                                 t.verdict, Expected(t))),
                           XmlEscape(text));
    } else if (t.errors > 0) {
      ++errors;
      cases += fmt::format(
          "    <error message=\"{}\" type=\"error\">{}</error>\n",
          XmlEscape(fmt::format("{} of {} executions could not be run", t.errors, t.executions)),
          XmlEscape(ErrorLines(t)));
    }
    std::string out = Outcome(t);
    if (!t.info.reason.empty()) out += "reason: " + t.info.reason + "\n";
    if (t.escapes > 0 && (!t.match.has_value() || *t.match)) out += EscapeLines(t);
    cases += fmt::format("    <system-out>{}</system-out>\n", XmlEscape(out));
    cases += "  </testcase>\n";
  }
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<testsuite name=\"graphene campaign {}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" "
      "skipped=\"0\" time=\"{:.3f}\">\n{}</testsuite>\n",
      summary.campaign, summary.targets.size(), failures, errors, total_seconds, cases);
}

}  // namespace graphene
