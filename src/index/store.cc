#include "index/store.h"

#include <cstdlib>
#include <new>
#include <stdexcept>

#include "index/huge_pages.h"

namespace takedown::index {
namespace {

void* HugeAlloc(size_t bytes) {
  const size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  void* p = std::aligned_alloc(kHugePage, rounded);
  if (p == nullptr) throw std::bad_alloc();
  AdviseHugePages(p, rounded);
  return p;
}

}  // namespace

HashStore::HashStore() : chunks_(new std::atomic<Chunk*>[kMaxChunks]) {
  for (size_t i = 0; i < kMaxChunks; ++i) chunks_[i].store(nullptr, std::memory_order_relaxed);
}

HashStore::~HashStore() {
  for (size_t i = 0; i < kMaxChunks; ++i) delete chunks_[i].load(std::memory_order_relaxed);
}

void HashStore::SetFrozen(const Hash256* hashes, const uint64_t* ids, const uint8_t* states,
                          uint64_t n) {
  frozen_hashes_ = hashes;
  frozen_ids_ = ids;
  frozen_states_.reset(new std::atomic<uint8_t>[n]);
  for (uint64_t i = 0; i < n; ++i) frozen_states_[i].store(states[i], std::memory_order_relaxed);
  frozen_ = n;
  size_.store(n, std::memory_order_release);
}

uint64_t HashStore::Append(const Hash256& h, uint64_t id, uint8_t state) {
  const uint64_t slot = size_.load(std::memory_order_relaxed);
  const uint64_t s = slot - frozen_;
  const size_t ci = static_cast<size_t>(s >> kChunkBits);
  if (ci >= kMaxChunks) throw std::length_error("HashStore: more than 4 Gi slots");
  Chunk* c = chunks_[ci].load(std::memory_order_relaxed);
  if (c == nullptr) {
    c = new Chunk{std::unique_ptr<Hash256[], FreeDeleter>(
                      static_cast<Hash256*>(HugeAlloc(kChunkSlots * sizeof(Hash256)))),
                  std::unique_ptr<uint64_t[], FreeDeleter>(
                      static_cast<uint64_t*>(HugeAlloc(kChunkSlots * sizeof(uint64_t)))),
                  std::unique_ptr<std::atomic<uint8_t>[], FreeDeleter>(
                      static_cast<std::atomic<uint8_t>*>(HugeAlloc(kChunkSlots)))};
    chunks_[ci].store(c, std::memory_order_release);
  }
  const uint64_t i = s & (kChunkSlots - 1);
  c->hashes[i] = h;
  c->ids[i] = id;
  c->states[i].store(state, std::memory_order_relaxed);
  size_.store(slot + 1, std::memory_order_release);
  return slot;
}

uint64_t HashStore::HeapBytes() const {
  uint64_t bytes = frozen_;  // state copies
  for (size_t i = 0; i < kMaxChunks; ++i) {
    if (chunks_[i].load(std::memory_order_relaxed) == nullptr) break;
    bytes += kChunkSlots * (sizeof(Hash256) + sizeof(uint64_t) + 1);
  }
  return bytes;
}

}  // namespace takedown::index
