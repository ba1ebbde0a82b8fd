// `takedown-bench index`: this index against FAISS IndexBinaryFlat and IndexBinaryMultiHash
// (16 x 16-bit, nflip 1) in one run, same machine, same data: uniformly random hashes and
// realistic ones (real PDQ hashes of ../shared photos, their re-share edits and dihedral
// variants, spread into near-duplicate clusters by flipping bits). Queries: half with matches,
// half without. Radius 31 (FAISS's range search counts d < radius, so it is given 32).
#include <faiss/IndexBinaryFlat.h>
#include <faiss/IndexBinaryHash.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <fmt/format.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "hash/image_signals.h"
#include "index/hash_index.h"
#include "media/decode.h"
#include "runner.h"
#include "support/edits.h"
#include "support/shared_data.h"

namespace takedown::bench {
namespace {

using hash::Hash256;
using index::HashIndex;
using index::Match;

constexpr int kRadius = 31;
constexpr size_t kQueries = 1000;

uint64_t RssBytes() {
  std::ifstream f("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  f >> size >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

Hash256 Random(std::mt19937_64& rng) {
  Hash256 h;
  for (auto& w : h.words) w = rng();
  return h;
}

Hash256 Flip(Hash256 h, int k, std::mt19937_64& rng) {
  for (int i = 0; i < k; ++i) {
    const int b = static_cast<int>(rng() % 256);
    h.words[b >> 6] ^= uint64_t{1} << (b & 63);
  }
  return h;
}

// Real PDQ hashes: each photo, its 20 re-share edits, and the 8 dihedral variants of each.
std::vector<Hash256> RealHashes(const std::vector<std::string>& photos) {
  std::vector<Hash256> out;
  hash::ImageHasher hasher;
  hash::ImageHashOptions opts;
  opts.dihedral = true;
  opts.digests = false;
  for (const auto& p : photos) {
    auto pixels = media::DecodeImageFile(p, {});
    if (!pixels.ok()) continue;
    std::vector<std::vector<uint8_t>> versions;
    for (const auto& e : testing::ReshareEdits()) versions.push_back(e.apply(pixels->image));
    for (const auto& bytes : versions) {
      auto r = hasher.HashBytes(bytes, opts);
      if (!r.ok() || r->pdq.quality < 50) continue;
      for (const auto& d : *r->dihedral) out.push_back(d);
    }
  }
  return out;
}

struct Data {
  std::string name;
  std::vector<Hash256> base;
  std::vector<Hash256> queries;
};

Data Uniform(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Data d{"uniform", {}, {}};
  d.base.resize(n);
  for (auto& h : d.base) h = Random(rng);
  for (size_t i = 0; i < kQueries; ++i) {
    d.queries.push_back(i % 2 == 0 ? Flip(d.base[rng() % n], static_cast<int>(rng() % 16), rng)
                                   : Random(rng));
  }
  return d;
}

// Clusters around the real hashes of the first half of the photos; queries without matches are
// real hashes of the other half (checked against the ground truth, not assumed).
Data Realistic(size_t n, const std::vector<Hash256>& in_set, const std::vector<Hash256>& held_out,
               uint64_t seed) {
  std::mt19937_64 rng(seed);
  Data d{"realistic", {}, {}};
  d.base.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const Hash256& c = in_set[i % in_set.size()];
    // Most copies are near (re-encodes: 0-12 bits); some drift further (16-40 bits).
    const int k = i < in_set.size() ? 0
                                    : (rng() % 5 == 0 ? 16 + static_cast<int>(rng() % 25)
                                                      : static_cast<int>(rng() % 13));
    d.base.push_back(Flip(c, k, rng));
  }
  for (size_t i = 0; i < kQueries; ++i) {
    d.queries.push_back(i % 2 == 0
                            ? Flip(in_set[rng() % in_set.size()], static_cast<int>(rng() % 8), rng)
                            : held_out[rng() % held_out.size()]);
  }
  return d;
}

struct Row {
  std::string system;
  double build_s = 0, mem_bytes = 0, p50_us = 0, p99_us = 0, batch_qps = 0, recall = 0;
  double p50_hit_us = 0, p50_miss_us = 0;  // queries with / without matches
  size_t matches = 0;
};

using Results = std::vector<std::vector<uint64_t>>;  // sorted ids per query

double Recall(const Results& got, const Results& truth) {
  size_t want = 0, found = 0;
  for (size_t q = 0; q < truth.size(); ++q) {
    want += truth[q].size();
    for (uint64_t id : truth[q])
      found += std::binary_search(got[q].begin(), got[q].end(), id) ? 1 : 0;
  }
  return want == 0 ? 1.0 : static_cast<double>(found) / static_cast<double>(want);
}

Results FromFaiss(const faiss::RangeSearchResult& r, size_t nq) {
  Results out(nq);
  for (size_t q = 0; q < nq; ++q) {
    for (size_t j = r.lims[q]; j < r.lims[q + 1]; ++j)
      out[q].push_back(static_cast<uint64_t>(r.labels[j]));
    std::sort(out[q].begin(), out[q].end());
  }
  return out;
}

// Times each query alone. Queries alternate: even ones were made to have matches.
template <typename QueryOne>
void Latency(size_t nq, const Results& truth, QueryOne&& one, Row* row) {
  std::vector<double> us, hit, miss;
  for (size_t i = 0; i < std::min<size_t>(20, nq); ++i) one(i);  // warm-up
  for (size_t i = 0; i < nq; ++i) {
    const auto t0 = Clock::now();
    one(i);
    us.push_back(1e6 * Seconds(t0, Clock::now()));
    (truth[i].empty() ? miss : hit).push_back(us.back());
  }
  row->p50_us = Percentile(us, 0.5);
  row->p99_us = Percentile(us, 0.99);
  row->p50_hit_us = hit.empty() ? 0 : Percentile(hit, 0.5);
  row->p50_miss_us = miss.empty() ? 0 : Percentile(miss, 0.5);
}

std::vector<Row> RunOne(const Data& d, int threads, bool with_flat, bool with_faiss) {
  const size_t n = d.base.size(), nq = d.queries.size();
  std::vector<uint64_t> ids(n);
  for (size_t i = 0; i < n; ++i) ids[i] = i;
  const auto* codes = reinterpret_cast<const uint8_t*>(d.base.data());
  const auto* qcodes = reinterpret_cast<const uint8_t*>(d.queries.data());
  std::vector<Row> rows;

  // takedown
  Row ours{"takedown HashIndex"};
  uint64_t rss0 = RssBytes();
  auto t0 = Clock::now();
  HashIndex::Options opts;
  opts.background = false;
  auto idx = std::move(HashIndex::Build(d.base, ids, opts).value());
  ours.build_s = Seconds(t0, Clock::now());
  ours.mem_bytes = static_cast<double>(idx->Stats().memory_bytes);
  const uint64_t rss_ours = RssBytes() - rss0;
  // Ground truth: the exhaustive batched scan (checked against FAISS flat below where run).
  Results truth(nq);
  {
    const auto scan = idx->QueryBatch(d.queries, kRadius, threads, index::QueryStrategy::kScan);
    for (size_t q = 0; q < nq; ++q) {
      for (const auto& m : scan[q]) truth[q].push_back(m.id);
      std::sort(truth[q].begin(), truth[q].end());
    }
  }
  size_t with_matches = 0, total_matches = 0;
  for (const auto& t : truth) {
    with_matches += t.empty() ? 0 : 1;
    total_matches += t.size();
  }
  Latency(
      nq, truth, [&](size_t i) { (void)idx->Query(d.queries[i], kRadius); }, &ours);
  t0 = Clock::now();
  const auto batch = idx->QueryBatch(d.queries, kRadius, threads);
  ours.batch_qps = static_cast<double>(nq) / Seconds(t0, Clock::now());
  Results got(nq);
  for (size_t q = 0; q < nq; ++q) {
    for (const auto& m : batch[q]) got[q].push_back(m.id);
    std::sort(got[q].begin(), got[q].end());
    ours.matches += got[q].size();
  }
  ours.recall = Recall(got, truth);
  rows.push_back(ours);
  std::printf(
      "  %s n=%zu: %zu of %zu queries have matches, %zu matches in all; our index %.1f B/hash (RSS "
      "+%.1f B/hash)\n",
      d.name.c_str(), n, with_matches, nq, total_matches, ours.mem_bytes / static_cast<double>(n),
      static_cast<double>(rss_ours) / static_cast<double>(n));

  if (!with_faiss) return rows;
  omp_set_num_threads(1);
  // FAISS IndexBinaryMultiHash, 16 x 16 bits, nflip 1 (exact at radius 31: 16 x 2 = 32 = r + 1).
  {
    Row mh{"FAISS MultiHash 16x16"};
    rss0 = RssBytes();
    t0 = Clock::now();
    auto multi = std::make_unique<faiss::IndexBinaryMultiHash>(256, 16, 16);
    multi->nflip = 1;
    multi->add(static_cast<faiss::Index::idx_t>(n), codes);
    mh.build_s = Seconds(t0, Clock::now());
    mh.mem_bytes = static_cast<double>(RssBytes() - rss0);
    const size_t lat_q = std::min<size_t>(nq, n >= 5'000'000 ? 200 : nq);
    Latency(
        lat_q, truth,
        [&](size_t i) {
          faiss::RangeSearchResult r(1);
          multi->range_search(1, qcodes + 32 * i, kRadius + 1, &r);
        },
        &mh);
    omp_set_num_threads(threads);
    t0 = Clock::now();
    faiss::RangeSearchResult r(static_cast<faiss::Index::idx_t>(nq));
    multi->range_search(static_cast<faiss::Index::idx_t>(nq), qcodes, kRadius + 1, &r);
    mh.batch_qps = static_cast<double>(nq) / Seconds(t0, Clock::now());
    omp_set_num_threads(1);
    const Results fr = FromFaiss(r, nq);
    for (const auto& v : fr) mh.matches += v.size();
    mh.recall = Recall(fr, truth);
    rows.push_back(mh);
  }
  if (with_flat) {
    Row fl{"FAISS Flat"};
    rss0 = RssBytes();
    t0 = Clock::now();
    faiss::IndexBinaryFlat flat(256);
    flat.add(static_cast<faiss::Index::idx_t>(n), codes);
    fl.build_s = Seconds(t0, Clock::now());
    fl.mem_bytes = static_cast<double>(n) * 32;
    const size_t lat_q = n >= 5'000'000 ? 50 : 200;
    Latency(
        lat_q, truth,
        [&](size_t i) {
          faiss::RangeSearchResult r(1);
          flat.range_search(1, qcodes + 32 * i, kRadius + 1, &r);
        },
        &fl);
    omp_set_num_threads(threads);
    const size_t bq = n >= 5'000'000 ? 100 : nq;
    t0 = Clock::now();
    faiss::RangeSearchResult r(static_cast<faiss::Index::idx_t>(bq));
    flat.range_search(static_cast<faiss::Index::idx_t>(bq), qcodes, kRadius + 1, &r);
    fl.batch_qps = static_cast<double>(bq) / Seconds(t0, Clock::now());
    omp_set_num_threads(1);
    Results fr = FromFaiss(r, bq);
    Results tr(truth.begin(), truth.begin() + static_cast<long>(bq));
    for (const auto& v : fr) fl.matches += v.size();
    fl.recall = Recall(fr, tr);
    if (fr != tr) std::printf("  WARNING: FAISS flat and our exhaustive scan disagree\n");
    rows.push_back(fl);
  }
  return rows;
}

void PrintRows(const std::vector<Row>& rows) {
  std::printf("  %-22s %8s %8s %9s %9s %9s %9s %11s %8s\n", "system", "build_s", "B/hash", "p50_us",
              "p99_us", "p50_hit", "p50_miss", "batch_q/s", "recall");
  for (const auto& r : rows) {
    std::printf("  %-22s %8.2f %8.1f %9.1f %9.1f %9.1f %9.1f %11.0f %7.2f%%\n", r.system.c_str(),
                r.build_s, r.mem_bytes / 1.0, r.p50_us, r.p99_us, r.p50_hit_us, r.p50_miss_us,
                r.batch_qps, 100 * r.recall);
  }
}

int RunIndex(const Options& o) {
  std::vector<size_t> sizes = {1'000'000, 10'000'000};
  for (size_t i = 0; i + 1 < o.rest.size(); ++i) {
    if (o.rest[i] == "--sizes") {
      sizes.clear();
      std::string s = o.rest[i + 1];
      for (size_t p = 0; p < s.size();) {
        const size_t c = s.find(',', p);
        sizes.push_back(std::stoull(s.substr(p, c - p)));
        p = c == std::string::npos ? s.size() : c + 1;
      }
    }
  }
  const bool only_ours = std::find(o.rest.begin(), o.rest.end(), "--only-ours") != o.rest.end();
  const int threads = 2;
  std::printf(
      "radius %d; %zu queries; latency: one query at a time, one thread; batch: %d threads\n",
      kRadius, kQueries, threads);
  std::printf("kernels: %s\n", index::BestKernels().name);

  std::vector<Hash256> in_set, held_out;
  const auto photos = testing::ListFiles(o.photos);
  if (!photos.empty()) {
    const auto t0 = Clock::now();
    std::vector<std::string> a, b;
    for (size_t i = 0; i < photos.size(); ++i) (i % 2 == 0 ? a : b).push_back(photos[i]);
    in_set = RealHashes(a);
    held_out = RealHashes(b);
    std::printf(
        "real PDQ hashes: %zu from half the photos (clustered into the set), %zu from the other "
        "half "
        "(queries without matches) in %.1f s\n",
        in_set.size(), held_out.size(), Seconds(t0, Clock::now()));
  } else {
    std::printf("no photos at %s: realistic data set skipped\n", o.photos.c_str());
  }

  int failed = 0;
  for (size_t n : sizes) {
    std::vector<Data> sets;
    sets.push_back(Uniform(n, 42));
    if (!in_set.empty()) sets.push_back(Realistic(n, in_set, held_out, 43));
    for (const auto& d : sets) {
      std::printf("\n%s, %zu hashes:\n", d.name.c_str(), n);
      auto rows = RunOne(d, threads, true, !only_ours);
      for (auto& r : rows) r.mem_bytes /= static_cast<double>(n);
      PrintRows(rows);
      const Row& ours = rows[0];
      if (n >= 10'000'000 && !only_ours) {
        const Row& mh = rows[1];
        failed += Target("p50 <= 200 us, single query, one core", ours.p50_us <= 200,
                         fmt::format("{:.1f} us", ours.p50_us));
        failed += Target("p99 <= 1 ms", ours.p99_us <= 1000, fmt::format("{:.1f} us", ours.p99_us));
        failed += Target(">= 10x faster than FAISS MultiHash (p50)", mh.p50_us >= 10 * ours.p50_us,
                         fmt::format("{:.1f}x", mh.p50_us / ours.p50_us));
        failed +=
            Target("<= 100 B/hash", ours.mem_bytes <= 100, fmt::format("{:.1f}", ours.mem_bytes));
      }
      failed += Target("recall 100% against brute force", ours.recall == 1.0,
                       fmt::format("{:.4f}", ours.recall));
    }
  }
  return failed;
}

// Live updates, persistence and the scan crossover, on uniform data.
int RunIndexOps(const Options& o) {
  size_t n = 10'000'000;
  for (size_t i = 0; i + 1 < o.rest.size(); ++i) {
    if (o.rest[i] == "--size") n = std::stoull(o.rest[i + 1]);
  }
  Data d = Uniform(n, 7);
  std::vector<uint64_t> ids(n);
  for (size_t i = 0; i < n; ++i) ids[i] = i;
  HashIndex::Options opts;
  auto idx = std::move(HashIndex::Build(d.base, ids, opts).value());
  int failed = 0;

  // Live updates: each add found by the very next query, each remove gone from it.
  std::mt19937_64 rng(5);
  std::vector<double> add_us, rem_us;
  int add_seen = 0, rem_gone = 0;
  const int ops = 2000;
  for (int i = 0; i < ops; ++i) {
    const Hash256 h = Random(rng);
    auto t0 = Clock::now();
    if (!idx->Add(n + static_cast<uint64_t>(i), h).ok()) return 1;
    add_us.push_back(1e6 * Seconds(t0, Clock::now()));
    const auto m = idx->Query(h, kRadius);
    add_seen += std::any_of(m.begin(), m.end(),
                            [&](const Match& x) { return x.id == n + static_cast<uint64_t>(i); });
    const uint64_t victim = rng() % n;
    t0 = Clock::now();
    if (!idx->Remove(victim).ok()) continue;
    rem_us.push_back(1e6 * Seconds(t0, Clock::now()));
    const auto g = idx->Query(d.base[victim], 0);
    rem_gone += std::none_of(g.begin(), g.end(), [&](const Match& x) { return x.id == victim; });
  }
  std::printf(
      "live updates on %zu hashes: add p50 %.1f us, remove p50 %.1f us; %d/%d adds found by the "
      "next query, "
      "%d/%zu removes gone from it\n",
      n, Percentile(add_us, 0.5), Percentile(rem_us, 0.5), add_seen, ops, rem_gone, rem_us.size());
  failed += Target("adds and removes visible to the next query",
                   add_seen == ops && rem_gone == static_cast<int>(rem_us.size()),
                   fmt::format("{}/{} and {}/{}", add_seen, ops, rem_gone, rem_us.size()));

  // Persistence: save, then open (map + verify checksums and structure).
  const std::string path = std::filesystem::temp_directory_path() / "takedown-bench.tdidx";
  auto t0 = Clock::now();
  if (!idx->Save(path).ok()) return 1;
  const double save_s = Seconds(t0, Clock::now());
  t0 = Clock::now();
  auto opened = HashIndex::Open(path, {});
  const double open_s = Seconds(t0, Clock::now());
  if (!opened.ok()) return 1;
  std::printf(
      "save %.2f s, open (mmap + checksums + structure checks) %.2f s for %zu hashes, file %.0f "
      "MB\n",
      save_s, open_s, n, static_cast<double>(std::filesystem::file_size(path)) / 1e6);
  std::filesystem::remove(path);

  // Crossover: per-query index lookups vs one batched scan, by radius and batch size.
  std::printf("\nper-query cost (us, 1 thread): multi-index lookups vs batched scan\n");
  std::printf("  %6s %8s %14s %14s %14s\n", "radius", "queries", "index_us/q", "scan_us/q",
              "auto_us/q");
  for (int r : {31, 40, 48, 56, 64}) {
    for (size_t nq : {size_t{10}, size_t{100}, size_t{1000}}) {
      std::vector<Hash256> qs(d.queries.begin(), d.queries.begin() + static_cast<long>(nq));
      (void)idx->QueryBatch(qs, r, 1, index::QueryStrategy::kIndex);  // warm-up
      (void)idx->QueryBatch(qs, r, 1, index::QueryStrategy::kScan);
      auto a = Clock::now();
      (void)idx->QueryBatch(qs, r, 1, index::QueryStrategy::kIndex);
      const double index_us = 1e6 * Seconds(a, Clock::now()) / static_cast<double>(nq);
      a = Clock::now();
      (void)idx->QueryBatch(qs, r, 1, index::QueryStrategy::kScan);
      const double scan_us = 1e6 * Seconds(a, Clock::now()) / static_cast<double>(nq);
      a = Clock::now();
      (void)idx->QueryBatch(qs, r, 1, index::QueryStrategy::kAuto);
      const double auto_us = 1e6 * Seconds(a, Clock::now()) / static_cast<double>(nq);
      std::printf("  %6d %8zu %14.1f %14.1f %14.1f%s\n", r, nq, index_us, scan_us, auto_us,
                  scan_us < index_us ? "  <- scan wins" : "");
    }
  }
  // One query at a time, as the upload gate asks (HashIndex::Query): auto should cost what the
  // cheaper of the two costs.
  std::printf("\none query at a time (us, the upload gate's case): multi-index vs scan vs auto\n");
  std::printf("  %6s %14s %14s %14s %8s\n", "radius", "index_us/q", "scan_us/q", "auto_us/q",
              "auto");
  const size_t nq = std::min<size_t>(200, d.queries.size());
  for (int r : {31, 40, 48, 56, 64}) {
    auto per_query = [&](index::QueryStrategy s) {
      for (size_t i = 0; i < std::min<size_t>(20, nq); ++i) (void)idx->Query(d.queries[i], r, s);
      const auto a = Clock::now();
      for (size_t i = 0; i < nq; ++i) (void)idx->Query(d.queries[i], r, s);
      return 1e6 * Seconds(a, Clock::now()) / static_cast<double>(nq);
    };
    const double index_us = per_query(index::QueryStrategy::kIndex);
    const double scan_us = per_query(index::QueryStrategy::kScan);
    const double auto_us = per_query(index::QueryStrategy::kAuto);
    const double best = std::min(index_us, scan_us);
    std::printf("  %6d %14.1f %14.1f %14.1f %8s\n", r, index_us, scan_us, auto_us,
                auto_us <= 1.25 * best ? "ok" : "SLOWER");
  }
  return failed;
}

const Register kIndex("index", "hash index vs FAISS Flat and MultiHash at 1M and 10M (--sizes a,b)",
                      RunIndex);
const Register kIndexOps("index-ops", "live updates, save/open time, scan crossover (--size N)",
                         RunIndexOps);

}  // namespace
}  // namespace takedown::bench
