// A 256-bit perceptual hash (PDQ) and its hex form.
//
// Bit k of the hash (k = i*16 + j for DCT coefficient (i, j)) is bit (k & 63) of words[k >> 6].
// That is the reference's layout of sixteen 16-bit words (bit k in word k >> 4 at position
// k & 15) read four words at a time, so the hex form -- 64 lowercase digits, most significant
// word first -- is words[3], words[2], words[1], words[0] printed as %016x. Value type.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace takedown::hash {

struct Hash256 {
  std::array<uint64_t, 4> words{};

  bool bit(int k) const { return ((words[k >> 6] >> (k & 63)) & 1u) != 0; }
  void set_bit(int k) { words[k >> 6] |= uint64_t{1} << (k & 63); }
  int popcount() const {
    return std::popcount(words[0]) + std::popcount(words[1]) + std::popcount(words[2]) +
           std::popcount(words[3]);
  }
  bool is_zero() const { return (words[0] | words[1] | words[2] | words[3]) == 0; }

  // 64 lowercase hex digits.
  std::string ToHex() const;

  // Accepts exactly 64 hex digits (either case). Errors say what is wrong and where:
  // "expected 64 hex digits, got 63", "non-hex character 'g' at position 12".
  static Result<Hash256> FromHex(std::string_view hex);

  friend bool operator==(const Hash256&, const Hash256&) = default;
};

inline int Distance(const Hash256& a, const Hash256& b) {
  return std::popcount(a.words[0] ^ b.words[0]) + std::popcount(a.words[1] ^ b.words[1]) +
         std::popcount(a.words[2] ^ b.words[2]) + std::popcount(a.words[3] ^ b.words[3]);
}

static_assert(sizeof(Hash256) == 32, "Hash256 must be exactly 256 bits for packed storage");

}  // namespace takedown::hash
