#include "index/mih.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <mutex>
#include <span>
#include <utility>

#include "index/huge_pages.h"

namespace takedown::index {

uint32_t PartValue(const Hash256& h, int p) {
  const int start = PartStart(p), len = PartBits(p);
  const int w = start >> 6, sh = start & 63;
  uint64_t v = h.words[w] >> sh;
  if (sh + len > 64) v |= h.words[w + 1] << (64 - sh);
  return static_cast<uint32_t>(v & ((uint64_t{1} << len) - 1));
}

std::array<int, kMihParts> PartThresholds(int r) {
  std::array<int, kMihParts> t{};
  const int total = r + 1;  // sum of (t_p + 1)
  for (int p = 0; p < kMihParts; ++p) {
    // Spread total as evenly as possible; the longer parts (first three) get the extra units.
    t[p] = total / kMihParts + (p < total % kMihParts ? 1 : 0) - 1;
  }
  return t;
}

int DirectoryBits(uint64_t range, int part_bits) {
  const int log2 = range <= 1 ? 0 : 64 - std::countl_zero(range - 1);
  return std::clamp(log2 - 5, std::min(8, part_bits), part_bits);
}

std::shared_ptr<MihSegment> MihSegment::Build(const HashStore& store, uint64_t begin, uint64_t end,
                                              HugeVector<uint32_t> given_by_id, int low_bits) {
  auto seg = std::make_shared<MihSegment>();
  seg->begin_ = begin;
  seg->end_ = end;
  const uint64_t range = end - begin;
  std::vector<uint32_t> live;
  live.reserve(range);
  for (uint64_t o = 0; o < range; ++o) {
    if (store.state(begin + o) != kRemoved) live.push_back(static_cast<uint32_t>(o));
  }
  seg->owned_.resize(2 * kMihParts + 1);
  for (int p = 0; p < kMihParts; ++p) {
    const int bits = PartBits(p);
    const int b = low_bits >= 0 ? bits - std::min(low_bits, bits) : DirectoryBits(range, bits);
    const int low = bits - b;
    const uint32_t low_mask = (uint32_t{1} << low) - 1;
    const size_t buckets = size_t{1} << b;
    auto& dir = seg->owned_[2 * p];
    auto& ent = seg->owned_[2 * p + 1];
    dir.assign(2 * (buckets + 1), 0u);
    for (uint32_t o : live) ++dir[2 * ((PartValue(store.hash(begin + o), p) >> low) + 1)];
    for (size_t i = 1; i <= buckets; ++i) dir[2 * i] += dir[2 * (i - 1)];
    ent.assign(live.size(), 0u);
    std::vector<uint32_t> fill(buckets);
    for (size_t i = 0; i < buckets; ++i) fill[i] = dir[2 * i];
    for (uint32_t o : live) {
      const uint32_t v = PartValue(store.hash(begin + o), p);
      ent[fill[v >> low]++] = (o << low) | (v & low_mask);
      dir[2 * (v >> low) + 1] |= PresenceBit(v & low_mask, low);
    }
    seg->parts_[p] = {b, dir, ent};
  }
  auto& by_id = seg->owned_[2 * kMihParts];
  if (!given_by_id.empty() && given_by_id.size() == live.size()) {
    by_id = std::move(given_by_id);
  } else {
    // Sorted as (id, offset) pairs: a comparator reading ids through the store cost seconds at
    // 10M once slots stopped being in id order (HashIndex::Build orders them by hash).
    std::vector<std::pair<uint64_t, uint32_t>> keyed(live.size());
    for (size_t i = 0; i < live.size(); ++i) keyed[i] = {store.id(begin + live[i]), live[i]};
    std::sort(keyed.begin(), keyed.end());
    by_id.resize(live.size());
    for (size_t i = 0; i < keyed.size(); ++i) by_id[i] = keyed[i].second;
  }
  seg->by_id_ = by_id;
  return seg;
}

std::shared_ptr<MihSegment> MihSegment::View(uint64_t begin, uint64_t end,
                                             std::array<Part, kMihParts> parts,
                                             std::span<const uint32_t> by_id) {
  auto seg = std::make_shared<MihSegment>();
  seg->begin_ = begin;
  seg->end_ = end;
  seg->parts_ = parts;
  seg->by_id_ = by_id;
  return seg;
}

namespace {

// Calls fn(mask) for every mask of up to `max_flips` set bits among the low `bits` bits, fewest
// first (Gosper's hack within each popcount).
template <typename Fn>
void ForEachFlipMask(int bits, int max_flips, Fn&& fn) {
  fn(0u, 0);
  for (int k = 1; k <= max_flips && k <= bits; ++k) {
    const uint32_t limit = bits >= 32 ? 0xffffffffu : (uint32_t{1} << bits);
    uint32_t m = (uint32_t{1} << k) - 1;
    while (m < limit) {
      fn(m, k);
      const uint32_t c = m & (0u - m);
      const uint32_t r = m + c;
      if (r == 0) break;
      m = (((r ^ m) >> 2) / c) | r;
    }
  }
}

// The masks of ForEachFlipMask for up to 3 flips, computed once: enumerating them with Gosper's
// hack costs an integer division a mask, ~1,900 a query at 10M.
struct FlipMask {
  uint32_t mask;
  uint8_t flips;
};
constexpr int kCachedFlips = 3;

std::span<const FlipMask> CachedFlipMasks(int bits, int max_flips) {
  static std::array<std::array<std::vector<FlipMask>, kCachedFlips + 1>, 33> cache;
  static std::array<std::array<std::once_flag, kCachedFlips + 1>, 33> once;
  std::call_once(once[bits][max_flips], [&] {
    ForEachFlipMask(bits, max_flips, [&](uint32_t m, int k) {
      cache[bits][max_flips].push_back({m, static_cast<uint8_t>(k)});
    });
  });
  return cache[bits][max_flips];
}

double Binomial(int n, int k) {
  double c = 1;
  for (int i = 1; i <= k; ++i) c = c * (n - k + i) / i;
  return c;
}

}  // namespace

namespace {

// Reads the probed buckets and collects candidate slots; each bucket's entries go through the
// kernel's filter (16 at a time with AVX-512). Software-pipelined: while bucket i is filtered,
// the entries of bucket i + kAhead and the directory slot of bucket i + 2 kAhead are being
// fetched, so about kAhead cache misses are in flight at each stage instead of one (or
// thousands, which the core would drop).
constexpr size_t kAhead = 16;

void CollectCandidates(const std::array<MihSegment::Part, kMihParts>& parts, MihProbe* probes,
                       size_t n, const uint32_t* qlow, uint64_t begin, const HammingKernels& k,
                       std::vector<uint64_t>* cand) {
  // need[p][b]: the presence bits a bucket of part p must share for a probe with b flips left
  // for the low bits (0: the query's own; 1: it and its one-bit neighbours; 2 or more: any).
  uint32_t need[kMihParts][3];
  for (int p = 0; p < kMihParts; ++p) {
    const int low = PartBits(p) - parts[p].dir_bits;
    const int hb = PresenceBits(low);
    const uint32_t v = qlow[p] >> (low - hb);
    need[p][0] = need[p][1] = uint32_t{1} << v;
    for (int j = 0; j < hb; ++j) need[p][1] |= uint32_t{1} << (v ^ (1u << j));
    need[p][2] = ~uint32_t{0};
  }
  auto dir_of = [&](size_t i) {
    return parts[probes[i].part].directory.data() + 2 * size_t{probes[i].top};
  };
  auto resolve = [&](size_t i) {
    MihProbe& pr = probes[i];
    const uint32_t* d = dir_of(i);
    pr.e0 = d[0];
    pr.e1 = (d[1] & need[pr.part][std::min<int>(pr.budget, 2)]) != 0 ? d[2] : d[0];
    const auto* first = reinterpret_cast<const char*>(parts[pr.part].entries.data() + pr.e0);
    const auto* last = reinterpret_cast<const char*>(parts[pr.part].entries.data() + pr.e1);
    for (const char* p = first; p < last; p += 64) __builtin_prefetch(p);
  };
  for (size_t i = 0; i < std::min(n, 2 * kAhead); ++i) __builtin_prefetch(dir_of(i));
  for (size_t i = 0; i < std::min(n, kAhead); ++i) resolve(i);
  size_t size = cand->size();
  for (size_t i = 0; i < n; ++i) {
    if (i + 2 * kAhead < n) __builtin_prefetch(dir_of(i + 2 * kAhead));
    if (i + kAhead < n) resolve(i + kAhead);
    const MihProbe& pr = probes[i];
    const uint32_t len = pr.e1 - pr.e0;
    if (len == 0) continue;
    const int low = PartBits(pr.part) - parts[pr.part].dir_bits;
    if (cand->size() < size + len + 16)
      cand->resize(std::max<size_t>(2 * cand->size(), size + len + 16));
    // Slots < 2^32: the part rides in the low 4 bits of a candidate.
    size +=
        k.filter_entries(parts[pr.part].entries.data() + pr.e0, len, (uint32_t{1} << low) - 1, low,
                         qlow[pr.part], pr.budget, (begin << 4) | pr.part, cand->data() + size);
  }
  cand->resize(size);
}

// Checks each candidate's whole distance. A hash within r is usually close in several parts and
// so was collected once per part: it is reported only by the first part whose threshold it
// meets, which leaves every match exactly once without sorting.
__attribute__((target_clones("popcnt", "default"))) void Verify(
    const std::vector<uint64_t>& cand, const Hash256& q, int r,
    const std::array<int, kMihParts>& thresholds, const HashStore& store,
    std::vector<SlotMatch>* out) {
  const size_t n = cand.size();
  for (size_t i = 0; i < std::min(n, kAhead); ++i) store.PrefetchHash(cand[i] >> 4);
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) store.PrefetchHash(cand[i + kAhead] >> 4);
    const uint64_t c = cand[i];
    const uint64_t slot = c >> 4;
    const int part = static_cast<int>(c & 15);
    const Hash256& h = store.hash(slot);
    Hash256 x;
    int d = 0;
    for (int w = 0; w < 4; ++w) {
      x.words[w] = q.words[w] ^ h.words[w];
      d += __builtin_popcountll(x.words[w]);
    }
    if (d > r) continue;
    bool earlier = false;
    for (int p = 0; p < part && !earlier; ++p) {
      earlier = thresholds[p] >= 0 && __builtin_popcount(PartValue(x, p)) <= thresholds[p];
    }
    if (!earlier && store.state(slot) == kLive) out->push_back({slot, static_cast<uint16_t>(d)});
  }
}

