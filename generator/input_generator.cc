// The fixed list comes first so that even `--generate 10` tries the classic
// troublemakers; the seeded tail then explores around them. Non-ASCII entries
// are spelled as UTF-8 byte escapes, not "\u" escapes, whose bytes depend on
// the compiler's execution character set.
#include "generator/input_generator.h"

#include <algorithm>
#include <string>
#include <unordered_set>
#include <utility>

#include "generator/mutator.h"
#include "generator/rng.h"

namespace graphene {
namespace {

using std::string_view_literals::operator""sv;

std::string Repeat(std::string_view unit, size_t times) {
  std::string out;
  for (size_t i = 0; i < times; ++i) out += unit;
  return out;
}

// Of every 100 new candidates, about this many are fresh random strings; the
// rest are mutations.
constexpr uint64_t kRandomPercent = 25;

// Returns one candidate input; `earlier` (non-empty) is everything chosen so
// far. Mutating earlier outputs as well as the fixed list stacks edits, which
// reaches strings further from the list than one edit could.
std::string NextCandidate(std::span<const std::string> earlier, Rng& rng) {
  const std::span<const std::string_view> list = InterestingInputs();
  if (rng.Below(100) < kRandomPercent) return RandomString(kMaxGeneratedInputBytes, rng);
  const std::string_view source =
      rng.Below(2) == 0 ? list[rng.Below(list.size())] : earlier[rng.Below(earlier.size())];
  return Mutate(source, list, kMaxGeneratedInputBytes, rng);
}

}  // namespace

std::span<const std::string_view> InterestingInputs() {
  // Storage for the long entries, which are too long to spell out. Both are
  // leaked on purpose: the views must outlive static destruction.
  static const auto* const kLong = new std::vector<std::string>{
      std::string(1024, 'A'), std::string(10000, 'A'), Repeat("%s", 100), Repeat("(", 1000),
      Repeat("\xF0\x9F\x98\x80", 256)};
  static const auto* const kList = new std::vector<std::string_view>{
      "",
      // Numbers: zero, negative, past int64, float, float overflow, NaN, inf, hex.
      "0", "-1", "99999999999999999999", "3.14", "1e309", "NaN", "inf", "-inf", "0x1F",
      // Booleans and null words of several languages.
      "true", "false", "True", "False", "null", "None", "nil", "undefined",
      // Whitespace and control characters; Python strings may hold NUL.
      " ", "\n", "\t", "\r\n", "\0"sv, "\x1b[31m",
      // Quotes and brackets.
      "'", "\"", "`", "{}", "[]", "()", "<>",
      // Path traversal.
      "../../etc/passwd", "..\\..\\windows\\win.ini",
      // Shell injection.
      "$(id)", "`id`", "; rm -rf /", "| cat /etc/passwd",
      // Template injection (Jinja, shell/JS, ERB).
      "{{7*7}}", "${7*7}", "<%= 7*7 %>",
      // Format strings (C, str.format, str.format attribute access).
      "%s%s%n", "{0}", "{0.__class__}",
      // Unicode: emoji U+1F600, family ZWJ sequence, RTL override U+202E,
      // e + combining acute U+0301, BOM U+FEFF, CJK, zero-width space U+200B.
      "\xF0\x9F\x98\x80",
      "\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7",
      "\xE2\x80\xAE"
      "abc",
      "e\xCC\x81", "\xEF\xBB\xBF", "\xE6\x97\xA5\xE6\x9C\xAC", "\xE2\x80\x8B",
      // Long and repeated strings.
      (*kLong)[0], (*kLong)[1], (*kLong)[2], (*kLong)[3], (*kLong)[4]};
  return *kList;
}

std::vector<std::string> GenerateInputs(size_t count, uint64_t seed) {
  const std::span<const std::string_view> list = InterestingInputs();
  std::vector<std::string> inputs(list.begin(), list.begin() + std::min(count, list.size()));
  std::unordered_set<std::string> seen(inputs.begin(), inputs.end());
  Rng rng(seed);
  // Terminates: random strings alone have far more distinct values than any
  // `count` a campaign can run.
  while (inputs.size() < count) {
    std::string candidate = NextCandidate(inputs, rng);
    if (seen.insert(candidate).second) inputs.push_back(std::move(candidate));
  }
  return inputs;
}

}  // namespace graphene
