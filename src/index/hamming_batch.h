// Internal: the blocked batched scan, written once over a kernel's `within` (each kernel file
// instantiates it with its own within so the inner loop is compiled with that file's flags).
#pragma once

#include <algorithm>
#include <vector>

#include "index/hamming.h"

namespace takedown::index::internal {

// 2048 hashes (64 KiB) per block: stays in L2 while every query passes over it.
constexpr size_t kBatchBlock = 2048;

template <size_t (*Within)(const Hash256&, const Hash256*, size_t, int, uint32_t*, uint16_t*)>
void WithinBatch(const Hash256* qs, size_t nq, const Hash256* h, size_t n, int r,
                 std::vector<PairMatch>* out) {
  uint32_t idx[kBatchBlock];
  uint16_t dist[kBatchBlock];
  for (size_t b0 = 0; b0 < n; b0 += kBatchBlock) {
    const size_t len = std::min(kBatchBlock, n - b0);
    for (size_t q = 0; q < nq; ++q) {
      const size_t k = Within(qs[q], h + b0, len, r, idx, dist);
      for (size_t i = 0; i < k; ++i) {
        out->push_back({static_cast<uint32_t>(q), static_cast<uint32_t>(b0 + idx[i]), dist[i]});
      }
    }
  }
}

// The plain bucket filter (scalar and AVX2 files compile it with their own flags).
inline size_t FilterEntries(const uint32_t* e, size_t n, uint32_t mask, int shift, uint32_t q,
                            int budget, uint64_t base, uint64_t* out) {
  size_t k = 0;
  for (size_t j = 0; j < n; ++j) {
    const uint32_t v = e[j];
    out[k] = base + (uint64_t{v >> shift} << 4);
    k += __builtin_popcount((v & mask) ^ q) <= budget ? 1 : 0;  // branch-free
  }
  return k;
}

}  // namespace takedown::index::internal
