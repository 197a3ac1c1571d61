#include "generator/mutator.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "generator/rng.h"
#include "generator/utf8_test_util.h"

namespace graphene {
namespace {

using std::string_view_literals::operator""sv;

// The validator guards every other test here, so it must be able to say no.
TEST(Utf8Validator, AcceptsWellFormedAndRejectsMalformed) {
  for (std::string_view good :
       {""sv, "abc"sv, "\0"sv, "\xC3\xA9"sv, "\xE2\x82\xAC"sv, "\xED\x9F\xBF"sv, "\xEE\x80\x80"sv,
        "\xF0\x9F\x98\x80"sv, "\xF4\x8F\xBF\xBF"sv}) {
    EXPECT_TRUE(IsValidUtf8(good)) << testing::PrintToString(good);
  }
  for (std::string_view bad :
       {"\x80"sv, "\xC0\x80"sv, "\xC1\xBF"sv, "\xE0\x80\x80"sv, "\xED\xA0\x80"sv,
        "\xF0\x80\x80\x80"sv, "\xF4\x90\x80\x80"sv, "\xF8\x88\x80\x80\x80"sv, "\xFF"sv,
        "\xE2\x82"sv, "a\xC3"sv, "\xC3\x28"sv}) {
    EXPECT_FALSE(IsValidUtf8(bad)) << testing::PrintToString(bad);
  }
}

// Pins the stream to published SplitMix64 outputs: if these change, every
// `--seed` stops reproducing old campaigns.
TEST(Rng, MatchesSplitMix64ReferenceOutputs) {
  Rng rng(0);
  EXPECT_EQ(rng.Next(), 0xE220A8397B1DCDAFu);
  EXPECT_EQ(rng.Next(), 0x6E789E6AA1B965F4u);
  EXPECT_EQ(rng.Next(), 0x06C45D188009454Fu);
}

TEST(Rng, BelowStaysInRangeAndReachesEveryValue) {
  Rng rng(1);
  std::vector<int> hits(7);
  for (int i = 0; i < 7000; ++i) {
    const uint64_t x = rng.Below(7);
    ASSERT_LT(x, 7u);
    ++hits[x];
  }
  for (int h : hits) EXPECT_GT(h, 800);  // About 1000 each.
  EXPECT_EQ(rng.Below(1), 0u);
  EXPECT_LT(rng.Below(UINT64_MAX), UINT64_MAX);
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = rng.InRange(10, 12);
    EXPECT_TRUE(x >= 10 && x <= 12) << x;
  }
}

const std::vector<std::string_view>& Dictionary() {
  static const auto* const kDictionary =
      new std::vector<std::string_view>{"MARK", "", "\xF0\x9F\x98\x80", "\0"sv};
  return *kDictionary;
}

TEST(Mutate, AlwaysDiffersAndStaysValidAndBounded) {
  const std::string long_input(100, 'A');
  const std::vector<std::string_view> sources = {
      ""sv,      "a"sv, "AAAA"sv, "hello world"sv, "\0"sv, "e\xCC\x81"sv, "\xF0\x9F\x98\x80x"sv,
      long_input};
  for (uint64_t seed = 0; seed < 200; ++seed) {
    Rng rng(seed);
    for (std::string_view source : sources) {
      for (size_t max_bytes : {4u, 16u, 100u, 4096u}) {
        if (source.size() > max_bytes) continue;
        const std::string mutated = Mutate(source, Dictionary(), max_bytes, rng);
        EXPECT_NE(mutated, source) << "seed " << seed;
        EXPECT_TRUE(IsValidUtf8(mutated)) << testing::PrintToString(mutated);
        EXPECT_LE(mutated.size(), max_bytes);
      }
    }
  }
}

TEST(Mutate, RepairsInvalidUtf8) {
  Rng rng(3);
  for (std::string_view bad : {"\xFF"sv, "ab\xC3"sv, "\xED\xA0\x80z"sv, "\xC0\x80"sv}) {
    for (int i = 0; i < 50; ++i) {
      const std::string mutated = Mutate(bad, Dictionary(), 64, rng);
      EXPECT_TRUE(IsValidUtf8(mutated)) << testing::PrintToString(mutated);
    }
  }
}

// Cuts between code points: a 4-byte emoji never leaves a partial sequence.
TEST(Mutate, CutsAtCodePointBoundaries) {
  const std::string emojis = "\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80";
  for (uint64_t seed = 0; seed < 500; ++seed) {
    Rng rng(seed);
    const std::string mutated = Mutate(emojis, Dictionary(), 14, rng);
    EXPECT_TRUE(IsValidUtf8(mutated)) << testing::PrintToString(mutated);
    EXPECT_LE(mutated.size(), 14u);
  }
}

// Every kind of edit shows up: shrinking (delete), growing (insert, duplicate,
// repeat), same length (swap, replace), splicing a dictionary entry, repeating.
TEST(Mutate, UsesEveryKindOfEdit) {
  const std::string source = "hello world";
  int shorter = 0, longer = 0, same_length = 0, spliced = 0, repeated = 0;
  Rng rng(5);
  for (int i = 0; i < 2000; ++i) {
    const std::string mutated = Mutate(source, Dictionary(), 4096, rng);
    shorter += mutated.size() < source.size();
    longer += mutated.size() > source.size();
    same_length += mutated.size() == source.size();
    spliced += mutated.find("MARK") != std::string::npos;
    repeated += mutated.starts_with(source + source);
  }
  EXPECT_GT(shorter, 100);
  EXPECT_GT(longer, 100);
  EXPECT_GT(same_length, 100);
  EXPECT_GT(spliced, 20);
  EXPECT_GT(repeated, 20);
}

TEST(Mutate, SameRngStateGivesSameResult) {
  Rng a(11), b(11);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(Mutate("some input", Dictionary(), 1024, a),
              Mutate("some input", Dictionary(), 1024, b));
  }
}

TEST(RandomString, IsValidBoundedAndMostlyShort) {
  Rng rng(9);
  int short_ones = 0, long_ones = 0, non_ascii = 0, control = 0;
  for (int i = 0; i < 2000; ++i) {
    const std::string s = RandomString(64 * 1024, rng);
    ASSERT_TRUE(IsValidUtf8(s)) << testing::PrintToString(s);
    short_ones += s.size() <= 64;
    long_ones += s.size() > 1000;
    for (char c : s) {
      non_ascii += static_cast<unsigned char>(c) >= 0x80;
      control += static_cast<unsigned char>(c) < 0x20;
    }
  }
  EXPECT_GT(short_ones, 1400);
  EXPECT_GT(long_ones, 20);
  EXPECT_GT(non_ascii, 1000);
  EXPECT_GT(control, 1000);
}

TEST(RandomString, RespectsSmallBounds) {
  Rng rng(13);
  for (int i = 0; i < 2000; ++i) {
    const std::string s = RandomString(10, rng);
    EXPECT_LE(s.size(), 10u);
    EXPECT_TRUE(IsValidUtf8(s)) << testing::PrintToString(s);
  }
}

}  // namespace
}  // namespace graphene
