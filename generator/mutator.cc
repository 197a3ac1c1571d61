// Edits happen on a std::u32string of code points; only EncodeUtf8 turns them
// back into bytes, so no edit can split a multi-byte sequence, and the size
// bound is applied in one place.
#include "generator/mutator.h"

#include <algorithm>
#include <array>
#include <string>
#include <utility>

namespace graphene {
namespace {

constexpr char32_t kReplacementChar = 0xFFFD;

// Characters that commonly change how a string is parsed, quoted, rendered or
// executed: a single one of them in the right place is a typical trigger.
constexpr std::array<char32_t, 26> kInterestingChars = {
    U'\0', U'\n', U'\r', U'\t', 0x1B, U'\'', U'"', U'`',   U'\\',  U'/',   U'.',   U'%',    U'{',
    U'}',  U'$',  U';',  U'|',  U'<', U'>',  U'&', 0xFEFF, 0x202E, 0x200B, 0x0301, 0x1F600, 0xFFFD};

// Decodes the code point at the start of non-empty `bytes` and its length. An
// invalid or truncated sequence reads as U+FFFD of length 1.
std::pair<char32_t, size_t> DecodeOne(std::string_view bytes) {
  const auto lead = static_cast<unsigned char>(bytes[0]);
  if (lead < 0x80) return {lead, 1};
  const size_t length = lead >= 0xF8   ? 0
                        : lead >= 0xF0 ? 4
                        : lead >= 0xE0 ? 3
                        : lead >= 0xC0 ? 2
                                       : 0;
  if (length == 0 || length > bytes.size()) return {kReplacementChar, 1};
  char32_t cp = lead & (0x7F >> length);
  for (size_t i = 1; i < length; ++i) {
    const auto next = static_cast<unsigned char>(bytes[i]);
    if ((next & 0xC0) != 0x80) return {kReplacementChar, 1};
    cp = (cp << 6) | (next & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
  constexpr char32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMinForLength[length] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return {kReplacementChar, 1};
  }
  return {cp, length};
}

std::u32string DecodeUtf8(std::string_view bytes) {
  std::u32string cps;
  while (!bytes.empty()) {
    const auto [cp, length] = DecodeOne(bytes);
    cps.push_back(cp);
    bytes.remove_prefix(length);
  }
  return cps;
}

// Encodes `cps`, which must be Unicode scalar values, stopping before the first
// code point that would take the result past `max_bytes`.
std::string EncodeUtf8(std::u32string_view cps, size_t max_bytes) {
  std::string out;
  for (const char32_t cp : cps) {
    const size_t length = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (out.size() + length > max_bytes) break;
    if (length == 1) {
      out.push_back(static_cast<char>(cp));
      continue;
    }
    constexpr unsigned char kLeadMarker[] = {0, 0, 0xC0, 0xE0, 0xF0};
    out.push_back(static_cast<char>(kLeadMarker[length] | (cp >> (6 * (length - 1)))));
    for (size_t i = length - 1; i > 0; --i) {
      out.push_back(static_cast<char>(0x80 | ((cp >> (6 * (i - 1))) & 0x3F)));
    }
  }
  return out;
}

// A non-ASCII code point from a block chosen so that every UTF-8 length and
// the blocks that usually trip text handling (Latin-1 and C1 controls, emoji,
// astral planes) are all reached. Surrogates have no UTF-8 form and are skipped.
char32_t RandomNonAscii(Rng& rng) {
  struct Block {
    char32_t first, last;
  };
  constexpr Block kBlocks[] = {{0x80, 0xFF},     {0x100, 0x7FF},     {0x800, 0xD7FF},
                               {0xE000, 0xFFFF}, {0x1F300, 0x1FAFF}, {0x10000, 0x10FFFF}};
  const Block& block = kBlocks[rng.Below(std::size(kBlocks))];
  return static_cast<char32_t>(rng.InRange(block.first, block.last));
}

char32_t RandomCodePoint(Rng& rng) {
  const uint64_t roll = rng.Below(100);
  if (roll < 70) return static_cast<char32_t>(rng.InRange(0x20, 0x7E));  // Printable ASCII.
  if (roll < 75) return U"\t\n\r \v\f"[rng.Below(6)];
  if (roll < 80) return roll == 79 ? 0x7F : static_cast<char32_t>(rng.Below(0x20));  // C0 controls.
  if (roll < 85) return kInterestingChars[rng.Below(kInterestingChars.size())];
  return RandomNonAscii(rng);
}

// Length of a slice with `available` (> 0) code points left. Usually short, as
// a small edit keeps most of an interesting input intact; sometimes anything.
size_t SliceLength(size_t available, Rng& rng) {
  const size_t limit = rng.Below(4) == 0 ? available : std::min<size_t>(available, 8);
  return 1 + rng.Below(limit);
}

enum class Edit { kInsert, kDelete, kDuplicate, kSwap, kReplace, kSplice, kRepeat, kNumEdits };

// Applies `edit` to `cps` in place. Some edits cannot change some strings (a
// swap of equal code points, deleting from ""): the caller retries.
void ApplyEdit(Edit edit, std::u32string& cps, std::span<const std::string_view> dictionary,
               size_t max_bytes, Rng& rng) {
  const size_t size = cps.size();
  if (size == 0 && edit != Edit::kInsert && edit != Edit::kSplice) return;
  switch (edit) {
    case Edit::kInsert: {
      std::u32string inserted(rng.InRange(1, 4), U'\0');
      for (char32_t& cp : inserted) cp = RandomCodePoint(rng);
      cps.insert(rng.Below(size + 1), inserted);
      break;
    }
    case Edit::kDelete: {
      const size_t start = rng.Below(size);
      cps.erase(start, SliceLength(size - start, rng));
      break;
    }
    case Edit::kDuplicate: {
      const size_t start = rng.Below(size);
      const std::u32string slice = cps.substr(start, SliceLength(size - start, rng));
      cps.insert(rng.Below(size + 1), slice);
      break;
    }
    case Edit::kSwap:
      std::swap(cps[rng.Below(size)], cps[rng.Below(size)]);
      break;
    case Edit::kReplace:
      cps[rng.Below(size)] = kInterestingChars[rng.Below(kInterestingChars.size())];
      break;
    case Edit::kSplice: {
      if (dictionary.empty()) return;
      // At either end this is concatenation of two entries; inside, nesting.
      const uint64_t where = rng.Below(3);
      const size_t at = where == 0 ? 0 : where == 1 ? size : rng.Below(size + 1);
      cps.insert(at, DecodeUtf8(dictionary[rng.Below(dictionary.size())]));
      break;
    }
    case Edit::kRepeat: {
      // Every code point takes at least one byte, so stopping at `max_bytes`
      // code points loses nothing that EncodeUtf8 would keep.
      const std::u32string unit = cps;
      for (uint64_t times = rng.InRange(1, 15); times > 0 && cps.size() < max_bytes; --times) {
        cps += unit;
      }
      break;
    }
    case Edit::kNumEdits:
      break;
  }
}

}  // namespace

std::string Mutate(std::string_view input, std::span<const std::string_view> dictionary,
                   size_t max_bytes, Rng& rng) {
  const std::u32string original = DecodeUtf8(input);
  constexpr int kAttempts = 8;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    std::u32string cps = original;
    const auto edit = static_cast<Edit>(rng.Below(static_cast<uint64_t>(Edit::kNumEdits)));
    ApplyEdit(edit, cps, dictionary, max_bytes, rng);
    std::string mutated = EncodeUtf8(cps, max_bytes);
    if (mutated != input) return mutated;
  }
  // Nothing changed (say, swaps in "AAAA" or growth cut off at `max_bytes`):
  // dropping the last code point, or adding one to "", always changes it.
  std::u32string cps = original;
  if (cps.empty()) {
    cps.push_back(RandomCodePoint(rng));
  } else {
    cps.pop_back();
  }
  return EncodeUtf8(cps, max_bytes);
}

std::string RandomString(size_t max_bytes, Rng& rng) {
  const uint64_t roll = rng.Below(100);
  const size_t length = roll < 80   ? rng.Below(17)
                        : roll < 95 ? rng.InRange(17, 256)
                                    : rng.InRange(257, 8192);
  std::u32string cps(length, U'\0');
  for (char32_t& cp : cps) cp = RandomCodePoint(rng);
  return EncodeUtf8(cps, max_bytes);
}

}  // namespace graphene
