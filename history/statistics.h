// The statistics behind the history commands (stats, flaky, history): Wilson
// score intervals, per-input flakiness, a target's verdict over its inputs,
// and where a target's escape rate changed between consecutive campaigns.
// Pure functions: no SQLite, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace graphene::history {

// z for a two-sided 95% interval, as in schema/database.sql's views.
inline constexpr double kZ95 = 1.959963984540054;

struct Interval {
  double low = 0.0;
  double high = 1.0;
};

// The Wilson score interval of successes / trials, clamped to [0, 1]:
//   (p + z^2/2n -/+ z * sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n),
// the formula of the input_stats, target_stats and campaign_target_stats
// views. trials == 0 gives {0, 1} (nothing is known).
Interval WilsonInterval(uint64_t successes, uint64_t trials, double z = kZ95);

// What one (target, input) did: executions and those that escaped.
struct InputTally {
  uint64_t executions = 0;
  uint64_t escapes = 0;
};

// Whether the input's repeats disagree: 0 < escapes < executions.
bool IsFlaky(const InputTally& tally);

// A target's verdict over its inputs, one of the kVerdict* names
// (schema/names.h): SAFE when nothing escaped (also with no inputs or no
// executions), ESCAPE when every execution escaped, FLAKY when some input's
// repeats disagree, INPUT-DEPENDENT when every input is consistent but some
// always escape and others never do. Inputs without executions are ignored.
std::string ClassifyTarget(const std::vector<InputTally>& inputs);

// A target's escape count in one campaign.
struct RatePoint {
  uint64_t campaign = 0;
  std::string created_at;
  uint64_t executions = 0;
  uint64_t escapes = 0;
};

// The comparison of a point with the previous point that has executions.
struct Change {
  size_t index = 0;                  // of the later point in the input
  double before = 0.0, after = 0.0;  // escape rates
  double p_value = 1.0;              // two-sided
  bool significant = false;          // p_value < alpha
  size_t previous = 0;               // index of the earlier point
  bool exact = false;                // Fisher's exact test (else the z-test)
};

// Two-sided p-value of Fisher's exact test on the 2x2 table [[a, b], [c, d]]:
// the probability, with the margins fixed, of every table at most as likely
// as the observed one (with R's relative tolerance of 1e-7 for ties).
double FisherExactTwoSided(uint64_t a, uint64_t b, uint64_t c, uint64_t d);

// Two-sided p-value of the pooled two-proportion z-test of x1/n1 against
// x2/n2. 1 when either n is 0 or the pooled proportion is 0 or 1.
double TwoProportionZTest(uint64_t x1, uint64_t n1, uint64_t x2, uint64_t n2);

// Compares each point (in the given order, normally by campaign) with the
// previous point that has executions, and returns one Change per comparison.
// Points without executions are skipped: they get no Change and the next point
// is compared with the last one that had executions.
//
// The test: with small counts (any expected cell of the 2x2 table
// escaped/clean x before/after below 5, or fewer than 40 executions in the two
// points together: Cochran's rule) the normal approximation is poor, so
// Fisher's exact test (two-sided) is used; otherwise the pooled two-proportion
// z-test, which is accurate there and costs O(1) on large campaigns where
// Fisher would sum over thousands of tables. A change is significant when
// p < alpha. No correction is made for testing many consecutive pairs.
std::vector<Change> DetectChanges(const std::vector<RatePoint>& points, double alpha = 0.05);

}  // namespace graphene::history