// The deduplicating path (see Scratch): each candidate's segment offset is marked in a bitmap
// of the segment's range; only the first sighting of a slot is kept and checked, its hash
// fetched ahead. The bits set are cleared again from the list of distinct offsets, so the
// bitmap is all zero between queries and costs nothing to reuse.
__attribute__((target_clones("popcnt", "default"))) void VerifyDistinct(
    const std::vector<uint64_t>& cand, uint64_t begin, uint64_t range, const Hash256& q, int r,
    const HashStore& store, MihSegment::Scratch* s, std::vector<SlotMatch>* out) {
  const size_t n = cand.size();
  auto& seen = s->seen;
  if (seen.size() < (range + 63) / 64) seen.resize((range + 63) / 64, 0);
  auto& distinct = s->distinct;
  distinct.resize(n);
  size_t m = 0;
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n)
      __builtin_prefetch(&seen[static_cast<uint32_t>((cand[i + kAhead] >> 4) - begin) >> 6]);
    const auto off = static_cast<uint32_t>((cand[i] >> 4) - begin);
    const uint64_t bit = uint64_t{1} << (off & 63);
    uint64_t& word = seen[off >> 6];
    distinct[m] = off;
    m += (word & bit) == 0;
    word |= bit;
  }
  for (size_t i = 0; i < std::min(m, kAhead); ++i) store.PrefetchHash(begin + distinct[i]);
  for (size_t i = 0; i < m; ++i) {
    if (i + kAhead < m) store.PrefetchHash(begin + distinct[i + kAhead]);
    const uint64_t slot = begin + distinct[i];
    seen[distinct[i] >> 6] = 0;
    const Hash256& h = store.hash(slot);
    int d = 0;
    for (int w = 0; w < 4; ++w) d += __builtin_popcountll(q.words[w] ^ h.words[w]);
    if (d <= r && store.state(slot) == kLive) out->push_back({slot, static_cast<uint16_t>(d)});
  }
}

}  // namespace

