#include "index/hash_index.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unordered_map>
#include <utility>

#include "core/thread.h"
#include "index/index_file.h"
#include "index/locality.h"
#include "index/radix_sort.h"

namespace takedown::index {

// A read-only mapping of an index file, unmapped when the index goes.
class HashIndex::Mapping {
 public:
  static Result<std::unique_ptr<Mapping>> Map(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return errno == ENOENT ? NotFound(fmt::format("{}: no such file", path))
                             : IoError(fmt::format("{}: {}", path, std::strerror(errno)));
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return InvalidArgument(fmt::format("{}: not a regular file", path));
    }
    auto m = std::unique_ptr<Mapping>(new Mapping());
    m->size_ = static_cast<uint64_t>(st.st_size);
    if (m->size_ > 0) {
      void* p = ::mmap(nullptr, m->size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        ::close(fd);
        return IoError(fmt::format("{}: mmap failed: {}", path, std::strerror(errno)));
      }
      m->data_ = static_cast<const uint8_t*>(p);
    }
    ::close(fd);
    return m;
  }
  ~Mapping() {
    if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
  }
  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }

 private:
  Mapping() = default;
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

HashIndex::HashIndex(Options options) : options_(options), kernels_(&BestKernels()) {
  snapshot_.store(std::make_shared<const Snapshot>());
}

std::unique_ptr<HashIndex> HashIndex::Create(Options options) {
  std::unique_ptr<HashIndex> idx(new HashIndex(options));
  if (options.background)
    idx->maintenance_ = std::thread([p = idx.get()] { p->MaintenanceLoop(); });
  return idx;
}

Result<std::unique_ptr<HashIndex>> HashIndex::Build(std::span<const Hash256> hashes,
                                                    std::span<const uint64_t> ids,
                                                    Options options) {
  if (hashes.size() != ids.size()) return InvalidArgument("hashes and ids differ in number");
  if (hashes.size() >= (uint64_t{1} << 32))
    return ResourceExhausted("more than 2^32 entries in one build");
  // Input positions in id order (ids given ascending, as a store's rows are, need no sort), for
  // the duplicate check and the segment's id order.
  HugeVector<uint32_t> by_input_id(ids.size());  // becomes the segment's id order: no copy
  for (size_t i = 0; i < ids.size(); ++i) by_input_id[i] = static_cast<uint32_t>(i);
  if (!std::is_sorted(ids.begin(), ids.end())) {
    std::vector<std::pair<uint64_t, uint32_t>> sorted(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) sorted[i] = {ids[i], static_cast<uint32_t>(i)};
    std::sort(sorted.begin(), sorted.end());
    for (size_t i = 0; i < sorted.size(); ++i) by_input_id[i] = sorted[i].second;
  }
  for (size_t k = 1; k < by_input_id.size(); ++k) {
    if (ids[by_input_id[k]] == ids[by_input_id[k - 1]]) {
      return InvalidArgument(fmt::format("duplicate id {} (entries {} and {})", ids[by_input_id[k]],
                                         std::min(by_input_id[k - 1], by_input_id[k]),
                                         std::max(by_input_id[k - 1], by_input_id[k])));
    }
  }
  const bool background = options.background;  // started below, after the first segment exists
  options.background = false;
  auto idx = Create(options);
  const std::vector<uint32_t> order = LocalityOrder(hashes);
  std::vector<uint32_t> slot_of(order.size());
  for (size_t s = 0; s < order.size(); ++s) {
    idx->store_.Append(hashes[order[s]], ids[order[s]]);
    slot_of[order[s]] = static_cast<uint32_t>(s);
  }
  // The segment's slots in id order, from the permutation (no second sort).
  for (auto& i : by_input_id) i = slot_of[i];
  auto snap = std::make_shared<Snapshot>();
  if (!hashes.empty())
    snap->segments.push_back(
        MihSegment::Build(idx->store_, 0, hashes.size(), std::move(by_input_id)));
  snap->tail_begin = hashes.size();
  idx->snapshot_.store(std::move(snap));
  idx->options_.background = background;
  if (background) idx->maintenance_ = std::thread([p = idx.get()] { p->MaintenanceLoop(); });
  return idx;
}

