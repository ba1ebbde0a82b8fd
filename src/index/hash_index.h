// HashIndex: exact radius search over 256-bit hashes with 64-bit ids, live adds and removes, and
// fast persistence. The bank index and the content index of takedown are both HashIndexes.
//
// Layout: every entry is a slot of a HashStore (hash, id, state). Slots [0, tail) are covered by
// immutable MihSegments; newer slots (the tail, at most a few tens of thousands) are scanned
// with the SIMD kernel. A background thread indexes the tail into a new segment and merges
// segments (each merge at least doubles the newest, so work is O(n log n) in total). Removed
// entries are dropped from segments when they are merged and from files when saved.
//
// Concurrency model:
//  - Query/QueryBatch: any number of threads, never blocked by writers. A query reads the
//    current snapshot (atomic shared_ptr: the segment list and where the tail begins) and the
//    store's published size, so an Add that returned before the query began is found, and a
//    Remove/SetEnabled that returned before it began is honoured (every result's state byte is
//    read with acquire order).
//  - Add/Remove/SetEnabled: serialised by one mutex; each is visible to queries when it returns.
//  - The maintenance thread builds segments without the mutex and publishes them under it.
//  - Save may run at any time (it reads a snapshot); Open returns a new index.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/mutex.h"
#include "core/status.h"
#include "index/hamming.h"
#include "index/mih.h"
#include "index/store.h"

namespace takedown::index {

struct Match {
  uint64_t id;
  uint16_t distance;
  friend bool operator==(const Match&, const Match&) = default;
};

struct IndexStats {
  uint64_t entries = 0;  // live + disabled
  uint64_t slots = 0;    // including removed ones not yet dropped
  uint64_t segments = 0;
  uint64_t tail = 0;          // slots not yet in a segment
  uint64_t memory_bytes = 0;  // heap plus mapped file bytes
  std::string kernels;
};

enum class QueryStrategy {
  kAuto,   // per query: the multi-index, or a scan when the radius makes that cheaper
  kIndex,  // always the multi-index (plus the tail scan)
  kScan,   // scan every slot
};

class HashIndex {
 public:
  struct Options {
    // Slots left unindexed before the maintenance thread indexes them.
    uint64_t tail_limit = 16384;
    // Start the maintenance thread (tests may drive Maintain() themselves).
    bool background = true;
    // A query with more multi-index candidates than this deduplicates them before checking (see
    // MihSegment::Scratch). Tests set 0 or a huge value to drive one path.
    size_t dedup_candidates_above = MihSegment::kDefaultDedupAbove;
  };

  static std::unique_ptr<HashIndex> Create(Options options);
  static std::unique_ptr<HashIndex> Create() { return Create(Options{}); }

  // Bulk load: ids must be unique. Faster than Add one by one; segments built once.
  static Result<std::unique_ptr<HashIndex>> Build(std::span<const Hash256> hashes,
                                                  std::span<const uint64_t> ids, Options options);

  // Maps a file written by Save and checks it (structure and checksums); errors name the
  // problem and the byte offset.
  static Result<std::unique_ptr<HashIndex>> Open(const std::string& path, Options options);

  ~HashIndex();
  HashIndex(const HashIndex&) = delete;
  HashIndex& operator=(const HashIndex&) = delete;

  // Adds an entry; fails if the id is present (and not removed).
  Status Add(uint64_t id, const Hash256& hash);
  // Adds an entry unless the id is present; true when it was added (a replica applying a change
  // it may have loaded already).
  bool AddIfAbsent(uint64_t id, const Hash256& hash);
  // Removes an entry for good. NotFound if absent.
  Status Remove(uint64_t id);
  // Disabled entries stay stored but never match until enabled.
  Status SetEnabled(uint64_t id, bool enabled);

  // Every live entry within distance r of q, sorted by (distance, id).
  std::vector<Match> Query(const Hash256& q, int r, QueryStrategy s = QueryStrategy::kAuto) const;

  // Results for each query, on `threads` threads. kScan here is the batched scan: the stored
  // hashes are read once, block by block, for all queries.
  std::vector<std::vector<Match>> QueryBatch(std::span<const Hash256> qs, int r, int threads,
                                             QueryStrategy s = QueryStrategy::kAuto) const;

  // Writes every live and disabled entry, indexed as one segment, to path (via a temporary
  // file, fsync and rename: a crash leaves the old file or the new one).
  Status Save(const std::string& path) const;

  // Indexes the tail and merges segments now (what the maintenance thread does).
  void Maintain();
  // Blocks until the tail is indexed (tests, benchmarks).
  void WaitForMaintenance();

  IndexStats Stats() const;
  const HammingKernels& kernels() const { return *kernels_; }

 private:
  struct Snapshot {
    std::vector<std::shared_ptr<const MihSegment>> segments;
    uint64_t tail_begin = 0;
  };
  class Mapping;

  explicit HashIndex(Options options);
  std::shared_ptr<const Snapshot> snapshot() const {
    return snapshot_.load(std::memory_order_acquire);
  }
  int64_t FindSlot(uint64_t id) const TD_REQUIRES(write_mu_);
  void QueryInto(const Snapshot& snap, uint64_t size, const Hash256& q, int r, QueryStrategy s,
                 MihSegment::Scratch* scratch, std::vector<SlotMatch>* out) const;
  std::vector<Match> ToMatches(std::vector<SlotMatch>& slots) const;
  void MaintenanceLoop();
  bool MaintainOnce();  // one step; false when nothing to do

  Options options_;
  const HammingKernels* kernels_;
  HashStore store_;
  std::unique_ptr<Mapping> mapping_;
  std::atomic<std::shared_ptr<const Snapshot>> snapshot_;
  mutable Mutex write_mu_;  // serialises writers and snapshot publication
  Mutex maintain_mu_;       // one maintenance step at a time
  CondVar wake_;            // with write_mu_: the tail grew, or stopping
  bool stopping_ TD_GUARDED_BY(write_mu_) = false;
  std::thread maintenance_;
  // Ids of the tail's slots (newest slot per id) and the tail start they were pruned to.
  mutable std::unordered_map<uint64_t, uint64_t> tail_slots_ TD_GUARDED_BY(write_mu_);
  mutable uint64_t tail_pruned_at_ TD_GUARDED_BY(write_mu_) = 0;
};

}  // namespace takedown::index
