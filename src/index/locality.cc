#include "index/locality.h"

#include <algorithm>
#include <utility>

#include "index/mih.h"
#include "index/radix_sort.h"

namespace takedown::index {

using hash::Hash256;

std::vector<uint32_t> LocalityOrder(std::span<const Hash256> hashes) {
  constexpr int kNear = 32;
  const size_t n = hashes.size();
  std::vector<uint32_t> parent(n);
  for (size_t i = 0; i < n; ++i) parent[i] = static_cast<uint32_t>(i);
  auto find = [&](uint32_t i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
  };
  {
    // (word << 32 | position), sorted by word: equal words are neighbours.
    std::vector<uint64_t> keyed(n), tmp;
    std::vector<uint32_t> count;
    constexpr size_t kAheadPairs = 16;
    for (int w = 0; w < 8; ++w) {
      const int word = w / 2, shift = 32 * (w % 2);
      for (size_t i = 0; i < n; ++i) keyed[i] = ((hashes[i].words[word] >> shift) << 32) | i;
      for (int at = 32; at < 64; at += 11) {
        CountingSortPass(&keyed, &tmp, &count, size_t{1} << 11,
                         [at](uint64_t v) { return (v >> at) & 0x7ff; });
      }
      auto same = [&](size_t k) { return (keyed[k] >> 32) == (keyed[k - 1] >> 32); };
      for (size_t k = 1; k < n; ++k) {
        if (k + kAheadPairs < n && same(k + kAheadPairs)) {
          for (size_t j : {k + kAheadPairs, k + kAheadPairs - 1}) {
            __builtin_prefetch(&hashes[static_cast<uint32_t>(keyed[j])]);
            __builtin_prefetch(&parent[static_cast<uint32_t>(keyed[j])]);
          }
        }
        if (!same(k)) continue;
        const auto i = static_cast<uint32_t>(keyed[k]), j = static_cast<uint32_t>(keyed[k - 1]);
        const uint32_t a = find(i), b = find(j);
        if (a == b || Distance(hashes[i], hashes[j]) > kNear) continue;
        parent[std::max(a, b)] = std::min(a, b);  // a group's root is its first member
      }
    }
  }
  // Roots in the order of their part 0; each group's members, in input order, from its start.
  std::vector<uint32_t> start(n, 0), part0(n), roots, tmp, count;
  for (size_t i = 0; i < n; ++i) {
    parent[i] = find(static_cast<uint32_t>(i));
    ++start[parent[i]];
    if (parent[i] == i) roots.push_back(static_cast<uint32_t>(i));
    part0[i] = PartValue(hashes[i], 0);
  }
  RadixSort(&roots, &tmp, &count, PartBits(0), [&](uint32_t i) { return part0[i]; });
  uint32_t at = 0;
  for (uint32_t r : roots) at += std::exchange(start[r], at);
  std::vector<uint32_t> order(n);
  for (size_t i = 0; i < n; ++i) order[start[parent[i]]++] = static_cast<uint32_t>(i);
  return order;
}

}  // namespace takedown::index
