// The reference: plain C++ with std::popcount, no target-specific code.
#include <bit>
#include <cstdlib>
#include <cstring>
#include <string>

#include "index/hamming.h"
#include "index/hamming_batch.h"

namespace takedown::index {
namespace {

int Dist(const Hash256& a, const Hash256& b) {
  int d = 0;
  for (int w = 0; w < 4; ++w) d += std::popcount(a.words[w] ^ b.words[w]);
  return d;
}

void Distances(const Hash256& q, const Hash256* h, size_t n, uint16_t* out) {
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint16_t>(Dist(q, h[i]));
}

size_t Within(const Hash256& q, const Hash256* h, size_t n, int r, uint32_t* idx, uint16_t* dist) {
  size_t k = 0;
  for (size_t i = 0; i < n; ++i) {
    const int d = Dist(q, h[i]);
    if (d <= r) {
      idx[k] = static_cast<uint32_t>(i);
      dist[k++] = static_cast<uint16_t>(d);
    }
  }
  return k;
}

const HammingKernels kScalar{
    "scalar", Dist, Distances, Within, internal::WithinBatch<Within>, internal::FilterEntries};

}  // namespace

const HammingKernels& ScalarKernels() { return kScalar; }

std::vector<const HammingKernels*> AvailableKernels() {
  std::vector<const HammingKernels*> v{&kScalar};
  if (const auto* k = Avx2Kernels()) v.push_back(k);
  if (const auto* k = Avx512Kernels()) v.push_back(k);
  return v;
}

const HammingKernels& BestKernels() {
  static const HammingKernels* best = [] {
    const auto all = AvailableKernels();
    if (const char* force = std::getenv("TAKEDOWN_KERNELS")) {
      for (const auto* k : all) {
        if (std::strcmp(k->name, force) == 0) return k;
      }
    }
    return all.back();
  }();
  return *best;
}

}  // namespace takedown::index
