// Random edits and random strings for the input generator. They work on
// Unicode code points, not bytes: every input reaches the target as a Python
// `str`, so whatever is done to it must leave valid UTF-8.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "generator/rng.h"

namespace graphene {

// Returns `input` changed by one random edit: insert random code points,
// delete a slice, duplicate a slice, swap two code points, replace one with an
// interesting character (quote, NUL, `$`, BOM, ...), splice in an entry of
// `dictionary`, or repeat the whole string. The result always differs from
// `input`, is valid UTF-8 and is at most `max_bytes` long (cut between code
// points). Invalid UTF-8 in `input` reads as U+FFFD. Requires `max_bytes` >= 4
// so that one code point always fits.
std::string Mutate(std::string_view input, std::span<const std::string_view> dictionary,
                   size_t max_bytes, Rng& rng);

// Returns a random valid UTF-8 string of at most `max_bytes`: usually short
// (up to 16 code points), sometimes hundreds or thousands of code points;
// mostly printable ASCII, with some whitespace and control characters and some
// non-ASCII code points of every UTF-8 length.
std::string RandomString(size_t max_bytes, Rng& rng);

}  // namespace graphene
