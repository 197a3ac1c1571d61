#include "cli/junit_report.h"

#include <gtest/gtest.h>

#include "schema/names.h"

namespace graphene {
namespace {

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

StoredExecution Execution(double duration_ms, const std::string& started_at = "") {
  StoredExecution e;
  e.result.status = kStatusOk;
  e.result.duration_ms = duration_ms;
  if (!started_at.empty()) {
    e.result.escape_detected = true;
    Escape escape;
    escape.kind = kKindThread;
    escape.name = "worker <1> & \"co\"";
    escape.started_at = started_at;
    escape.started_in = "spawn";
    e.result.escapes.push_back(escape);
  }
  return e;
}

TargetSummary Target(const std::string& spec, const std::string& expected,
                     const std::string& verdict, std::optional<bool> match) {
  TargetSummary t;
  t.info.spec = spec;
  t.info.expected = expected;
  t.verdict = verdict;
  t.match = match;
  return t;
}

// Three targets: one escaping against its docstring, one safe as expected,
// one without an expectation whose executions partly could not run.
CampaignSummary Campaign() {
  CampaignSummary summary;
  summary.campaign = 12;
  TargetSummary bad = Target("dir/mod.py:spawn", "SAFE", std::string(kVerdictEscape), false);
  bad.results = {Execution(1500, "dir/mod.py:7"), Execution(500, "dir/mod.py:7")};
  bad.executions = 2;
  bad.escapes = 2;
  TargetSummary good = Target("pkg.mod:clean", "SAFE", std::string(kVerdictSafe), true);
  good.results = {Execution(10)};
  good.executions = 1;
  TargetSummary broken = Target("pkg.mod:broken", "", std::string(kVerdictSafe), std::nullopt);
  StoredExecution failed = Execution(0);
  failed.result.status = kStatusError;
  failed.result.error = "cannot load\x01 it";
  broken.results = {failed};
  broken.executions = 1;
  broken.errors = 1;
  summary.targets = {bad, good, broken};
  return summary;
}

TEST(RenderJunit, OneTestCasePerTargetWithFailuresAndErrors) {
  const std::string xml = RenderJunit(Campaign());
  EXPECT_EQ(xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", 0), 0u);
  EXPECT_NE(xml.find("<testsuite name=\"graphene campaign 12\" tests=\"3\" failures=\"1\" "
                     "errors=\"1\""),
            std::string::npos)
      << xml;
  EXPECT_EQ(Count(xml, "<testcase "), 3u);
  EXPECT_EQ(Count(xml, "</testcase>"), 3u);
  EXPECT_EQ(Count(xml, "<failure "), 1u);
  EXPECT_EQ(Count(xml, "<error "), 1u);
  EXPECT_EQ(Count(xml, "</testsuite>"), 1u);
  EXPECT_NE(
      xml.find("<testcase classname=\"dir/mod.py\" name=\"dir/mod.py:spawn\" time=\"2.000\">"),
      std::string::npos)
      << xml;
  EXPECT_NE(xml.find("classname=\"pkg.mod\" name=\"pkg.mod:clean\" time=\"0.010\""),
            std::string::npos);
  EXPECT_NE(xml.find("message=\"verdict ESCAPE, but the docstring expects SAFE\""),
            std::string::npos)
      << xml;
  // The escape details, escaped, with how many executions had it.
  EXPECT_NE(xml.find("thread &apos;worker &lt;1&gt; &amp; &quot;co&quot;&apos; started at "
                     "dir/mod.py:7 in spawn (2 of 2 executions)"),
            std::string::npos)
      << xml;
  // The target without an expectation passes, its verdict in <system-out>.
  EXPECT_NE(xml.find("<system-out>verdict SAFE, expected nothing"), std::string::npos) << xml;
  // The control character in the error is not XML 1.0; it is replaced.
  EXPECT_EQ(xml.find('\x01'), std::string::npos);
  EXPECT_NE(xml.find("cannot load\xEF\xBF\xBD it (1x)"), std::string::npos) << xml;
}

TEST(RenderJunit, ExpectedEscapeThatNeverHappenedIsAFailure) {
  CampaignSummary summary;
  TargetSummary t = Target("m.py:f", "ESCAPE", std::string(kVerdictSafe), false);
  t.results = {Execution(1)};
  t.executions = 1;
  summary.targets = {t};
  const std::string xml = RenderJunit(summary);
  EXPECT_EQ(Count(xml, "<failure "), 1u);
  EXPECT_NE(xml.find("verdict SAFE, but the docstring expects ESCAPE"), std::string::npos);
  EXPECT_NE(xml.find(">no execution escaped&#10;</failure>"), std::string::npos) << xml;
}

TEST(XmlEscape, EntitiesControlCharactersAndBadUtf8) {
  EXPECT_EQ(XmlEscape("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&apos;f");
  EXPECT_EQ(XmlEscape("t\tn\nr\r"), "t&#9;n&#10;r&#13;");
  EXPECT_EQ(XmlEscape(std::string("x\0y", 3)), "x\xEF\xBF\xBDy");
  EXPECT_EQ(XmlEscape("\x1b[31m"), "\xEF\xBF\xBD[31m");
  EXPECT_EQ(XmlEscape("caf\xC3\xA9 \xE2\x9C\x93"), "caf\xC3\xA9 \xE2\x9C\x93");  // kept
  EXPECT_EQ(XmlEscape("\xFF"), "\xEF\xBF\xBD");                                  // not UTF-8
  EXPECT_EQ(XmlEscape("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong
  EXPECT_EQ(XmlEscape("\xEF\xBF\xBE"), "\xEF\xBF\xBD");                          // U+FFFE
  EXPECT_EQ(XmlEscape("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
}

}  // namespace
}  // namespace graphene