void MihSegment::Query(const Hash256& q, int r, const HashStore& store, const HammingKernels& k,
                       Scratch* scratch, std::vector<SlotMatch>* out) const {
  if (r < 0 || entries() == 0) return;
  const auto thresholds = PartThresholds(r);
  auto& probes = scratch->probes;
  probes.clear();
  uint32_t qlow[kMihParts] = {};
  for (int p = 0; p < kMihParts; ++p) {
    const int t = thresholds[p];
    if (t < 0) continue;
    const Part& part = parts_[p];
    const int low = PartBits(p) - part.dir_bits;
    const uint32_t qv = PartValue(q, p);
    const uint32_t qtop = qv >> low;
    qlow[p] = qv & ((uint32_t{1} << low) - 1);
    auto probe = [&](uint32_t mask, int flips) {
      probes.push_back(
          {qtop ^ mask, static_cast<uint8_t>(p), static_cast<uint8_t>(t - flips), 0, 0});
    };
    if (t <= kCachedFlips) {
      for (const FlipMask& m : CachedFlipMasks(part.dir_bits, t)) probe(m.mask, m.flips);
    } else {
      ForEachFlipMask(part.dir_bits, t, probe);
    }
  }
  auto& cand = scratch->candidates;
  cand.clear();
  CollectCandidates(parts_, probes.data(), probes.size(), qlow, begin_, k, &cand);
  if (cand.size() > scratch->dedup_above) {
    VerifyDistinct(cand, begin_, end_ - begin_, q, r, store, scratch, out);
  } else {
    Verify(cand, q, r, thresholds, store, out);
  }
}

