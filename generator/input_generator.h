// Inputs for `--generate N`: first a fixed list of strings that commonly break
// string-handling code, then seeded mutations of them and random strings. The
// same `--seed` must reproduce a campaign's inputs anywhere, so nothing here
// depends on the platform or the standard library's random distributions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace graphene {

// No generated input is longer than this many bytes.
inline constexpr size_t kMaxGeneratedInputBytes = 64 * 1024;

// Returns `count` distinct inputs: first the fixed list of InterestingInputs()
// in its order (only its first `count` entries when `count` is smaller), then
// mutations of earlier inputs and random strings drawn from a generator seeded
// with `seed`. The same (`count`, `seed`) yields the same inputs on every
// platform and library version, and a larger `count` extends a smaller one.
// Every input is valid UTF-8 (it becomes a Python `str`, and may contain NUL)
// and at most kMaxGeneratedInputBytes long.
std::vector<std::string> GenerateInputs(size_t count, uint64_t seed);

// The fixed list on its own, in the order GenerateInputs uses: empty, numbers,
// booleans, null words, control characters, quotes, brackets, path traversal,
// shell and template injection, format strings, unicode, long and repeated
// strings. Distinct, valid UTF-8; the views stay valid for the whole program.
std::span<const std::string_view> InterestingInputs();

}  // namespace graphene
