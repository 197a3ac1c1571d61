#include "cli/svg_chart.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "cli/escaping.h"
#include "cli/history_aggregates.h"

namespace graphene {
namespace {

std::string Percent(double rate) { return fmt::format("{:.1f}%", rate * 100.0); }

std::string IntervalText(const history::Interval& interval) {
  return fmt::format("95% interval {} to {}", Percent(interval.low), Percent(interval.high));
}

// The plot area of a history chart, inside its margins.
constexpr double kLeft = 44.0, kRight = 12.0, kTop = 12.0, kBottom = 36.0;
constexpr double kPlotWidth = kChartWidth - kLeft - kRight;
constexpr double kPlotHeight = kChartHeight - kTop - kBottom;
constexpr size_t kMaxXLabels = 10;

double X(size_t i, size_t n) {
  return n == 1 ? kLeft + kPlotWidth / 2 : kLeft + kPlotWidth * double(i) / double(n - 1);
}

double Y(double rate) { return kTop + (1.0 - rate) * kPlotHeight; }

std::string Axes() {
  std::string svg;
  for (double rate : {0.0, 0.25, 0.5, 0.75, 1.0}) {
    svg += fmt::format(
        "<line class=\"grid\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>"
        "<text class=\"axis-label\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{:.0f}%</text>",
        kLeft, Y(rate), kLeft + kPlotWidth, Y(rate), kLeft - 6, Y(rate) + 4, rate * 100);
  }
  svg += fmt::format(
      "<text class=\"axis-label\" x=\"{:.1f}\" y=\"{:.1f}\" "
      "text-anchor=\"middle\">campaign</text>",
      kLeft + kPlotWidth / 2, kChartHeight - 4);
  return svg;
}

// The band between the intervals' bounds: along the highs, back along the lows.
std::string Band(const std::vector<history::RatePoint>& points) {
  if (points.size() < 2) return "";
  std::string path;
  for (size_t i = 0; i < points.size(); ++i) {
    const history::Interval in = history::WilsonInterval(points[i].escapes, points[i].executions);
    path += fmt::format("{}{:.1f},{:.1f} ", i ? "L" : "M", X(i, points.size()), Y(in.high));
  }
  for (size_t i = points.size(); i-- > 0;) {
    const history::Interval in = history::WilsonInterval(points[i].escapes, points[i].executions);
    path += fmt::format("L{:.1f},{:.1f} ", X(i, points.size()), Y(in.low));
  }
  return "<path class=\"band\" d=\"" + path + "Z\"/>";
}

std::string Line(const std::vector<history::RatePoint>& points) {
  std::string coordinates;
  for (size_t i = 0; i < points.size(); ++i) {
    coordinates += fmt::format("{}{:.1f},{:.1f}", i ? " " : "", X(i, points.size()),
                               Y(Rate(points[i].escapes, points[i].executions)));
  }
  return "<polyline class=\"rate-line\" points=\"" + coordinates + "\"/>";
}

std::string Point(const history::RatePoint& point, double x, const history::Change* change) {
  const double rate = Rate(point.escapes, point.executions);
  const history::Interval in = history::WilsonInterval(point.escapes, point.executions);
  std::string title = fmt::format("campaign {} ({}): {} of {} escaped, {}, {}", point.campaign,
                                  ShowBytes(point.created_at), point.escapes, point.executions,
                                  Percent(rate), IntervalText(in));
  std::string css = "point";
  if (change != nullptr) {
    const bool up = change->after > change->before;
    css += up ? " change up" : " change down";
    title += fmt::format("; significant change {} from {} (p = {:.2g})", up ? "up" : "down",
                         Percent(change->before), change->p_value);
  }
  return fmt::format(
      "<line class=\"whisker\" x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\"/>"
      "<circle class=\"{3}\" cx=\"{0:.1f}\" cy=\"{4:.1f}\" r=\"{5}\" data-campaign=\"{6}\">"
      "<title>{7}</title></circle>",
      x, Y(in.high), Y(in.low), css, Y(rate), change ? 6 : 3, point.campaign, HtmlEscape(title));
}

std::string XLabels(const std::vector<history::RatePoint>& points) {
  const size_t step = (points.size() + kMaxXLabels - 1) / kMaxXLabels;
  std::string svg;
  for (size_t i = 0; i < points.size(); i += step) {
    svg += fmt::format(
        "<text class=\"axis-label\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>",
        X(i, points.size()), kTop + kPlotHeight + 16, points[i].campaign);
  }
  return svg;
}

}  // namespace

std::string RateBarSvg(double rate, const history::Interval& interval) {
  const double low = std::clamp(interval.low, 0.0, 1.0) * kBarWidth;
  const double high = std::clamp(interval.high, 0.0, 1.0) * kBarWidth;
  const double middle = kBarHeight / 2;
  return fmt::format(
      "<svg class=\"rate-bar\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" role=\"img\">"
      "<title>escape rate {2}, {3}</title>"
      "<rect class=\"bar-track\" x=\"0\" y=\"3\" width=\"{0}\" height=\"10\"/>"
      "<rect class=\"bar-rate\" x=\"0\" y=\"3\" width=\"{4:.1f}\" height=\"10\"/>"
      "<line class=\"bar-whisker\" x1=\"{5:.1f}\" y1=\"{7}\" x2=\"{6:.1f}\" y2=\"{7}\"/>"
      "<line class=\"bar-whisker\" x1=\"{5:.1f}\" y1=\"2\" x2=\"{5:.1f}\" y2=\"14\"/>"
      "<line class=\"bar-whisker\" x1=\"{6:.1f}\" y1=\"2\" x2=\"{6:.1f}\" y2=\"14\"/>"
      "</svg>",
      kBarWidth, kBarHeight, Percent(rate), IntervalText(interval),
      std::clamp(rate, 0.0, 1.0) * kBarWidth, low, high, middle);
}

std::string RateHistorySvg(const std::vector<history::RatePoint>& points,
                           const std::vector<history::Change>& changes) {
  // Changes name points by their index in `points`; those without executions
  // are dropped from the plot.
  std::map<size_t, const history::Change*> significant;
  for (const history::Change& change : changes) {
    if (change.significant) significant[change.index] = &change;
  }
  std::vector<history::RatePoint> plotted;
  std::vector<const history::Change*> marks;
  for (size_t i = 0; i < points.size(); ++i) {
    if (points[i].executions == 0) continue;
    plotted.push_back(points[i]);
    auto it = significant.find(i);
    marks.push_back(it == significant.end() ? nullptr : it->second);
  }
  std::string svg = fmt::format(
      "<svg class=\"history-chart\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "role=\"img\" data-points=\"{2}\" data-changes=\"{3}\">",
      kChartWidth, kChartHeight, plotted.size(), significant.size());
  svg += Axes();
  if (plotted.empty()) {
    svg += fmt::format(
        "<text class=\"axis-label\" x=\"{:.1f}\" y=\"{:.1f}\" "
        "text-anchor=\"middle\">no executions</text>",
        kLeft + kPlotWidth / 2, kTop + kPlotHeight / 2);
    return svg + "</svg>";
  }
  svg += Band(plotted) + Line(plotted);
  // Beyond a few pixels per campaign, markers would only overlap (and weigh
  // hundreds of bytes each): a long history keeps the band, the line and the
  // marked changes.
  const bool dense = plotted.size() > kMaxPointMarkers;
  for (size_t i = 0; i < plotted.size(); ++i) {
    if (dense && marks[i] == nullptr) continue;
    svg += Point(plotted[i], X(i, plotted.size()), marks[i]);
  }
  return svg + XLabels(plotted) + "</svg>";
}

}  // namespace graphene
