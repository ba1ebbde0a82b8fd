// MihSegment: an immutable multi-index hash (Norouzi, Punjani, Fleet, "Fast Search in Hamming
// Space with Multi-Index Hashing", CVPR 2012) over a range of store slots.
//
// The 256 bits are cut into 11 parts (three of 24 bits, eight of 23). Two hashes within distance
// r differ in part p by at most t_p for some p whenever sum_p (t_p + 1) >= r + 1 (generalised
// pigeonhole), so a query looks, in each part, at every stored hash whose part is within t_p of
// its own, then checks the whole distance. Per part, hashes are grouped by the top b bits of the
// part (a directory of 2^b + 1 offsets into an entry array); each 32-bit entry holds the slot's
// offset in the segment and the part's remaining low bits, so most non-candidates are rejected
// without touching the hash. b is about log2(slots) - 5: ~16-32 entries a bucket, one AVX-512
// filter step or two (fewer buckets to fetch; measured against -4 and -6 with takedown-bench
// index).
//
// Next to each bucket's offset the directory keeps a presence mask: bit v is set when some entry
// of the bucket has v as the top PresenceBits(low) (at most 5) of its low bits. Most probes of a
// query (at radius 31, 171 of a part's 191) flip two of the directory bits and so need the low
// bits exactly: when the mask says no entry has them, the probe reads no entries at all (on the
// realistic 10M set of takedown-bench index a query without matches reads ~500 buckets for its
// 1,930 probes; see README).
//
// A segment can own its arrays (built in memory) or view them in a mapped file. Thread-safe for
// queries (immutable).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "index/hamming.h"
#include "index/huge_pages.h"
#include "index/store.h"

namespace takedown::index {

// One bucket a query reads: part `part`'s directory entry `top`, with `budget` flips left for the
// part's low bits; e0, e1: the bucket's entry range.
struct MihProbe {
  uint32_t top;
  uint8_t part;
  uint8_t budget;
  uint32_t e0, e1;
};

struct SlotMatch {
  uint64_t slot;
  uint16_t distance;
};

constexpr int kMihParts = 11;

// Bit range of part p: [PartStart(p), PartStart(p) + PartBits(p)).
constexpr int PartBits(int p) { return p < 3 ? 24 : 23; }
constexpr int PartStart(int p) { return p < 3 ? 24 * p : 72 + 23 * (p - 3); }
uint32_t PartValue(const Hash256& h, int p);

// Bits of the presence mask for a part with `low_bits` low bits, and an entry's bit in it.
constexpr int PresenceBits(int low_bits) { return low_bits < 5 ? low_bits : 5; }
constexpr uint32_t PresenceBit(uint32_t low_value, int low_bits) {
  return uint32_t{1} << (low_value >> (low_bits - PresenceBits(low_bits)));
}

// Per-part thresholds t_p for radius r: sum (t_p + 1) = r + 1, spread evenly; a part with
// t_p = -1 is not searched. For r = 31: ten parts of 2 and one of 1.
std::array<int, kMihParts> PartThresholds(int r);

class MihSegment {
 public:
  struct Part {
    int dir_bits = 0;
    // 2^dir_bits + 1 (offset, presence mask) pairs: bucket i is entries[dir[2i], dir[2i + 2]);
    // the last pair's mask is 0.
    std::span<const uint32_t> directory;
    std::span<const uint32_t> entries;  // (slot offset << low_bits) | low bits of the part
  };

  // Indexes the live and disabled (not removed) slots of [begin, end) of the store. `by_id`, when
  // given, is every slot's offset in id order (a bulk build knows it); otherwise it is sorted here.
  // `low_bits` >= 0 sets every part's low bits (tests: the directory widths of tens of millions
  // of slots on a few thousand); otherwise DirectoryBits chooses.
  static std::shared_ptr<MihSegment> Build(const HashStore& store, uint64_t begin, uint64_t end,
                                           HugeVector<uint32_t> by_id = {}, int low_bits = -1);

  // Views arrays owned elsewhere (a mapped file), already validated.
  static std::shared_ptr<MihSegment> View(uint64_t begin, uint64_t end,
                                          std::array<Part, kMihParts> parts,
                                          std::span<const uint32_t> by_id);

  uint64_t begin() const { return begin_; }
  uint64_t end() const { return end_; }
  uint64_t entries() const { return parts_[0].entries.size(); }
  const Part& part(int p) const { return parts_[p]; }
  // Segment-relative slot offsets of the indexed slots, sorted by id (for lookups by id).
  std::span<const uint32_t> by_id() const { return by_id_; }

  // Appends the slots of this segment within r of q that are not removed or disabled. A slot
  // appears at most once. `scratch` is reused between calls.
  //
  // A slot near the query is usually a candidate in several parts. Few candidates are checked
  // in the order found (a repeat hits a cache line already read, and is reported only by its
  // first part); from `dedup_above` candidates on -- a query inside a cluster of near-copies, tens
  // of thousands of candidates, a quarter of them distinct -- each is marked in a bitmap of the
  // segment's slots first, so each distinct slot is read once (measured on the realistic 10M set
  // of `takedown-bench index`: a radix sort by slot cut p99 by 30%; the bitmap, which needs no
  // sort, cut the hit median by a further ~20%). A query far from any cluster has a few thousand
  // candidates, nearly all distinct: below 8,192 the bitmap's own reads cost more than they save
  // (misses 8-13% faster than with 2,048). The bitmap takes range/8 bytes per querying thread
  // (1.25 MB for a 10M segment), allocated on the first query that needs it.
  struct Scratch {
    std::vector<uint64_t> candidates;
    std::vector<MihProbe> probes;
    std::vector<uint64_t> seen;  // a bit per slot offset, all zero between queries
    std::vector<uint32_t> distinct;
    size_t dedup_above = kDefaultDedupAbove;
  };
  static constexpr size_t kDefaultDedupAbove = 8192;
  void Query(const Hash256& q, int r, const HashStore& store, const HammingKernels& k,
             Scratch* scratch, std::vector<SlotMatch>* out) const;

  // Estimated cost of Query at radius r, in entries examined; the caller compares it with a scan.
  double QueryCost(int r) const;

  // The slot holding `id` among this segment's indexed slots, or -1.
  int64_t FindId(uint64_t id, const HashStore& store) const;

  uint64_t HeapBytes() const;

 private:
  uint64_t begin_ = 0, end_ = 0;
  std::array<Part, kMihParts> parts_;
  std::span<const uint32_t> by_id_;
  std::vector<HugeVector<uint32_t>> owned_;  // backing arrays when built in memory
};

// Directory bits for a segment spanning `range` slots, for a part of `part_bits` bits.
int DirectoryBits(uint64_t range, int part_bits);

}  // namespace takedown::index