Result<std::unique_ptr<HashIndex>> HashIndex::Open(const std::string& path, Options options) {
  TD_ASSIGN_OR_RETURN(auto mapping, Mapping::Map(path));
  auto view = ValidateIndexFile(mapping->data(), mapping->size());
  if (!view.ok()) return view.status().WithContext(path);
  std::unique_ptr<HashIndex> idx(new HashIndex(options));
  idx->store_.SetFrozen(view->hashes, view->ids, view->states, view->count);
  auto snap = std::make_shared<Snapshot>();
  if (view->count > 0)
    snap->segments.push_back(MihSegment::View(0, view->count, view->parts, view->by_id));
  snap->tail_begin = view->count;
  idx->snapshot_.store(std::move(snap));
  idx->mapping_ = std::move(mapping);
  if (options.background)
    idx->maintenance_ = std::thread([p = idx.get()] { p->MaintenanceLoop(); });
  return idx;
}

HashIndex::~HashIndex() {
  {
    MutexLock lock(&write_mu_);
    stopping_ = true;
  }
  wake_.SignalAll();
  if (maintenance_.joinable()) maintenance_.join();
}

int64_t HashIndex::FindSlot(uint64_t id) const {
  const auto snap = snapshot();
  // The tail's ids are in a hash map (a scan of the tail cost more than the rest of an Add);
  // slots that a new segment now covers are dropped from it.
  if (snap->tail_begin > tail_pruned_at_) {
    std::erase_if(tail_slots_, [&](const auto& kv) { return kv.second < snap->tail_begin; });
    tail_pruned_at_ = snap->tail_begin;
  }
  // At most one slot per id is not removed (Add refuses a present id).
  if (auto it = tail_slots_.find(id);
      it != tail_slots_.end() && store_.state(it->second) != kRemoved) {
    return static_cast<int64_t>(it->second);
  }
  for (auto it = snap->segments.rbegin(); it != snap->segments.rend(); ++it) {
    const int64_t slot = (*it)->FindId(id, store_);
    if (slot >= 0 && store_.state(static_cast<uint64_t>(slot)) != kRemoved) return slot;
  }
  return -1;
}

Status HashIndex::Add(uint64_t id, const Hash256& hash) {
  if (!AddIfAbsent(id, hash))
    return InvalidArgument(fmt::format("id {} is already in the index", id));
  return Status::Ok();
}

bool HashIndex::AddIfAbsent(uint64_t id, const Hash256& hash) {
  bool wake = false;
  {
    MutexLock lock(&write_mu_);
    if (FindSlot(id) >= 0) return false;
    tail_slots_[id] = store_.Append(hash, id);
    wake = store_.size() - snapshot()->tail_begin >= options_.tail_limit;
  }
  if (wake) wake_.Signal();
  return true;
}

Status HashIndex::Remove(uint64_t id) {
  MutexLock lock(&write_mu_);
  const int64_t slot = FindSlot(id);
  if (slot < 0) return NotFound(fmt::format("id {} is not in the index", id));
  store_.SetState(static_cast<uint64_t>(slot), kRemoved);
  return Status::Ok();
}

Status HashIndex::SetEnabled(uint64_t id, bool enabled) {
  MutexLock lock(&write_mu_);
  const int64_t slot = FindSlot(id);
  if (slot < 0) return NotFound(fmt::format("id {} is not in the index", id));
  store_.SetState(static_cast<uint64_t>(slot), enabled ? kLive : kDisabled);
  return Status::Ok();
}

namespace {

// Scans [begin, end) with the kernel; appends live slots within r.
void ScanRange(const HashStore& store, const HammingKernels& k, uint64_t begin, uint64_t end,
               const Hash256& q, int r, std::vector<SlotMatch>* out) {
  thread_local std::vector<uint32_t> idx;
  thread_local std::vector<uint16_t> dist;
  store.ForEachRun(begin, end, [&](uint64_t first, std::span<const Hash256> run) {
    if (idx.size() < run.size()) {
      idx.resize(run.size());
      dist.resize(run.size());
    }
    const size_t n = k.within(q, run.data(), run.size(), r, idx.data(), dist.data());
    for (size_t i = 0; i < n; ++i) {
      const uint64_t slot = first + idx[i];
      if (store.state(slot) == kLive) out->push_back({slot, dist[i]});
    }
  });
}

// Cost of scanning `slots` slots in the units of MihSegment::QueryCost. Measured with
// `takedown-bench index-ops --size N` (its per-query tables): a QueryCost unit costs 0.6 ns at
// 100k hashes and ~0.95 ns at 1M (the pipelined directory reads and the SIMD filter are far
// cheaper than the ~4 ns a unit once assumed); one query's SIMD scan 0.6 ns a hash at 100k and
// 0.8-1.0 ns at 1M, a batched scan (each block read once for many queries) ~0.58 ns a hash and
// query. So a scanned slot is about one unit, a batched one 0.6. (With 0.25 a slot, a 100k bank
// at PDQ's radius 31 was scanned in 59 us instead of looked up in 15 us, and a 1M bank at radius
// 40-48 in 800-1,000 us instead of 220-510 us.)
double ScanCost(uint64_t slots) { return 1.0 * static_cast<double>(slots); }
double BatchedScanCost(uint64_t slots) { return 0.6 * static_cast<double>(slots); }

}  // namespace

