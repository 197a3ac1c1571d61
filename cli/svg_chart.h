// The HTML report's charts, drawn here as inline SVG so that the page needs
// no script and nothing from outside to show them. Geometry is in SVG user
// units; colours come from the page's stylesheet through the class names.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "history/statistics.h"

namespace graphene {

// The width and height of a rate bar: rates map to x in [0, kBarWidth].
inline constexpr double kBarWidth = 200.0;
inline constexpr double kBarHeight = 16.0;

// A horizontal bar for an escape rate in [0, 1]: a track (class "bar-track"),
// a filled part from 0 to `rate` (class "bar-rate") and a whisker from
// `interval.low` to `interval.high` with end caps (class "bar-whisker"), with
// a <title> saying the same in words.
std::string RateBarSvg(double rate, const history::Interval& interval);

// The size of a history chart.
inline constexpr double kChartWidth = 560.0;
inline constexpr double kChartHeight = 180.0;
// Campaigns a chart marks one by one: about 3 pixels apart at its width.
inline constexpr size_t kMaxPointMarkers = 150;

// A chart of one target's escape rate per campaign: `points` (oldest first)
// spaced evenly left to right, each with its 95% Wilson interval as a band
// (class "band") and a whisker, joined by a line (class "rate-line"); the
// points that `changes` (from history::DetectChanges over the same `points`)
// call significant are drawn larger with class "change up" or "change down".
// Points without executions are left out. Campaign ids label the x axis.
// Each point has a <title> with its campaign, time, counts and interval;
// with more than kMaxPointMarkers points, only the changes are marked.
std::string RateHistorySvg(const std::vector<history::RatePoint>& points,
                           const std::vector<history::Change>& changes);

}  // namespace graphene
