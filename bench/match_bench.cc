// `takedown-bench match`: recall of the robust matching rule per re-share edit, beside plain PDQ
// (best of 8 dihedral variants, distance <= 31); false matches among all pairs of different
// photos; cost per uploaded image and per bank image. --photos DIR (default ../shared), and
// --extra DIR for photos not in ../shared. Threshold overrides: --whole T --region T --votes K
// --min-quality Q --region-quality Q.
#include <atomic>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "match/matcher.h"
#include "media/decode.h"
#include "core/file.h"
#include "runner.h"
#include "support/edits.h"
#include "support/shared_data.h"

namespace takedown::bench {
namespace {

// True near-duplicates: the list for ../shared (tests/data) and the corpus's own
// NEAR_DUPLICATES.tsv (scripts/extra-media.sh writes one).
std::set<std::pair<std::string, std::string>> KnownNearDuplicates(const std::string& dir) {
  std::set<std::pair<std::string, std::string>> out;
  for (const std::string& path : {std::string(TAKEDOWN_TEST_DATA_DIR "/near_duplicate_photos.tsv"), dir + "/NEAR_DUPLICATES.tsv"}) {
  std::ifstream f(path);
  for (std::string line; std::getline(f, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::stringstream ss(line);
    std::string a, b;
    std::getline(ss, a, '\t');
    std::getline(ss, b, '\t');
    out.insert({a, b});
    out.insert({b, a});
  }
  }
  return out;
}

std::string Base(const std::string& p) { return p.substr(p.find_last_of('/') + 1); }

int RunCorpus(const std::string& dir, const match::MatchOptions& mo, int threads) {
  std::vector<std::string> photos;
  for (auto& f : testing::ListFiles(dir)) {
    if (!f.ends_with(".tsv")) photos.push_back(std::move(f));
  }
  if (photos.empty()) return 0;
  const auto near = KnownNearDuplicates(dir);
  const auto& edits = testing::ReshareEdits();
  const size_t n = photos.size();

  // Bank: every photo, bank-side signals. Timed per image.
  std::vector<match::FileSignals> bank(n);
  std::vector<bool> ok(n, false);
  std::atomic<size_t> next{0};
  const auto t0 = Clock::now();
  auto bank_worker = [&] {
    match::SignalHasher h;
    for (size_t i; (i = next.fetch_add(1)) < n;) {
      auto r = h.HashFile(photos[i], true);
      if (r.ok()) {
        bank[i] = std::move(r).value();
        ok[i] = true;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(bank_worker);
  for (auto& t : pool) t.join();
  pool.clear();
  const double bank_s = Seconds(t0, Clock::now());
  match::Matcher matcher(mo);
  for (size_t i = 0; i < n; ++i) matcher.Add(ok[i] ? match::BankItemFrom(bank[i]) : match::BankItem{});
  matcher.Build();

  // Queries: each photo itself and its 20 edits.
  struct Tally {
    int total = 0, plain = 0, robust = 0, false_matches = 0;
    std::map<std::string, int> by_signal;
  };
  std::vector<Tally> tally(edits.size() + 1);  // [0]: the unedited photo
  std::vector<std::string> false_list;
  std::mutex mu;
  next = 0;
  auto query_worker = [&] {
    match::SignalHasher h;
    media::DecodeOptions full;
    for (size_t i; (i = next.fetch_add(1)) < n;) {
      if (!ok[i]) continue;
      auto pixels = media::DecodeImageFile(photos[i], full);
      if (!pixels.ok()) continue;
      for (size_t e = 0; e <= edits.size(); ++e) {
        std::vector<uint8_t> bytes;
        if (e == 0) {
          auto r = ReadFileLimited(photos[i], 1 << 30);
          bytes = std::move(r).value();
        } else {
          bytes = edits[e - 1].apply(pixels->image);
        }
        auto q = h.HashBytes(bytes, false);
        if (!q.ok()) continue;
        const auto matches = matcher.Match(match::QueryItemFrom(*q));
        bool plain = false, robust = false;
        std::set<std::string> signals;
        std::vector<std::string> wrong;
        for (const auto& m : matches) {
          if (m.item == i) {
            robust = true;
            plain |= m.signal == "pdq";
            signals.insert(m.signal);
          } else if (!near.count({Base(photos[i]), Base(photos[m.item])})) {
            wrong.push_back(fmt::format("{} [{}] -> {} via {} ({}, d={})", Base(photos[i]),
                                        e == 0 ? "original" : edits[e - 1].name, Base(photos[m.item]),
                                        m.signal, m.variant, m.distance));
          }
        }
        std::lock_guard lock(mu);
        Tally& t = tally[e];
        ++t.total;
        t.plain += plain;
        t.robust += robust;
        t.false_matches += static_cast<int>(wrong.size());
        for (const auto& s : signals) ++t.by_signal[s];
        for (auto& w : wrong) false_list.push_back(std::move(w));
      }
    }
  };
  for (int t = 0; t < threads; ++t) pool.emplace_back(query_worker);
  for (auto& t : pool) t.join();

  std::printf("\n%s: %zu photos; thresholds pdq %d, whole %d, region %d (%d of 4 votes), min quality %d/%d\n",
              dir.c_str(), n, mo.pdq_threshold, mo.whole_threshold, mo.region_threshold, mo.region_votes,
              mo.min_quality, mo.region_min_quality);
  std::printf("%-16s %9s %9s %9s   %s\n", "edit", "plain", "robust", "false", "found by (photos per signal)");
  int total = 0, plain_found = 0, robust_found = 0, false_total = 0, worst = 100;
  std::string worst_edit;
  for (size_t e = 0; e < tally.size(); ++e) {
    const Tally& t = tally[e];
    const std::string name = e == 0 ? "(unedited)" : edits[e - 1].name;
    std::string by;
    for (const auto& [s, c] : t.by_signal) by += fmt::format("{} {}  ", s, c);
    std::printf("%-16s %8.1f%% %8.1f%% %9d   %s\n", name.c_str(), 100.0 * t.plain / std::max(1, t.total),
                100.0 * t.robust / std::max(1, t.total), t.false_matches, by.c_str());
    if (e > 0) {
      total += t.total;
      plain_found += t.plain;
      robust_found += t.robust;
      const int pct = static_cast<int>(100.0 * t.robust / std::max(1, t.total));
      if (pct < worst) {
        worst = pct;
        worst_edit = name;
      }
    }
    false_total += t.false_matches;
  }
  std::printf("%-16s %8.1f%% %8.1f%% %9d\n", "overall (edits)", 100.0 * plain_found / std::max(1, total),
              100.0 * robust_found / std::max(1, total), false_total);
  for (size_t i = 0; i < std::min<size_t>(false_list.size(), std::getenv("TD_ALL_FALSE") ? false_list.size() : 20); ++i) std::printf("  false match: %s\n", false_list[i].c_str());
  std::printf("bank-side hashing: %.2f ms per bank image (%d threads)\n", 1000 * bank_s * threads / n, threads);
  int failed = 0;
  failed += Target("zero false matches between different photos", false_total == 0, fmt::format("{}", false_total));
  failed += Target("recall >= 95% for every edit", worst >= 95, fmt::format("worst: {} {}%", worst_edit, worst));
  return failed;
}

// Upload cost: robust query signals vs plain fast-mode PDQ, one thread, same files.
void UploadCost(const std::string& dir, int runs) {
  const auto files = LoadDir(dir);
  if (files.empty()) return;
  hash::ImageHasher plain;
  match::SignalHasher robust;
  hash::ImageHashOptions po;
  const double tp = MedianTime(runs, [&] {
    for (const auto& f : files) (void)plain.HashBytes(f.bytes, po);
  });
  const double tr = MedianTime(runs, [&] {
    for (const auto& f : files) (void)robust.HashBytes(f.bytes, false);
  });
  const double tb = MedianTime(1, [&] {
    for (const auto& f : files) (void)robust.HashBytes(f.bytes, true);
  });
  const double n = static_cast<double>(files.size());
  std::printf("\ncost per image on %s (1 thread, with MD5/SHA-256): plain fast PDQ %.3f ms, upload "
              "signals %.3f ms (%.2fx), bank signals %.3f ms\n", dir.c_str(), 1000 * tp / n, 1000 * tr / n,
              tr / tp, 1000 * tb / n);
  Target("hashing an upload costs at most 2x plain fast-mode PDQ", tr <= 2 * tp, fmt::format("{:.2f}x", tr / tp));
}

int RunMatch(const Options& o) {
  match::MatchOptions mo;
  for (size_t i = 0; i + 1 < o.rest.size(); ++i) {
    const std::string& k = o.rest[i];
    const int v = std::atoi(o.rest[i + 1].c_str());
    if (k == "--whole") mo.whole_threshold = v;
    else if (k == "--region") mo.region_threshold = v;
    else if (k == "--votes") mo.region_votes = v;
    else if (k == "--min-quality") mo.min_quality = v;
    else if (k == "--region-quality") mo.region_min_quality = v;
    else if (k == "--pdq") mo.pdq_threshold = v;
  }
  const int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int failed = 0;
  for (const std::string& dir : {o.photos, o.extra}) {
    if (dir.empty()) continue;
    failed += RunCorpus(dir, mo, threads);
    UploadCost(dir, o.runs);
  }
  return failed;
}

const Register kMatch("match", "robust matching: recall per edit, false matches, cost (--extra DIR)", RunMatch);

}  // namespace
}  // namespace takedown::bench

namespace takedown::bench {
namespace {
// `takedown-bench match-boxes`: the content box found on each photo and on its framed edits, in
// the photo's own pixels (a debugging aid for the box detector).
int RunBoxes(const Options& o) {
  const auto photos = testing::ListFiles(o.photos);
  match::SignalHasher h;
  const size_t stride = std::getenv("BOX_STRIDE") ? std::stoul(std::getenv("BOX_STRIDE")) : 12;
  for (size_t i = 0; i < photos.size(); i += stride) {
    auto pixels = media::DecodeImageFile(photos[i], {});
    if (!pixels.ok()) continue;
    auto show = [&](const std::string& what, const std::vector<uint8_t>& bytes) {
      auto r = h.HashBytes(bytes, false);
      if (!r.ok()) return;
      const auto& b = r->query.box;
      std::printf("  %-14s %5dx%-5d box %s\n", what.c_str(), r->plain.width, r->plain.height,
                  b ? fmt::format("x {:.0f} y {:.0f} w {:.0f} h {:.0f}", b->x, b->y, b->w, b->h).c_str() : "-");
    };
    std::printf("%s\n", Base(photos[i]).c_str());
    show("original", ReadFileLimited(photos[i], 1 << 30).value());
    for (const auto& e : testing::ReshareEdits()) {
      if (e.name == "border_10" || e.name == "letterbox_16_9" || e.name == "caption" || e.name == "screenshot") {
        show(e.name, e.apply(pixels->image));
      }
    }
  }
  return 0;
}
const Register kBoxes("match-boxes", "content boxes found on photos and their framed edits (debugging)", RunBoxes);
}  // namespace
}  // namespace takedown::bench
