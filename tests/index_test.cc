// The hash index against brute force, its SIMD kernels against the scalar reference, live
// updates under concurrent queries, and saved files that are corrupt, truncated or hostile.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "index/hamming.h"
#include "index/hash_index.h"
#include "index/huge_pages.h"
#include "index/index_file.h"
#include "index/locality.h"
#include "index/mih.h"
#include "support/synthetic.h"

namespace takedown::index {
namespace {

Hash256 RandomHash(std::mt19937_64& rng) {
  Hash256 h;
  for (auto& w : h.words) w = rng();
  return h;
}

Hash256 FlipBits(Hash256 h, int k, std::mt19937_64& rng) {
  std::set<int> bits;
  while (static_cast<int>(bits.size()) < k) bits.insert(static_cast<int>(rng() % 256));
  for (int b : bits) h.words[b >> 6] ^= uint64_t{1} << (b & 63);
  return h;
}

std::vector<Match> BruteForce(const std::vector<Hash256>& hs, const std::vector<uint64_t>& ids,
                              const std::set<uint64_t>& gone, const Hash256& q, int r) {
  std::vector<Match> out;
  for (size_t i = 0; i < hs.size(); ++i) {
    if (gone.count(ids[i])) continue;
    const int d = hash::Distance(q, hs[i]);
    if (d <= r) out.push_back({ids[i], static_cast<uint16_t>(d)});
  }
  std::sort(out.begin(), out.end(), [](const Match& a, const Match& b) {
    return a.distance != b.distance ? a.distance < b.distance : a.id < b.id;
  });
  return out;
}

TEST(Hamming, EveryKernelAgreesWithScalarBitForBit) {
  std::mt19937_64 rng(1);
  std::vector<Hash256> hs(1003);
  for (auto& h : hs) h = RandomHash(rng);
  for (size_t i = 0; i < 50; ++i) hs[i * 7] = FlipBits(hs[0], static_cast<int>(i), rng);
  const auto& ref = ScalarKernels();
  const auto kernels = AvailableKernels();
  std::printf("kernels on this CPU:");
  for (const auto* k : kernels) std::printf(" %s", k->name);
  std::printf(" (best: %s)\n", BestKernels().name);
  for (const auto* k : kernels) {
    for (size_t n : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{9}, size_t{1003}}) {
      std::vector<uint16_t> a(n), b(n);
      ref.distances(hs[0], hs.data(), n, a.data());
      k->distances(hs[0], hs.data(), n, b.data());
      EXPECT_EQ(a, b) << k->name << " n=" << n;
      for (int r : {0, 5, 31, 128, 256}) {
        std::vector<uint32_t> ia(n + 1), ib(n + 1);
        std::vector<uint16_t> da(n + 1), db(n + 1);
        const size_t ca = ref.within(hs[0], hs.data(), n, r, ia.data(), da.data());
        const size_t cb = k->within(hs[0], hs.data(), n, r, ib.data(), db.data());
        ASSERT_EQ(ca, cb) << k->name << " r=" << r;
        ia.resize(ca), ib.resize(cb), da.resize(ca), db.resize(cb);
        EXPECT_EQ(ia, ib) << k->name;
        EXPECT_EQ(da, db) << k->name;
      }
    }
    for (size_t i = 0; i < hs.size(); ++i)
      EXPECT_EQ(k->distance(hs[0], hs[i]), ref.distance(hs[0], hs[i]));
    // The multi-index bucket filter, at every length around the vector widths, shift and budget.
    std::vector<uint32_t> entries(200);
    for (auto& e : entries) e = static_cast<uint32_t>(rng());
    for (size_t n :
         {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{17}, size_t{33}, size_t{200}}) {
      for (int shift : {0, 7, 8, 15}) {
        for (int budget : {0, 1, 2, 3}) {
          const uint32_t mask = (uint32_t{1} << shift) - 1;
          const uint32_t q = static_cast<uint32_t>(rng()) & mask;
          std::vector<uint64_t> fa(n + 16), fb(n + 16);
          const size_t ca =
              ref.filter_entries(entries.data(), n, mask, shift, q, budget, 0x1230, fa.data());
          const size_t cb =
              k->filter_entries(entries.data(), n, mask, shift, q, budget, 0x1230, fb.data());
          ASSERT_EQ(ca, cb) << k->name << " n=" << n << " shift=" << shift << " budget=" << budget;
          fa.resize(ca), fb.resize(cb);
          EXPECT_EQ(fa, fb) << k->name;
          size_t want = 0;  // the definition, independently of the reference kernel
          for (size_t j = 0; j < n; ++j)
            want += __builtin_popcount((entries[j] & mask) ^ q) <= budget ? 1 : 0;
          EXPECT_EQ(ca, want);
        }
      }
    }
    std::vector<PairMatch> pa, pb;
    ref.within_batch(hs.data(), 60, hs.data(), hs.size(), 40, &pa);
    k->within_batch(hs.data(), 60, hs.data(), hs.size(), 40, &pb);
    ASSERT_EQ(pa.size(), pb.size()) << k->name;
    for (size_t i = 0; i < pa.size(); ++i) {
      EXPECT_TRUE(pa[i].query == pb[i].query && pa[i].index == pb[i].index &&
                  pa[i].distance == pb[i].distance);
    }
  }
}

TEST(Mih, PartsCoverEveryBitOnce) {
  int covered = 0;
  for (int p = 0; p < kMihParts; ++p) {
    EXPECT_EQ(PartStart(p), covered);
    covered += PartBits(p);
  }
  EXPECT_EQ(covered, 256);
  Hash256 h;
  h.set_bit(71);  // last bit of part 2
  EXPECT_EQ(PartValue(h, 2), 1u << 23);
  h.set_bit(72);  // first bit of part 3
  EXPECT_EQ(PartValue(h, 3), 1u);
}

TEST(Mih, ThresholdsSatisfyThePigeonhole) {
  for (int r = 0; r <= 256; ++r) {
    int sum = 0;
    for (int t : PartThresholds(r)) sum += t + 1;
    EXPECT_EQ(sum, r + 1) << r;
  }
  const auto t31 = PartThresholds(31);
  EXPECT_EQ(std::count(t31.begin(), t31.end(), 2), 10);
}

struct Dataset {
  std::vector<Hash256> hashes;
  std::vector<uint64_t> ids;
};

// Uniform random hashes plus planted clusters, duplicates and adversarial shapes.
Dataset MakeDataset(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Dataset d;
  for (size_t i = 0; i < n; ++i) {
    Hash256 h;
    switch (i % 10) {
      case 0:
        h = d.hashes.empty() ? RandomHash(rng)
                             : FlipBits(d.hashes[rng() % d.hashes.size()], 1 + rng() % 40, rng);
        break;
      case 1:
        h = i >= 10 ? d.hashes[i - 10] : RandomHash(rng);
        break;   // exact duplicates
      case 2: {  // differs from a neighbour in one part only (all flips inside part 5)
        h = i >= 10 ? d.hashes[i - 10] : RandomHash(rng);
        for (int b = 0; b < 10; ++b) {
          const int bit = PartStart(5) + static_cast<int>(rng() % PartBits(5));
          h.words[bit >> 6] ^= uint64_t{1} << (bit & 63);
        }
        break;
      }
      case 3:
        h = Hash256{};
        if (i % 20 == 3) h = FlipBits(h, static_cast<int>(rng() % 33), rng);
        break;
      default:
        h = RandomHash(rng);
    }
    d.hashes.push_back(h);
    d.ids.push_back(i * 3 + 1000);  // not dense, not slot numbers
  }
  return d;
}

TEST(Mih, PresenceMasksNeverHideAMatchAtAnyDirectoryWidth) {
  // Ten million slots give parts 4-5 low bits (a presence mask of every low value); a few
  // thousand give 15-16 (a mask of their top 5 bits). Both, and widths between, against brute
  // force, with queries near clusters, exact copies and far from everything.
  const Dataset d = MakeDataset(3000, 31);
  HashStore store;
  for (size_t i = 0; i < d.hashes.size(); ++i) store.Append(d.hashes[i], d.ids[i]);
  const std::set<uint64_t> none;
  std::mt19937_64 rng(5);
  for (int low : {0, 1, 3, 4, 5, 7, 12}) {
    const auto seg = MihSegment::Build(store, 0, store.size(), {}, low);
    for (int p = 0; p < kMihParts; ++p) ASSERT_EQ(seg->part(p).dir_bits, PartBits(p) - low);
    MihSegment::Scratch scratch;
    for (int trial = 0; trial < 60; ++trial) {
      const int r = trial % 3 == 0 ? 31 : static_cast<int>(rng() % 40);
      const Hash256 q = trial % 7 == 0 ? RandomHash(rng)
                                       : FlipBits(d.hashes[rng() % d.hashes.size()],
                                                  static_cast<int>(rng() % 20), rng);
      std::vector<SlotMatch> got;
      seg->Query(q, r, store, BestKernels(), &scratch, &got);
      std::vector<Match> matches;
      for (const auto& m : got) matches.push_back({store.id(m.slot), m.distance});
      std::sort(matches.begin(), matches.end(), [](const Match& a, const Match& b) {
        return a.distance != b.distance ? a.distance < b.distance : a.id < b.id;
      });
      ASSERT_EQ(matches, BruteForce(d.hashes, d.ids, none, q, r))
          << "low bits " << low << ", trial " << trial;
    }
  }
}

// Each way of checking multi-index candidates: in the order found, deduplicated through the
// bitmap (every query), and the default switch between them.
const size_t kDedupSettings[] = {SIZE_MAX, 0, HashIndex::Options{}.dedup_candidates_above};

TEST(HugePages, LargeArraysStartOnAHugePageBoundary) {
  // Only whole 2 MiB pages can be huge pages: a large array must start on one.
  HugeVector<uint32_t> big((size_t{3} << 20) / sizeof(uint32_t), 7u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(big.data()) % kHugePage, 0u);
  EXPECT_EQ(big.back(), 7u);
  big.assign(size_t{5} << 20, 1u);  // regrown: still aligned
  EXPECT_EQ(reinterpret_cast<uintptr_t>(big.data()) % kHugePage, 0u);
  HugeVector<uint32_t> small(10, 3u);
  EXPECT_EQ(small[9], 3u);
}

TEST(Locality, ClustersOfNearCopiesAreLaidOutTogether) {
  // 40 clusters of 150 copies (0-10 bits from their centre) among 20,000 unrelated hashes, all
  // shuffled. Unrelated hashes share 32-bit words by chance too, so some are made to share one
  // with a cluster member: the distance check must keep them out.
  std::mt19937_64 rng(11);
  std::vector<Hash256> hs;
  std::vector<int> cluster;  // -1: unrelated
  for (int c = 0; c < 40; ++c) {
    const Hash256 centre = RandomHash(rng);
    for (int k = 0; k < 150; ++k) {
      hs.push_back(FlipBits(centre, static_cast<int>(rng() % 11), rng));
      cluster.push_back(c);
    }
  }
  const size_t members = hs.size();
  for (int i = 0; i < 20000; ++i) {
    Hash256 h = RandomHash(rng);
    if (i % 100 == 0) h.words[0] = hs[rng() % members].words[0];  // a shared word, far otherwise
    hs.push_back(h);
    cluster.push_back(-1);
  }
  std::vector<size_t> perm(hs.size());
  for (size_t i = 0; i < perm.size(); ++i) perm[i] = i;
  std::shuffle(perm.begin(), perm.end(), rng);
  std::vector<Hash256> shuffled;
  std::vector<int> shuffled_cluster;
  for (size_t i : perm) {
    shuffled.push_back(hs[i]);
    shuffled_cluster.push_back(cluster[i]);
  }
  const std::vector<uint32_t> order = LocalityOrder(shuffled);
  ASSERT_EQ(order.size(), shuffled.size());
  std::vector<bool> used(order.size());
  for (uint32_t i : order) {
    ASSERT_LT(i, used.size());
    ASSERT_FALSE(used[i]) << "position " << i << " twice";
    used[i] = true;
  }
  // Each cluster occupies one run of consecutive slots, with nothing else inside it.
  std::vector<size_t> first(40, order.size()), last(40, 0);
  for (size_t s = 0; s < order.size(); ++s) {
    const int c = shuffled_cluster[order[s]];
    if (c < 0) continue;
    first[c] = std::min(first[c], s);
    last[c] = std::max(last[c], s);
  }
  for (int c = 0; c < 40; ++c)
    EXPECT_EQ(last[c] - first[c] + 1, 150u) << "cluster " << c << " is split";
  // Unrelated hashes keep the order of their part 0.
  uint32_t prev = 0;
  for (uint32_t i : order) {
    if (shuffled_cluster[i] >= 0) continue;
    const uint32_t v = PartValue(shuffled[i], 0);
    EXPECT_LE(prev, v);
    prev = v;
  }
}

TEST(HashIndex, BuildMatchesBruteForceAtEveryRadiusAndStrategy) {
  const Dataset d = MakeDataset(5000, 7);
  for (size_t dedup_above : kDedupSettings) {
    HashIndex::Options opts;
    opts.dedup_candidates_above = dedup_above;
    auto idx = HashIndex::Build(d.hashes, d.ids, opts);
    ASSERT_TRUE(idx.ok());
    std::mt19937_64 rng(9);
    for (int trial = 0; trial < 60; ++trial) {
      const Hash256 q = trial % 3 == 0
                            ? RandomHash(rng)
                            : FlipBits(d.hashes[rng() % d.hashes.size()], trial % 35, rng);
      for (int r : {0, 1, 5, 10, 31, 32, 45, 64, 100, 256}) {
        const auto want = BruteForce(d.hashes, d.ids, {}, q, r);
        for (auto s : {QueryStrategy::kAuto, QueryStrategy::kIndex, QueryStrategy::kScan}) {
          EXPECT_EQ((*idx)->Query(q, r, s), want)
              << "trial " << trial << " r=" << r << " s=" << static_cast<int>(s)
              << " dedup_above=" << dedup_above;
        }
      }
    }
    EXPECT_TRUE((*idx)->Query(d.hashes[0], -1).empty());
  }
}

// A cluster of thousands of near-copies (the case the deduplicating path is for), and some removed
// and disabled among them, in segments of several sizes (live adds, then maintenance).
TEST(HashIndex, LargeClustersMatchBruteForceOnBothCheckingPaths) {
  std::mt19937_64 rng(21);
  const Hash256 centre = RandomHash(rng);
  Dataset d;
  for (size_t i = 0; i < 12000; ++i) {
    d.hashes.push_back(i % 4 == 0 ? RandomHash(rng)
                                  : FlipBits(centre, static_cast<int>(rng() % 40), rng));
    d.ids.push_back(i * 7 + 3);
  }
  for (size_t dedup_above : kDedupSettings) {
    HashIndex::Options opts;
    opts.dedup_candidates_above = dedup_above;
    opts.background = false;
    opts.tail_limit = 1500;
    auto idx =
        HashIndex::Build(std::span(d.hashes).first(6000), std::span(d.ids).first(6000), opts);
    ASSERT_TRUE(idx.ok());
    for (size_t i = 6000; i < d.hashes.size(); ++i) {
      ASSERT_TRUE((*idx)->Add(d.ids[i], d.hashes[i]).ok());
      if (i % 1000 == 0) (*idx)->Maintain();
    }
    std::set<uint64_t> gone;  // removed or disabled
    for (size_t i = 0; i < d.hashes.size(); i += 13) {
      ASSERT_TRUE((*idx)->Remove(d.ids[i]).ok());
      gone.insert(d.ids[i]);
    }
    for (size_t i = 5; i < d.hashes.size(); i += 17) {
      if (gone.count(d.ids[i])) continue;
      ASSERT_TRUE((*idx)->SetEnabled(d.ids[i], false).ok());
      gone.insert(d.ids[i]);
    }
    for (int trial = 0; trial < 12; ++trial) {
      const Hash256 q = FlipBits(centre, trial * 2, rng);
      for (int r : {8, 31, 40}) {
        EXPECT_EQ((*idx)->Query(q, r, QueryStrategy::kIndex),
                  BruteForce(d.hashes, d.ids, gone, q, r))
            << "trial " << trial << " r=" << r << " dedup_above=" << dedup_above;
      }
    }
  }
}

// Thousands of results, ordered by (distance, id) by the radix sort: ids that differ in every
// byte (and in none but the lowest), distances up to the radius, and a radius past 64.
TEST(HashIndex, ManyResultsComeSortedByDistanceThenId) {
  std::mt19937_64 rng(33);
  const Hash256 centre = RandomHash(rng);
  for (const bool dense : {false, true}) {
    Dataset d;
    for (size_t i = 0; i < 4000; ++i) {
      d.hashes.push_back(FlipBits(centre, static_cast<int>(rng() % 50), rng));
      d.ids.push_back(dense ? 200 + i : rng());
    }
    auto idx = HashIndex::Build(d.hashes, d.ids, {});
    ASSERT_TRUE(idx.ok());
    for (int r : {31, 70}) {
      const auto got = (*idx)->Query(centre, r);
      EXPECT_GT(got.size(), 1000u);
      EXPECT_EQ(got, BruteForce(d.hashes, d.ids, {}, centre, r)) << "dense=" << dense << " r=" << r;
      EXPECT_EQ((*idx)->QueryBatch(std::vector<Hash256>{centre}, r, 1)[0], got);
    }
  }
}

TEST(HashIndex, BatchEqualsSingleQueriesForEveryStrategy) {
  const Dataset d = MakeDataset(3000, 8);
  auto idx = HashIndex::Build(d.hashes, d.ids, {});
  ASSERT_TRUE(idx.ok());
  std::mt19937_64 rng(3);
  std::vector<Hash256> qs;
  for (int i = 0; i < 100; ++i)
    qs.push_back(FlipBits(d.hashes[rng() % d.hashes.size()], i % 30, rng));
  for (auto s : {QueryStrategy::kAuto, QueryStrategy::kIndex, QueryStrategy::kScan}) {
    for (int threads : {1, 3}) {
      const auto batch = (*idx)->QueryBatch(qs, 31, threads, s);
      ASSERT_EQ(batch.size(), qs.size());
      for (size_t i = 0; i < qs.size(); ++i)
        EXPECT_EQ(batch[i], BruteForce(d.hashes, d.ids, {}, qs[i], 31));
    }
  }
}

TEST(HashIndex, DuplicateIdsInABuildAreAnErrorNamingThem) {
  std::vector<Hash256> hs(5);
  std::vector<uint64_t> ids{1, 2, 3, 2, 9};
  auto idx = HashIndex::Build(hs, ids, {});
  ASSERT_FALSE(idx.ok());
  EXPECT_NE(idx.status().message().find("duplicate id 2 (entries 1 and 3)"), std::string::npos)
      << idx.status().message();
}

TEST(HashIndex, AddsRemovesAndDisablesAreVisibleAtOnce) {
  HashIndex::Options opts;
  opts.tail_limit = 64;  // exercise segments and merges with few entries
  auto idx = HashIndex::Create(opts);
  std::mt19937_64 rng(5);
  Dataset d;
  std::set<uint64_t> gone;
  for (int i = 0; i < 3000; ++i) {
    const Hash256 h =
        i % 4 == 0 && i > 0 ? FlipBits(d.hashes[rng() % d.hashes.size()], 3, rng) : RandomHash(rng);
    ASSERT_TRUE(idx->Add(static_cast<uint64_t>(i), h).ok());
    d.hashes.push_back(h);
    d.ids.push_back(static_cast<uint64_t>(i));
    // The entry just added matches at once.
    const auto m = idx->Query(h, 0);
    ASSERT_FALSE(m.empty());
    ASSERT_TRUE(std::any_of(m.begin(), m.end(),
                            [&](const Match& x) { return x.id == static_cast<uint64_t>(i); }));
    if (i % 7 == 0) {
      const uint64_t victim = d.ids[rng() % d.ids.size()];
      if (!gone.count(victim)) {
        ASSERT_TRUE(idx->Remove(victim).ok());
        gone.insert(victim);
        for (const auto& x : idx->Query(d.hashes[victim], 0))
          ASSERT_NE(x.id, victim);  // gone at once
      }
    }
  }
  EXPECT_EQ(idx->Remove(99999).code(), StatusCode::kNotFound);
  const uint64_t some =
      *std::find_if(d.ids.begin(), d.ids.end(), [&](uint64_t id) { return !gone.count(id); });
  EXPECT_EQ(idx->Add(some, Hash256{}).code(), StatusCode::kInvalidArgument);  // present
  ASSERT_TRUE(idx->SetEnabled(some, false).ok());
  for (const auto& x : idx->Query(d.hashes[some], 0)) EXPECT_NE(x.id, some);
  ASSERT_TRUE(idx->SetEnabled(some, true).ok());
  EXPECT_FALSE(idx->Query(d.hashes[some], 0).empty());
  // A removed id may come back with a new hash.
  const uint64_t back = *gone.begin();
  ASSERT_TRUE(idx->Add(back, Hash256{}).ok());
  gone.erase(back);
  d.hashes[back] = Hash256{};
  idx->WaitForMaintenance();
  const auto st = idx->Stats();
  EXPECT_EQ(st.tail, 0u);
  std::printf("live index: %lu entries, %lu segments after %lu adds\n",
              static_cast<unsigned long>(st.entries), static_cast<unsigned long>(st.segments),
              static_cast<unsigned long>(st.slots));
  for (int trial = 0; trial < 40; ++trial) {
    const Hash256 q = FlipBits(d.hashes[rng() % d.hashes.size()], trial % 20, rng);
    EXPECT_EQ(idx->Query(q, 31), BruteForce(d.hashes, d.ids, gone, q, 31));
  }
}

TEST(HashIndex, QueriesStayCorrectWhileWritersRun) {
  HashIndex::Options opts;
  opts.tail_limit = 128;
  auto idx = HashIndex::Create(opts);
  // Stable entries that queries must always find; churned entries come and go.
  std::mt19937_64 rng(11);
  std::vector<Hash256> stable;
  for (int i = 0; i < 500; ++i) {
    stable.push_back(RandomHash(rng));
    ASSERT_TRUE(idx->Add(static_cast<uint64_t>(i), stable.back()).ok());
  }
  std::atomic<bool> stop{false};
  std::atomic<int> removed_seen{0};
  std::thread writer([&] {
    std::mt19937_64 wr(12);
    for (uint64_t id = 100000; id < 106000; ++id) {
      const Hash256 h = RandomHash(wr);
      ASSERT_TRUE(idx->Add(id, h).ok());
      if (id % 2 == 0) {
        ASSERT_TRUE(idx->Remove(id).ok());
        for (const auto& m : idx->Query(h, 0)) {
          if (m.id == id) removed_seen.fetch_add(1);
        }
      }
    }
    stop = true;
  });
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&, t] {
      std::mt19937_64 rr(20 + t);
      while (!stop) {
        const size_t i = rr() % stable.size();
        const auto m = idx->Query(FlipBits(stable[i], 5, rr), 31);
        ASSERT_TRUE(std::any_of(m.begin(), m.end(), [&](const Match& x) { return x.id == i; }));
      }
    });
  }
  writer.join();
  for (auto& r : readers) r.join();
  EXPECT_EQ(removed_seen.load(), 0);
}

class IndexFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir();
    data_ = MakeDataset(2000, 21);
    auto idx = HashIndex::Build(data_.hashes, data_.ids, {});
    ASSERT_TRUE(idx.ok());
    ASSERT_TRUE((*idx)->Remove(data_.ids[5]).ok());
    ASSERT_TRUE((*idx)->SetEnabled(data_.ids[6], false).ok());
    ASSERT_TRUE((*idx)->Add(777777, data_.hashes[5]).ok());
    path_ = dir_ + "/bank.tdidx";
    ASSERT_TRUE((*idx)->Save(path_).ok());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::vector<char> Bytes() {
    std::ifstream f(path_, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
  }
  void Write(const std::vector<char>& b, const std::string& p) {
    std::ofstream f(p, std::ios::binary);
    f.write(b.data(), static_cast<std::streamsize>(b.size()));
  }

  std::string dir_, path_;
  Dataset data_;
};

TEST_F(IndexFileTest, SaveAndOpenRoundTrip) {
  auto idx = HashIndex::Open(path_, {});
  ASSERT_TRUE(idx.ok()) << idx.status().ToString();
  std::set<uint64_t> gone{data_.ids[5], data_.ids[6]};
  auto hashes = data_.hashes;
  auto ids = data_.ids;
  hashes.push_back(data_.hashes[5]);
  ids.push_back(777777);
  std::mt19937_64 rng(4);
  for (int trial = 0; trial < 50; ++trial) {
    const Hash256 q = FlipBits(hashes[rng() % hashes.size()], trial % 25, rng);
    EXPECT_EQ((*idx)->Query(q, 31), BruteForce(hashes, ids, gone, q, 31));
  }
  // The disabled entry survived the save and can be enabled again; the index takes new entries.
  ASSERT_TRUE((*idx)->SetEnabled(data_.ids[6], true).ok());
  EXPECT_FALSE((*idx)->Query(data_.hashes[6], 0).empty());
  EXPECT_EQ((*idx)->Remove(data_.ids[5]).code(), StatusCode::kNotFound);
  ASSERT_TRUE((*idx)->Add(888888, Hash256{}).ok());
  const auto zero = (*idx)->Query(Hash256{}, 0);
  EXPECT_TRUE(std::any_of(zero.begin(), zero.end(), [](const Match& m) { return m.id == 888888; }));
}

