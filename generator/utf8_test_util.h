// A strict UTF-8 validator for the generator's tests. It follows the table of
// well-formed byte sequences in the Unicode Standard (section 3.9, table 3-7)
// rather than decoding, so it shares no logic with the code under test.
#pragma once

#include <cstddef>
#include <string_view>

namespace graphene {

// True when `bytes` is well-formed UTF-8: no overlong forms, no surrogates,
// nothing past U+10FFFF, no truncated sequences.
inline bool IsValidUtf8(std::string_view bytes) {
  // One row per range of first bytes: the sequence length and the allowed
  // range of the second byte; later bytes are always 80..BF.
  struct Row {
    unsigned char first_lo, first_hi;
    size_t length;
    unsigned char second_lo, second_hi;
  };
  constexpr Row kTable[] = {
      {0x00, 0x7F, 1, 0, 0},       {0xC2, 0xDF, 2, 0x80, 0xBF}, {0xE0, 0xE0, 3, 0xA0, 0xBF},
      {0xE1, 0xEC, 3, 0x80, 0xBF}, {0xED, 0xED, 3, 0x80, 0x9F}, {0xEE, 0xEF, 3, 0x80, 0xBF},
      {0xF0, 0xF0, 4, 0x90, 0xBF}, {0xF1, 0xF3, 4, 0x80, 0xBF}, {0xF4, 0xF4, 4, 0x80, 0x8F}};
  auto byte_in = [&](size_t k, unsigned lo, unsigned hi) {
    if (k >= bytes.size()) return false;
    const auto b = static_cast<unsigned char>(bytes[k]);
    return b >= lo && b <= hi;
  };
  size_t i = 0;
  while (i < bytes.size()) {
    const Row* row = nullptr;
    for (const Row& r : kTable) {
      if (byte_in(i, r.first_lo, r.first_hi)) row = &r;
    }
    if (row == nullptr) return false;
    if (row->length > 1 && !byte_in(i + 1, row->second_lo, row->second_hi)) return false;
    for (size_t k = 2; k < row->length; ++k) {
      if (!byte_in(i + k, 0x80, 0xBF)) return false;
    }
    i += row->length;
  }
  return true;
}

}  // namespace graphene
