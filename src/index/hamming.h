// Hamming-distance kernels over packed 256-bit hashes (hash::Hash256: 4 x uint64, 32 bytes).
//
// One scalar reference and SIMD versions (AVX2; AVX-512 with VPOPCNTDQ), each in its own file
// compiled with its own flags (see CMakeLists.txt), chosen once at run time from what the CPU
// supports. Every version returns exactly what the scalar one does (tests/hamming_test.cc).
// Stateless and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "hash/hash256.h"

namespace takedown::index {

using hash::Hash256;

// A (query, hash) pair within the radius, from a batched scan.
struct PairMatch {
  uint32_t query;
  uint32_t index;
  uint16_t distance;
};

struct HammingKernels {
  const char* name;
  // popcount(a ^ b).
  int (*distance)(const Hash256& a, const Hash256& b);
  // out[i] = distance(q, h[i]) for i < n. h: n * 32 bytes; out: n entries.
  void (*distances)(const Hash256& q, const Hash256* h, size_t n, uint16_t* out);
  // Appends to idx/dist (each with room for n) every i < n with distance(q, h[i]) <= r, in
  // increasing i. Returns how many.
  size_t (*within)(const Hash256& q, const Hash256* h, size_t n, int r, uint32_t* idx,
                   uint16_t* dist);
  // Batched scan: appends every (query, index) with distance <= r, queries qs (nq) against
  // hashes h (n), visiting h in cache-sized blocks so that each block is read once for all
  // queries. Order: by block of h, then query, then index.
  void (*within_batch)(const Hash256* qs, size_t nq, const Hash256* h, size_t n, int r,
                       std::vector<PairMatch>* out);
  // Multi-index bucket filter: for each j < n in order, when popcount((e[j] & mask) ^ q) <=
  // budget, appends base + (uint64_t{e[j] >> shift} << 4). `out` needs room for n + 16 (SIMD
  // versions store whole vectors). Returns how many were appended.
  size_t (*filter_entries)(const uint32_t* e, size_t n, uint32_t mask, int shift, uint32_t q,
                           int budget, uint64_t base, uint64_t* out);
};

const HammingKernels& ScalarKernels();
// nullptr when the CPU (or the compiler) lacks the instructions.
const HammingKernels* Avx2Kernels();
const HammingKernels* Avx512Kernels();

// The fastest version the CPU supports, chosen once. TAKEDOWN_KERNELS=scalar|avx2|avx512 in the
// environment forces one (for benchmarks and tests).
const HammingKernels& BestKernels();

// All versions this CPU can run, scalar first.
std::vector<const HammingKernels*> AvailableKernels();

}  // namespace takedown::index