TEST_F(IndexFileTest, TruncatedFilesAreErrorsWithOffsets) {
  const auto bytes = Bytes();
  for (size_t cut : {size_t{0}, size_t{10}, size_t{200}, bytes.size() / 3, bytes.size() - 1}) {
    Write(std::vector<char>(bytes.begin(), bytes.begin() + static_cast<long>(cut)), path_ + ".cut");
    auto idx = HashIndex::Open(path_ + ".cut", {});
    ASSERT_FALSE(idx.ok()) << cut;
    EXPECT_NE(idx.status().message().find("truncated"), std::string::npos)
        << idx.status().message();
  }
}

TEST_F(IndexFileTest, EveryFlippedByteIsCaught) {
  const auto bytes = Bytes();
  std::mt19937_64 rng(2);
  for (int trial = 0; trial < 300; ++trial) {
    auto b = bytes;
    const size_t at =
        trial < 100 ? static_cast<size_t>(trial) : rng() % b.size();  // header and body
    b[at] = static_cast<char>(b[at] ^ (1 + rng() % 255));
    Write(b, path_ + ".bad");
    auto idx = HashIndex::Open(path_ + ".bad", {});
    if (idx.ok()) {
      // Only padding bytes between sections are unchecked; then answers must still be right.
      EXPECT_EQ(
          (*idx)->Query(data_.hashes[0], 31),
          BruteForce(data_.hashes, data_.ids, {data_.ids[5], data_.ids[6]}, data_.hashes[0], 31));
    } else {
      const std::string& m = idx.status().message();
      EXPECT_TRUE(m.find("checksum") != std::string::npos || m.find("magic") != std::string::npos ||
                  m.find("version") != std::string::npos)
          << m;
    }
  }
}

