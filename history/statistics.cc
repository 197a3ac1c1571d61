#include "history/statistics.h"

#include <algorithm>
#include <cmath>

#include "schema/names.h"

namespace graphene::history {

Interval WilsonInterval(uint64_t successes, uint64_t trials, double z) {
  if (trials == 0) return {0.0, 1.0};
  // Same operations, in the same order, as the SQL views.
  const double n = double(trials);
  const double p = double(std::min(successes, trials)) / n;
  const double z2 = z * z;
  const double centre = p + z2 / 2 / n;
  const double spread = z * std::sqrt(p * (1 - p) / n + z2 / 4 / (n * n));
  const double scale = 1 + z2 / n;
  // The bounds are exactly 0 at p = 0 and exactly 1 at p = 1; rounding would
  // leave them 1e-17 off (within the views' precision, but outside [p, p]).
  const double low = successes == 0 ? 0.0 : std::max(0.0, (centre - spread) / scale);
  const double high = successes >= trials ? 1.0 : std::min(1.0, (centre + spread) / scale);
  return {low, high};
}

bool IsFlaky(const InputTally& tally) {
  return tally.escapes > 0 && tally.escapes < tally.executions;
}

std::string ClassifyTarget(const std::vector<InputTally>& inputs) {
  bool any_escape = false, any_clean = false, flaky = false;
  for (const InputTally& tally : inputs) {
    if (tally.executions == 0) continue;
    any_escape |= tally.escapes > 0;
    any_clean |= tally.escapes < tally.executions;
    flaky |= IsFlaky(tally);
  }
  if (!any_escape) return std::string(kVerdictSafe);
  if (!any_clean) return std::string(kVerdictEscape);
  return std::string(flaky ? kVerdictFlaky : kVerdictInputDependent);
}

namespace {

double LogChoose(uint64_t n, uint64_t k) {
  return std::lgamma(double(n) + 1) - std::lgamma(double(k) + 1) - std::lgamma(double(n - k) + 1);
}

// log P(top-left cell = a) for a 2x2 table with row sums r1, r2 and first
// column sum c1 (hypergeometric).
double LogHypergeometric(uint64_t a, uint64_t r1, uint64_t r2, uint64_t c1) {
  return LogChoose(r1, a) + LogChoose(r2, c1 - a) - LogChoose(r1 + r2, c1);
}

}  // namespace

double FisherExactTwoSided(uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
  const uint64_t r1 = a + b, r2 = c + d, c1 = a + c;
  if (r1 == 0 || r2 == 0 || c1 == 0 || c1 == r1 + r2) return 1.0;
  const uint64_t lo = c1 > r2 ? c1 - r2 : 0, hi = std::min(r1, c1);
  const double observed = LogHypergeometric(a, r1, r2, c1);
  const double threshold = observed + std::log1p(1e-7);
  double p = 0.0;
  for (uint64_t x = lo; x <= hi; ++x) {
    const double log_prob = LogHypergeometric(x, r1, r2, c1);
    if (log_prob <= threshold) p += std::exp(log_prob);
  }
  return std::min(1.0, p);
}

double TwoProportionZTest(uint64_t x1, uint64_t n1, uint64_t x2, uint64_t n2) {
  if (n1 == 0 || n2 == 0) return 1.0;
  const double p1 = double(x1) / double(n1), p2 = double(x2) / double(n2);
  const double pooled = double(x1 + x2) / double(n1 + n2);
  const double variance = pooled * (1 - pooled) * (1 / double(n1) + 1 / double(n2));
  if (variance <= 0) return 1.0;
  const double z = (p2 - p1) / std::sqrt(variance);
  return std::erfc(std::fabs(z) / std::sqrt(2.0));
}

std::vector<Change> DetectChanges(const std::vector<RatePoint>& points, double alpha) {
  std::vector<Change> changes;
  bool have_previous = false;
  size_t previous = 0;
  for (size_t i = 0; i < points.size(); ++i) {
    const RatePoint& point = points[i];
    if (point.executions == 0) continue;
    if (have_previous) {
      const RatePoint& before = points[previous];
      const uint64_t x1 = std::min(before.escapes, before.executions), n1 = before.executions;
      const uint64_t x2 = std::min(point.escapes, point.executions), n2 = point.executions;
      const double total = double(n1 + n2), escaped = double(x1 + x2);
      const double smallest_row = double(std::min(n1, n2));
      const double smallest_column = std::min(escaped, total - escaped);
      // The smallest expected cell is (smallest row sum) x (smallest column
      // sum) / total. Cochran's rule: exact below 40 executions in all too.
      Change change;
      change.index = i;
      change.previous = previous;
      change.before = double(x1) / double(n1);
      change.after = double(x2) / double(n2);
      change.exact = total < 40 || smallest_row * smallest_column / total < 5.0;
      change.p_value = change.exact ? FisherExactTwoSided(x1, n1 - x1, x2, n2 - x2)
                                    : TwoProportionZTest(x1, n1, x2, n2);
      change.significant = change.p_value < alpha;
      changes.push_back(change);
    }
    have_previous = true;
    previous = i;
  }
  return changes;
}

}  // namespace graphene::history
