// The report's SVG: where bars, whiskers and points land for given rates.
#include "cli/svg_chart.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace graphene {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Attr(const char* name, double value) {
  return fmt::format("{}=\"{:.1f}\"", name, value);
}

TEST(RateBarSvgTest, BarAndWhiskerSpanTheRateAndTheInterval) {
  const std::string svg = RateBarSvg(0.25, {.low = 0.1, .high = 0.5});
  EXPECT_THAT(svg, HasSubstr("class=\"bar-rate\" x=\"0\" y=\"3\" " + Attr("width", 50.0)));
  EXPECT_THAT(svg, HasSubstr("class=\"bar-whisker\" " + Attr("x1", 20.0) + " y1=\"8\" " +
                             Attr("x2", 100.0)));
  EXPECT_THAT(svg, HasSubstr("escape rate 25.0%, 95% interval 10.0% to 50.0%"));
}

TEST(RateBarSvgTest, ExtremesStayInsideTheBar) {
  EXPECT_THAT(RateBarSvg(1.0, {.low = 0.94, .high = 1.0}),
              HasSubstr("class=\"bar-rate\" x=\"0\" y=\"3\" " + Attr("width", kBarWidth)));
  EXPECT_THAT(RateBarSvg(0.0, {.low = 0.0, .high = 0.06}),
              HasSubstr("class=\"bar-rate\" x=\"0\" y=\"3\" " + Attr("width", 0.0)));
  EXPECT_THAT(RateBarSvg(2.0, {.low = -1.0, .high = 3.0}),
              HasSubstr(Attr("x1", 0.0) + " y1=\"8\" " + Attr("x2", kBarWidth)));
}

std::vector<history::RatePoint> Points() {
  return {{.campaign = 1, .created_at = "2026-01-01", .executions = 20, .escapes = 0},
          {.campaign = 2, .created_at = "2026-01-02", .executions = 0, .escapes = 0},
          {.campaign = 3, .created_at = "2026-01-03", .executions = 20, .escapes = 20}};
}

TEST(RateHistorySvgTest, PlotsPointsWithExecutionsAndMarksSignificantChanges) {
  const std::vector<history::RatePoint> points = Points();
  const std::string svg = RateHistorySvg(points, history::DetectChanges(points));
  EXPECT_THAT(svg, HasSubstr("data-points=\"2\" data-changes=\"1\""));
  EXPECT_THAT(svg, Not(HasSubstr("data-campaign=\"2\"")));
  // Campaign 1 at the left bottom, campaign 3 at the right top, marked.
  EXPECT_THAT(svg, HasSubstr("<circle class=\"point\" cx=\"44.0\" cy=\"144.0\" r=\"3\" "
                             "data-campaign=\"1\">"));
  EXPECT_THAT(svg, HasSubstr("<circle class=\"point change up\" cx=\"548.0\" cy=\"12.0\" r=\"6\" "
                             "data-campaign=\"3\">"));
  EXPECT_THAT(svg, HasSubstr("significant change up from 0.0%"));
  EXPECT_THAT(svg, HasSubstr("class=\"band\""));
  EXPECT_THAT(svg, HasSubstr("campaign 3 (2026-01-03): 20 of 20 escaped, 100.0%"));
}

TEST(RateHistorySvgTest, LongHistoriesMarkOnlyTheirChanges) {
  // A week of campaigns every ten minutes, whose rate jumps halfway.
  std::vector<history::RatePoint> points;
  for (uint64_t c = 1; c <= 1000; ++c) {
    points.push_back(
        {.campaign = c, .created_at = "t", .executions = 100, .escapes = c <= 500 ? 5u : 60u});
  }
  const std::vector<history::Change> changes = history::DetectChanges(points);
  const std::string svg = RateHistorySvg(points, changes);
  EXPECT_THAT(svg, HasSubstr("data-points=\"1000\" data-changes=\"1\""));
  EXPECT_THAT(svg, HasSubstr("class=\"point change up\""));
  EXPECT_THAT(svg, Not(HasSubstr("class=\"point\" "))) << "no marker for ordinary campaigns";
  EXPECT_LT(svg.size(), 40'000u) << "a line and a band, not a thousand markers";
  // Up to the limit, every campaign has its marker.
  points.resize(kMaxPointMarkers);
  const std::string all = RateHistorySvg(points, history::DetectChanges(points));
  EXPECT_THAT(all, HasSubstr("data-campaign=\"" + std::to_string(kMaxPointMarkers) + "\""));
}

TEST(RateHistorySvgTest, OnePointIsCenteredWithoutBand) {
  const std::string svg = RateHistorySvg({Points()[0]}, {});
  EXPECT_THAT(svg, HasSubstr("cx=\"296.0\""));
  EXPECT_THAT(svg, Not(HasSubstr("class=\"band\"")));
}

TEST(RateHistorySvgTest, NoPointsSaysSo) {
  const std::string svg = RateHistorySvg({}, {});
  EXPECT_THAT(svg, HasSubstr("data-points=\"0\""));
  EXPECT_THAT(svg, HasSubstr("no executions"));
}

TEST(RateHistorySvgTest, TitlesAreEscaped) {
  const std::string svg =
      RateHistorySvg({{.campaign = 1, .created_at = "<b>&", .executions = 1, .escapes = 1}}, {});
  EXPECT_THAT(svg, HasSubstr("(&lt;b&gt;&amp;)"));
  EXPECT_THAT(svg, Not(HasSubstr("<b>")));
}

}  // namespace
}  // namespace graphene
