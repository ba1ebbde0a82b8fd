// HashStore: the slots of an index -- hash, id and state per slot -- in append-only chunks whose
// addresses never move, so readers need no lock. Slots [0, frozen) may live in a read-only
// memory-mapped file (an opened index); later slots in heap chunks of 2^18 (hashes 8 MiB, ids 2
// MiB: huge pages).
//
// Thread safety: one writer at a time (Append; callers serialise), any number of readers.
// Append writes a slot and then publishes size() with release order; a reader that loads size()
// (acquire) sees every slot below it. States are atomic bytes: SetState is visible to every
// query that starts after it returns.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "hash/hash256.h"

namespace takedown::index {

using hash::Hash256;

enum SlotState : uint8_t {
  kLive = 0,
  kRemoved = 1,   // gone for good; dropped when the index is saved
  kDisabled = 2,  // kept, not matched until enabled again
};

class HashStore {
 public:
  static constexpr int kChunkBits = 18;
  static constexpr uint64_t kChunkSlots = uint64_t{1} << kChunkBits;
  static constexpr size_t kMaxChunks = size_t{1} << 14;  // 4 Gi slots

  HashStore();
  ~HashStore();
  HashStore(const HashStore&) = delete;
  HashStore& operator=(const HashStore&) = delete;

  // Uses read-only arrays (from a mapped file) as slots [0, n); states are copied. Call before
  // any Append.
  void SetFrozen(const Hash256* hashes, const uint64_t* ids, const uint8_t* states, uint64_t n);

  // Appends a slot; returns its number. Single writer.
  uint64_t Append(const Hash256& h, uint64_t id, uint8_t state = kLive);

  uint64_t size() const { return size_.load(std::memory_order_acquire); }

  const Hash256& hash(uint64_t slot) const {
    if (slot < frozen_) return frozen_hashes_[slot];
    const uint64_t s = slot - frozen_;
    return chunks_[s >> kChunkBits].load(std::memory_order_relaxed)->hashes[s & (kChunkSlots - 1)];
  }
  uint64_t id(uint64_t slot) const {
    if (slot < frozen_) return frozen_ids_[slot];
    const uint64_t s = slot - frozen_;
    return chunks_[s >> kChunkBits].load(std::memory_order_relaxed)->ids[s & (kChunkSlots - 1)];
  }
  uint8_t state(uint64_t slot) const { return StateRef(slot).load(std::memory_order_acquire); }
  // Starts fetching a slot's hash / its id, ahead of use. (A query reads the state only of the
  // few candidates within the radius: prefetching every candidate's state too cost 3-7% of a
  // query's time in fetches the core's miss buffers had no room for.)
  void PrefetchHash(uint64_t slot) const { __builtin_prefetch(&hash(slot)); }
  void PrefetchId(uint64_t slot) const {
    if (slot < frozen_)
      __builtin_prefetch(frozen_ids_ + slot);
    else
      __builtin_prefetch(&chunks_[(slot - frozen_) >> kChunkBits]
                              .load(std::memory_order_relaxed)
                              ->ids[(slot - frozen_) & (kChunkSlots - 1)]);
  }
  void SetState(uint64_t slot, uint8_t s) { StateRef(slot).store(s, std::memory_order_release); }

  // Calls fn(first_slot, span of hashes) for the contiguous runs covering [begin, end).
  template <typename Fn>
  void ForEachRun(uint64_t begin, uint64_t end, Fn&& fn) const {
    while (begin < end) {
      if (begin < frozen_) {
        const uint64_t stop = std::min(end, frozen_);
        fn(begin, std::span<const Hash256>(frozen_hashes_ + begin, stop - begin));
        begin = stop;
        continue;
      }
      const uint64_t s = begin - frozen_;
      const uint64_t in_chunk = s & (kChunkSlots - 1);
      const uint64_t stop = std::min(end, begin + (kChunkSlots - in_chunk));
      const Chunk* c = chunks_[s >> kChunkBits].load(std::memory_order_relaxed);
      fn(begin, std::span<const Hash256>(c->hashes.get() + in_chunk, stop - begin));
      begin = stop;
    }
  }

  // Bytes this store holds in memory (heap chunks and state copies; mapped pages not counted).
  uint64_t HeapBytes() const;

 private:
  struct FreeDeleter {
    void operator()(void* p) const { std::free(p); }
  };
  // Allocated 2 MiB-aligned with huge pages advised and left untouched: a chunk costs resident
  // memory only as its slots fill.
  struct Chunk {
    std::unique_ptr<Hash256[], FreeDeleter> hashes;
    std::unique_ptr<uint64_t[], FreeDeleter> ids;
    std::unique_ptr<std::atomic<uint8_t>[], FreeDeleter> states;
  };
  std::atomic<uint8_t>& StateRef(uint64_t slot) const {
    if (slot < frozen_) return frozen_states_[slot];
    const uint64_t s = slot - frozen_;
    return chunks_[s >> kChunkBits].load(std::memory_order_relaxed)->states[s & (kChunkSlots - 1)];
  }

  const Hash256* frozen_hashes_ = nullptr;
  const uint64_t* frozen_ids_ = nullptr;
  std::unique_ptr<std::atomic<uint8_t>[]> frozen_states_;
  uint64_t frozen_ = 0;
  std::unique_ptr<std::atomic<Chunk*>[]> chunks_;  // kMaxChunks entries, filled as needed
  std::atomic<uint64_t> size_{0};
};

}  // namespace takedown::index
