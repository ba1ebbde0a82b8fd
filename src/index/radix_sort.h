// A stable LSD radix sort of 32-bit values by a key of up to 32 bits, in passes of at most 12
// bits (a 16 KiB count table stays in L1). Used where a bulk build orders its slots by hash
// (HashIndex::Build).
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <utility>
#include <vector>

namespace takedown::index {

// Sorts *values by key(value), which must fit in `bits` bits; *tmp and *count are scratch
// (reused between calls by callers that sort often).
template <typename Key>
void RadixSort(std::vector<uint32_t>* values, std::vector<uint32_t>* tmp, std::vector<uint32_t>* count,
               int bits, Key key) {
  const int passes = std::max(1, (bits + 11) / 12);
  const int digit = (bits + passes - 1) / passes;
  const uint32_t mask = digit >= 32 ? ~uint32_t{0} : (uint32_t{1} << digit) - 1;
  tmp->resize(values->size());
  count->resize(size_t{1} << digit);
  for (int p = 0; p < passes; ++p) {
    const int shift = p * digit;
    std::fill(count->begin(), count->end(), 0u);
    for (uint32_t v : *values) ++(*count)[(key(v) >> shift) & mask];
    uint32_t sum = 0;
    for (auto& c : *count) sum += std::exchange(c, sum);
    for (uint32_t v : *values) (*tmp)[(*count)[(key(v) >> shift) & mask]++] = v;
    values->swap(*tmp);
  }
}

// Bits needed for values below `range` (at least 1).
inline int BitsFor(uint64_t range) { return range <= 2 ? 1 : 64 - std::countl_zero(range - 1); }

}  // namespace takedown::index