void HashIndex::QueryInto(const Snapshot& snap, uint64_t size, const Hash256& q, int r,
                          QueryStrategy s, MihSegment::Scratch* scratch,
                          std::vector<SlotMatch>* out) const {
  if (r < 0) return;
  for (const auto& seg : snap.segments) {
    const bool scan =
        s == QueryStrategy::kScan ||
        (s == QueryStrategy::kAuto && seg->QueryCost(r) > ScanCost(seg->end() - seg->begin()));
    if (scan)
      ScanRange(store_, *kernels_, seg->begin(), seg->end(), q, r, out);
    else
      seg->Query(q, r, store_, *kernels_, scratch, out);
  }
  ScanRange(store_, *kernels_, snap.tail_begin, size, q, r, out);
}

std::vector<Match> HashIndex::ToMatches(std::vector<SlotMatch>& slots) const {
  // By distance, then id. A query inside a cluster has thousands of results: they are put in
  // order by an LSD radix sort -- by each byte in which their ids differ, then (stably) by
  // distance -- where comparison sorts of them were ~18% of such a query.
  const size_t n = slots.size();
  std::vector<Match> out(n);
  constexpr size_t kAhead = 16;
  for (size_t i = 0; i < std::min(n, kAhead); ++i) store_.PrefetchId(slots[i].slot);
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) store_.PrefetchId(slots[i + kAhead].slot);
    out[i] = {store_.id(slots[i].slot), slots[i].distance};
  }
  if (n <= 64) {
    std::sort(out.begin(), out.end(), [](const Match& a, const Match& b) {
      return a.distance != b.distance ? a.distance < b.distance : a.id < b.id;
    });
    return out;
  }
  uint64_t differ = 0;
  uint16_t max_distance = 0;
  for (const auto& m : out) {
    differ |= m.id ^ out[0].id;
    max_distance = std::max(max_distance, m.distance);
  }
  std::vector<Match> tmp;
  std::vector<uint32_t> count;
  for (int byte = 0; byte < 8; ++byte) {
    if (((differ >> (8 * byte)) & 0xff) == 0) continue;
    CountingSortPass(&out, &tmp, &count, 256,
                     [byte](const Match& m) { return (m.id >> (8 * byte)) & 0xff; });
  }
  CountingSortPass(&out, &tmp, &count, size_t{max_distance} + 1,
                   [](const Match& m) { return m.distance; });
  return out;
}

std::vector<Match> HashIndex::Query(const Hash256& q, int r, QueryStrategy s) const {
  thread_local MihSegment::Scratch scratch;
  scratch.dedup_above = options_.dedup_candidates_above;
  thread_local std::vector<SlotMatch> slots;
  slots.clear();
  const auto snap = snapshot();
  QueryInto(*snap, store_.size(), q, r, s, &scratch, &slots);
  return ToMatches(slots);
}

std::vector<std::vector<Match>> HashIndex::QueryBatch(std::span<const Hash256> qs, int r,
                                                      int threads, QueryStrategy s) const {
  std::vector<std::vector<Match>> results(qs.size());
  const auto snap = snapshot();
  const uint64_t size = store_.size();
  if (s == QueryStrategy::kAuto && qs.size() >= 16) {
    // Many queries at a large radius: one batched scan beats per-query lookups.
    double index_cost = 0;
    for (const auto& seg : snap->segments) index_cost += seg->QueryCost(r);
    if (index_cost > BatchedScanCost(size)) s = QueryStrategy::kScan;
  }
  threads = std::max(1, std::min<int>(threads, static_cast<int>(qs.size())));
  auto run = [&](size_t q0, size_t q1) {
    if (s == QueryStrategy::kScan) {
      // Batched scan: each block of stored hashes is read once for all of this thread's queries.
      std::vector<PairMatch> pairs;
      std::vector<std::vector<SlotMatch>> per(q1 - q0);
      store_.ForEachRun(0, size, [&](uint64_t first, std::span<const Hash256> run_hashes) {
        pairs.clear();
        kernels_->within_batch(qs.data() + q0, q1 - q0, run_hashes.data(), run_hashes.size(), r,
                               &pairs);
        for (const auto& p : pairs) {
          const uint64_t slot = first + p.index;
          if (store_.state(slot) == kLive) per[p.query].push_back({slot, p.distance});
        }
      });
      for (size_t i = q0; i < q1; ++i) results[i] = ToMatches(per[i - q0]);
      return;
    }
    MihSegment::Scratch scratch;
    scratch.dedup_above = options_.dedup_candidates_above;
    std::vector<SlotMatch> slots;
    for (size_t i = q0; i < q1; ++i) {
      slots.clear();
      QueryInto(*snap, size, qs[i], r, s, &scratch, &slots);
      results[i] = ToMatches(slots);
    }
  };
  if (threads == 1) {
    run(0, qs.size());
    return results;
  }
  std::vector<std::thread> pool;
  const size_t per = (qs.size() + static_cast<size_t>(threads) - 1) / static_cast<size_t>(threads);
  for (int t = 0; t < threads; ++t) {
    const size_t q0 = std::min(qs.size(), per * static_cast<size_t>(t));
    const size_t q1 = std::min(qs.size(), q0 + per);
    if (q0 < q1) pool.emplace_back(run, q0, q1);
  }
  for (auto& t : pool) t.join();
  return results;
}

