// Rng: the one source of randomness of the input generator. `--seed` must
// reproduce a campaign's inputs on every platform and library version, so this
// is SplitMix64 (Steele, Lea and Flood, 2014) with our own range reduction: the
// std:: distributions are implementation-defined and may differ between
// standard libraries.
#pragma once

#include <cstdint>

namespace graphene {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}

  // The next 64 random bits.
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
  }

  // Uniform in [0, `bound`). `bound` must be greater than 0.
  uint64_t Below(uint64_t bound) {
    // Rejects the top partial block of 2^64 so that every value is equally
    // likely; a plain `% bound` would favour the small ones.
    const uint64_t threshold = (0 - bound) % bound;  // 2^64 mod bound.
    while (true) {
      const uint64_t x = Next();
      if (x >= threshold) return x % bound;
    }
  }

  // Uniform in [`lo`, `hi`]. Requires `lo` <= `hi` < UINT64_MAX.
  uint64_t InRange(uint64_t lo, uint64_t hi) { return lo + Below(hi - lo + 1); }

 private:
  uint64_t state_;
};

}  // namespace graphene