TEST_F(IndexFileTest, ContentThatLiesBehindRightChecksumsIsCaught) {
  const auto bytes = Bytes();
  auto open_edited = [&](const std::string& section, auto edit) {
    std::vector<char> b = bytes;
    auto* data = reinterpret_cast<uint8_t*>(b.data());
    auto at = IndexFileSection(data, b.size(), section);
    EXPECT_TRUE(at.ok()) << section;
    if (!at.ok()) return Status::Ok();
    edit(reinterpret_cast<uint32_t*>(data + at->first), at->second / sizeof(uint32_t));
    ResealIndexFile(data, b.size());
    Write(b, path_ + ".lie");
    auto idx = HashIndex::Open(path_ + ".lie", {});
    return idx.ok() ? Status::Ok() : idx.status();
  };
  // A presence mask without the bit of an entry its bucket holds would hide that entry.
  Status st = open_edited("directory[0]", [](uint32_t* dir, size_t words) {
    for (size_t i = 0; i + 2 < words; i += 2) {
      if (dir[i + 2] > dir[i]) {
        dir[i + 1] &= dir[i + 1] - 1;  // drop its lowest set bit
        return;
      }
    }
  });
  EXPECT_EQ(st.code(), StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("presence mask"), std::string::npos) << st.message();
  // A directory that goes backwards, and an entry pointing past the last slot.
  st = open_edited("directory[4]", [](uint32_t* dir, size_t) { dir[4] = dir[2] + 1000000; });
  EXPECT_EQ(st.code(), StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("decreases"), std::string::npos) << st.message();
  st = open_edited("entries[7]", [](uint32_t* ent, size_t) { ent[3] = 0xfffffff0u; });
  EXPECT_EQ(st.code(), StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("points past the end"), std::string::npos) << st.message();
  // A mask with extra bits only costs a query some reads: accepted, answers still right.
  st = open_edited("directory[2]", [](uint32_t* dir, size_t words) {
    for (size_t i = 1; i + 1 < words; i += 2) dir[i] = ~uint32_t{0};
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  auto idx = HashIndex::Open(path_ + ".lie", {});
  ASSERT_TRUE(idx.ok());
  std::mt19937_64 rng(9);
  for (int trial = 0; trial < 20; ++trial) {
    const Hash256 q = FlipBits(data_.hashes[rng() % data_.hashes.size()], trial, rng);
    EXPECT_EQ((*idx)->Query(q, 31),
              BruteForce(data_.hashes, data_.ids, {data_.ids[5], data_.ids[6]}, q, 31));
  }
}

TEST_F(IndexFileTest, NotAnIndexAndMissingFile) {
  Write({'h', 'e', 'l', 'l', 'o'}, path_ + ".txt");
  EXPECT_EQ(HashIndex::Open(path_ + ".txt", {}).status().code(), StatusCode::kDataLoss);
  std::vector<char> junk(4096, 'x');
  Write(junk, path_ + ".junk");
  EXPECT_NE(HashIndex::Open(path_ + ".junk", {}).status().message().find("bad magic"),
            std::string::npos);
  EXPECT_EQ(HashIndex::Open(dir_ + "/nope", {}).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace takedown::index
