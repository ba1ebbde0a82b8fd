// Large random-access arrays (hashes, MIH entries and directories) are read at random by every
// query; with 4 KiB pages nearly each read also misses the TLB. Asking for transparent huge
// pages before the memory is first touched removes most of those misses (measured in
// `takedown-bench index`: see README). Harmless where THP is off.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
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

// An allocator for large random-access arrays: blocks of 2 MiB or more are 2 MiB-aligned, with
// huge pages advised before the first write, so all of an array can be huge pages. (A plain
// vector's block starts 16 bytes into a 4 KiB page: only its 2 MiB-aligned interior could be, and
// a 4 MiB directory got one huge page and 512 small ones. With eleven of them the small pages
// outnumbered the TLB's entries, and a query's directory reads cost ~36 cycles each whatever
// their prefetch distance.)
template <typename T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT: allocators convert implicitly
  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    void* p = nullptr;
    if (bytes >= kHugePage) {
      const size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
      p = std::aligned_alloc(kHugePage, rounded);
      if (p != nullptr) AdviseHugePages(p, rounded);
    } else {
      p = std::malloc(bytes == 0 ? 1 : bytes);
    }
    if (p == nullptr) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t) { std::free(p); }
  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const {
    return true;
  }
};

template <typename T>
using HugeVector = std::vector<T, HugePageAllocator<T>>;

}  // namespace takedown::index
