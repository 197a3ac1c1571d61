#include "cli/summary.h"

#include <gtest/gtest.h>

#include "schema/names.h"

namespace graphene {
namespace {

TEST(ClassifyVerdict, NamesEachPattern) {
  EXPECT_EQ(ClassifyVerdict({{"a", {3, 0}}, {"b", {3, 0}}}), kVerdictSafe);
  EXPECT_EQ(ClassifyVerdict({{"a", {3, 3}}, {"b", {3, 3}}}), kVerdictEscape);
  EXPECT_EQ(ClassifyVerdict({{"a", {3, 3}}, {"b", {3, 0}}}), kVerdictInputDependent);
  EXPECT_EQ(ClassifyVerdict({{"a", {3, 1}}, {"b", {3, 0}}}), kVerdictFlaky);
  EXPECT_EQ(ClassifyVerdict({{"a", {3, 2}}}), kVerdictFlaky);
  EXPECT_EQ(ClassifyVerdict({}), kVerdictSafe);
}

TEST(MatchesExpectation, FollowsTheDocstring) {
  EXPECT_EQ(MatchesExpectation("ESCAPE", 1), true);
  EXPECT_EQ(MatchesExpectation("ESCAPE", 0), false);
  EXPECT_EQ(MatchesExpectation("SAFE", 0), true);
  EXPECT_EQ(MatchesExpectation("SAFE", 2), false);
  EXPECT_EQ(MatchesExpectation("", 2), std::nullopt);
}

}  // namespace
}  // namespace graphene