double MihSegment::QueryCost(int r) const {
  if (r < 0) return 0;
  const auto thresholds = PartThresholds(r);
  double cost = 0;
  for (int p = 0; p < kMihParts; ++p) {
    if (thresholds[p] < 0) continue;
    const Part& part = parts_[p];
    const double per_bucket =
        static_cast<double>(part.entries.size()) / std::ldexp(1.0, part.dir_bits);
    double buckets = 0;
    for (int f = 0; f <= thresholds[p] && f <= part.dir_bits; ++f)
      buckets += Binomial(part.dir_bits, f);
    cost += buckets * (8.0 + per_bucket);  // a directory miss is worth ~8 sequential entries
  }
  return cost;
}

int64_t MihSegment::FindId(uint64_t id, const HashStore& store) const {
  auto it = std::lower_bound(by_id_.begin(), by_id_.end(), id,
                             [&](uint32_t o, uint64_t v) { return store.id(begin_ + o) < v; });
  if (it == by_id_.end() || store.id(begin_ + *it) != id) return -1;
  return static_cast<int64_t>(begin_ + *it);
}

uint64_t MihSegment::HeapBytes() const {
  uint64_t b = 0;
  for (const auto& v : owned_) b += v.capacity() * sizeof(uint32_t);
  return b;
}

}  // namespace takedown::index
