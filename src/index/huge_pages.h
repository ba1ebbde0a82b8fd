// Large random-access arrays (hashes, MIH entries and directories) are read at random by every
// query; with 4 KiB pages nearly each read also misses the TLB. Asking for transparent huge
// pages before the memory is first touched removes most of those misses (measured in
// `takedown-bench index`: see README). Harmless where THP is off.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace takedown::index {

constexpr size_t kHugePage = size_t{2} << 20;

// Advises huge pages for the 2 MiB-aligned part of [p, p + bytes).
inline void AdviseHugePages(void* p, size_t bytes) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  const uintptr_t first = (a + kHugePage - 1) & ~(kHugePage - 1);
  const uintptr_t last = (a + bytes) & ~(kHugePage - 1);
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
}

// Sizes v to n elements, with huge pages advised before the memory is first written.
template <typename T>
void ResizeHuge(std::vector<T>& v, size_t n, const T& value = T()) {
  if (n * sizeof(T) >= kHugePage && v.capacity() < n) {
    v.reserve(n);
    AdviseHugePages(v.data(), n * sizeof(T));
  }
  v.assign(n, value);
}

}  // namespace takedown::index
