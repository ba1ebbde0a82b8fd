// AVX-512 with VPOPCNTDQ: this file alone is compiled with -mavx512f -mavx512vpopcntdq -mpopcnt,
// and its kernels are used only after __builtin_cpu_supports says the CPU has them.
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

// Distances of q to h[0..7]: two hashes per zmm, four zmm; per-hash lane sums via two
// shuffle-and-add steps, then the eight sums gathered into one vector.
inline __m512i Eight(const __m512i q2, const Hash256* h) {
  const auto* p = reinterpret_cast<const __m512i*>(h);
  __m512i c[4];
  for (int k = 0; k < 4; ++k) {
    __m512i v = _mm512_popcnt_epi64(_mm512_xor_si512(q2, _mm512_loadu_si512(p + k)));
    v = _mm512_add_epi64(v, _mm512_shuffle_epi32(v, _MM_PERM_BADC));             // pairs
    v = _mm512_add_epi64(v, _mm512_permutex_epi64(v, _MM_SHUFFLE(1, 0, 3, 2)));  // quads
    c[k] = v;  // hash 2k in lanes 0..3, hash 2k+1 in lanes 4..7
  }
  // Lane 0 of each half holds a hash's distance: gather lanes 0 and 4 of c[0..3].
  const __m512i idx = _mm512_setr_epi64(0, 4, 8, 12, 0, 4, 8, 12);
  const __m512i lo = _mm512_permutex2var_epi64(c[0], idx, c[1]);  // h0 h1 h2 h3 | ...
  const __m512i hi = _mm512_permutex2var_epi64(c[2], idx, c[3]);  // h4 h5 h6 h7 | ...
  return _mm512_inserti64x4(lo, _mm512_castsi512_si256(hi), 1);
}

void Distances(const Hash256& q, const Hash256* h, size_t n, uint16_t* out) {
  const __m256i q1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(&q));
  const __m512i q2 = _mm512_broadcast_i64x4(q1);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm512_cvtepi64_epi16(Eight(q2, h + i)));
  }
  for (; i < n; ++i) out[i] = static_cast<uint16_t>(Dist(q, h[i]));
}

size_t Within(const Hash256& q, const Hash256* h, size_t n, int r, uint32_t* idx, uint16_t* dist) {
  const __m256i q1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(&q));
  const __m512i q2 = _mm512_broadcast_i64x4(q1);
  const __m512i rv = _mm512_set1_epi64(r);
  size_t i = 0, k = 0;
  for (; i + 8 <= n; i += 8) {
    const __m512i d = Eight(q2, h + i);
    __mmask8 m = _mm512_cmple_epi64_mask(d, rv);
    if (m == 0) continue;
    alignas(64) uint64_t s[8];
    _mm512_store_si512(s, d);
    while (m != 0) {
      const int j = __builtin_ctz(m);
      m &= static_cast<__mmask8>(m - 1);
      idx[k] = static_cast<uint32_t>(i + j);
      dist[k++] = static_cast<uint16_t>(s[j]);
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

// 16 entries a step: mask, xor, VPOPCNTD, compare; the passing lanes' slot values are widened to
// 64 bits and compressed in registers (a compressing store to memory is slow on some cores), then
// stored whole; the caller's buffer has the slack.
size_t FilterEntries(const uint32_t* e, size_t n, uint32_t mask, int shift, uint32_t q, int budget,
                     uint64_t base, uint64_t* out) {
  const __m512i mv = _mm512_set1_epi32(static_cast<int>(mask));
  const __m512i qv = _mm512_set1_epi32(static_cast<int>(q));
  const __m512i bv = _mm512_set1_epi32(budget);
  const __m512i basev = _mm512_set1_epi64(static_cast<long long>(base));
  const __m128i sh = _mm_cvtsi32_si128(shift);
  size_t k = 0;
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 lm =
        n - i >= 16 ? __mmask16{0xffff} : static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512i v = _mm512_maskz_loadu_epi32(lm, e + i);
    const __m512i pc = _mm512_popcnt_epi32(_mm512_xor_si512(_mm512_and_si512(v, mv), qv));
    const __mmask16 m = _mm512_mask_cmple_epu32_mask(lm, pc, bv);
    if (m == 0) continue;
    const __m512i s = _mm512_srl_epi32(v, sh);
    const __m512i lo = _mm512_add_epi64(
        basev, _mm512_slli_epi64(_mm512_cvtepu32_epi64(_mm512_castsi512_si256(s)), 4));
    const __m512i hi = _mm512_add_epi64(
        basev, _mm512_slli_epi64(_mm512_cvtepu32_epi64(_mm512_extracti64x4_epi64(s, 1)), 4));
    const auto mlo = static_cast<__mmask8>(m & 0xff), mhi = static_cast<__mmask8>(m >> 8);
    _mm512_storeu_si512(out + k, _mm512_maskz_compress_epi64(mlo, lo));
    k += static_cast<size_t>(__builtin_popcount(mlo));
    _mm512_storeu_si512(out + k, _mm512_maskz_compress_epi64(mhi, hi));
    k += static_cast<size_t>(__builtin_popcount(mhi));
  }
  return k;
}

const HammingKernels kAvx512{"avx512",     Dist, Distances, Within, internal::WithinBatch<Within>,
                             FilterEntries};

}  // namespace

const HammingKernels* Avx512Kernels() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq") ? &kAvx512
                                                                                        : nullptr;
}

}  // namespace takedown::index
