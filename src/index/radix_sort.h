// Stable LSD radix sorting: one counting pass, and a sort of 32-bit values by a key of up to 32
// bits in passes of at most 12 bits (a 16 KiB count table stays in L1). Used where a bulk build
// orders its slots by hash (HashIndex::Build) and where a query's results are put in (distance,
// id) order (HashIndex::ToMatches).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace takedown::index {

// One stable counting pass: *values ordered by key(value) < buckets; *tmp and *count are scratch
// (their contents are not kept; *values and *tmp swap buffers).
template <typename T, typename Key>
void CountingSortPass(std::vector<T>* values, std::vector<T>* tmp, std::vector<uint32_t>* count,
                      size_t buckets, Key key) {
  tmp->resize(values->size());
  count->assign(buckets, 0u);
  for (const T& v : *values) ++(*count)[key(v)];
  uint32_t sum = 0;
  for (auto& c : *count) sum += std::exchange(c, sum);
  for (const T& v : *values) (*tmp)[(*count)[key(v)]++] = v;
  values->swap(*tmp);
}

// Sorts *values by key(value), which must fit in `bits` bits; *tmp and *count are scratch
// (reused between calls by callers that sort often).
template <typename Key>
void RadixSort(std::vector<uint32_t>* values, std::vector<uint32_t>* tmp,
               std::vector<uint32_t>* count, int bits, Key key) {
  const int passes = std::max(1, (bits + 11) / 12);
  const int digit = (bits + passes - 1) / passes;
  const uint32_t mask = digit >= 32 ? ~uint32_t{0} : (uint32_t{1} << digit) - 1;
  for (int p = 0; p < passes; ++p) {
    const int shift = p * digit;
    CountingSortPass(values, tmp, count, size_t{mask} + 1,
                     [&](uint32_t v) { return (key(v) >> shift) & mask; });
  }
}

}  // namespace takedown::index
