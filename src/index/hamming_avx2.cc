// AVX2 (+POPCNT): this file alone is compiled with -mavx2 -mpopcnt, and its kernels are used only
// after __builtin_cpu_supports says the CPU has them.
#include <immintrin.h>

#include "index/hamming.h"
#include "index/hamming_batch.h"

namespace takedown::index {
namespace {

inline int Dist(const Hash256& a, const Hash256& b) {
  return static_cast<int>(
      _mm_popcnt_u64(a.words[0] ^ b.words[0]) + _mm_popcnt_u64(a.words[1] ^ b.words[1]) +
      _mm_popcnt_u64(a.words[2] ^ b.words[2]) + _mm_popcnt_u64(a.words[3] ^ b.words[3]));
}

// Per-64-bit-lane popcount of v (Mula: nibble lookup with pshufb, then sad against zero).
inline __m256i PopcountLanes(__m256i v) {
  const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2,
                                       1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  const __m256i low = _mm256_set1_epi8(0x0f);
  const __m256i lo = _mm256_shuffle_epi8(lut, _mm256_and_si256(v, low));
  const __m256i hi = _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(v, 4), low));
  return _mm256_sad_epu8(_mm256_add_epi8(lo, hi), _mm256_setzero_si256());
}

// Distances of q to h[0..3]: one hash per ymm; lanes summed across the four registers.
inline void Four(const __m256i q, const Hash256* h, uint32_t out[4]) {
  const __m256i a = PopcountLanes(
      _mm256_xor_si256(q, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(h + 0))));
  const __m256i b = PopcountLanes(
      _mm256_xor_si256(q, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(h + 1))));
  const __m256i c = PopcountLanes(
      _mm256_xor_si256(q, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(h + 2))));
  const __m256i d = PopcountLanes(
      _mm256_xor_si256(q, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(h + 3))));
  // Interleave so that each 64-bit lane pair sums: ab = [a0+a1, b0+b1, a2+a3, b2+b3] etc.
  const __m256i ab = _mm256_add_epi64(_mm256_unpacklo_epi64(a, b), _mm256_unpackhi_epi64(a, b));
  const __m256i cd = _mm256_add_epi64(_mm256_unpacklo_epi64(c, d), _mm256_unpackhi_epi64(c, d));
  // ab: [a01, b01, a23, b23]; cd: [c01, d01, c23, d23] -> [a, b, c, d]
  const __m256i lo = _mm256_permute2x128_si256(ab, cd, 0x20);  // [a01, b01, c01, d01]
  const __m256i hi = _mm256_permute2x128_si256(ab, cd, 0x31);  // [a23, b23, c23, d23]
  const __m256i sum = _mm256_add_epi64(lo, hi);
  alignas(32) uint64_t s[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(s), sum);
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint32_t>(s[i]);
}

void Distances(const Hash256& q, const Hash256* h, size_t n, uint16_t* out) {
  const __m256i qv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(&q));
  size_t i = 0;
  uint32_t d[4];
  for (; i + 4 <= n; i += 4) {
    Four(qv, h + i, d);
    for (int k = 0; k < 4; ++k) out[i + k] = static_cast<uint16_t>(d[k]);
  }
  for (; i < n; ++i) out[i] = static_cast<uint16_t>(Dist(q, h[i]));
}

size_t Within(const Hash256& q, const Hash256* h, size_t n, int r, uint32_t* idx, uint16_t* dist) {
  const __m256i qv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(&q));
  size_t i = 0, k = 0;
  uint32_t d[4];
  for (; i + 4 <= n; i += 4) {
    Four(qv, h + i, d);
    for (int j = 0; j < 4; ++j) {
      if (static_cast<int>(d[j]) <= r) {
        idx[k] = static_cast<uint32_t>(i + j);
        dist[k++] = static_cast<uint16_t>(d[j]);
      }
    }
  }
  for (; i < n; ++i) {
    const int dd = Dist(q, h[i]);
    if (dd <= r) {
      idx[k] = static_cast<uint32_t>(i);
      dist[k++] = static_cast<uint16_t>(dd);
    }
  }
  return k;
}

const HammingKernels kAvx2{
    "avx2", Dist, Distances, Within, internal::WithinBatch<Within>, internal::FilterEntries};

}  // namespace

const HammingKernels* Avx2Kernels() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt") ? &kAvx2 : nullptr;
}

}  // namespace takedown::index