Status HashIndex::Save(const std::string& path) const {
  // Compact: live and disabled entries, renumbered, as one segment, in the order Build uses.
  const uint64_t size = store_.size();
  std::vector<uint64_t> kept;
  std::vector<Hash256> hashes;
  for (uint64_t s = 0; s < size; ++s) {
    if (store_.state(s) == kRemoved) continue;
    kept.push_back(s);
    hashes.push_back(store_.hash(s));
  }
  HashStore compact;
  for (uint32_t i : LocalityOrder(hashes))
    compact.Append(hashes[i], store_.id(kept[i]), store_.state(kept[i]));
  const auto seg = MihSegment::Build(compact, 0, compact.size());
  return WriteIndexFile(path, compact, *seg);
}

bool HashIndex::MaintainOnce() {
  MutexLock maintain(&maintain_mu_);
  const auto snap = snapshot();
  const uint64_t size = store_.size();
  std::shared_ptr<Snapshot> next;
  if (size - snap->tail_begin >= options_.tail_limit) {
    auto seg = MihSegment::Build(store_, snap->tail_begin, size);
    next = std::make_shared<Snapshot>(*snap);
    next->segments.push_back(std::move(seg));
    next->tail_begin = size;
  } else {
    const auto& segs = snap->segments;
    const size_t n = segs.size();
    if (n < 2) return false;
    const uint64_t older = segs[n - 2]->end() - segs[n - 2]->begin();
    const uint64_t newer = segs[n - 1]->end() - segs[n - 1]->begin();
    if (older > 2 * newer) return false;
    auto merged = MihSegment::Build(store_, segs[n - 2]->begin(), segs[n - 1]->end());
    next = std::make_shared<Snapshot>(*snap);
    next->segments.pop_back();
    next->segments.back() = std::move(merged);
  }
  MutexLock lock(&write_mu_);
  snapshot_.store(std::move(next), std::memory_order_release);
  return true;
}

void HashIndex::Maintain() {
  while (MaintainOnce()) {
  }
}

void HashIndex::WaitForMaintenance() {
  // Index whatever tail remains, however short.
  MutexLock maintain(&maintain_mu_);
  const auto snap = snapshot();
  const uint64_t size = store_.size();
  if (size > snap->tail_begin) {
    auto next = std::make_shared<Snapshot>(*snap);
    next->segments.push_back(MihSegment::Build(store_, snap->tail_begin, size));
    next->tail_begin = size;
    MutexLock lock(&write_mu_);
    snapshot_.store(std::move(next), std::memory_order_release);
  }
}

void HashIndex::MaintenanceLoop() {
  LowerThisThreadPriority();
  for (;;) {
    {
      MutexLock lock(&write_mu_);
      while (!stopping_ && store_.size() - snapshot()->tail_begin < options_.tail_limit)
        wake_.Wait(&write_mu_);
      if (stopping_) return;
    }
    Maintain();
  }
}

IndexStats HashIndex::Stats() const {
  IndexStats st;
  const auto snap = snapshot();
  st.slots = store_.size();
  for (uint64_t s = 0; s < st.slots; ++s) st.entries += store_.state(s) != kRemoved ? 1 : 0;
  st.segments = snap->segments.size();
  st.tail = st.slots - snap->tail_begin;
  st.memory_bytes = store_.HeapBytes() + (mapping_ ? mapping_->size() : 0);
  for (const auto& seg : snap->segments) st.memory_bytes += seg->HeapBytes();
  st.kernels = kernels_->name;
  return st;
}

}  // namespace takedown::index
