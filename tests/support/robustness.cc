#include "support/robustness.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "hash/image_signals.h"
#include "media/decode.h"
#include "support/edits.h"

namespace takedown::testing {

RobustnessTable MeasurePlainPdqRobustness(const std::vector<std::string>& photos, int threshold,
                                          int threads) {
  const auto& edits = ReshareEdits();
  const size_t n = photos.size();
  // best[e][p]: best distance for edit e on photo p, or -1 when the photo could not be used.
  std::vector<std::vector<int>> best(edits.size(), std::vector<int>(n, -1));
  std::atomic<size_t> next{0};
  auto worker = [&] {
    hash::ImageHasher hasher;
    hash::ImageHashOptions bank_opts;
    bank_opts.dihedral = true;
    bank_opts.digests = false;
    hash::ImageHashOptions query_opts;
    query_opts.digests = false;
    media::DecodeOptions full;  // full-size RGB for editing
    for (size_t p; (p = next.fetch_add(1)) < n;) {
      auto original = hasher.HashFile(photos[p], bank_opts);
      auto pixels = media::DecodeImageFile(photos[p], full);
      if (!original.ok() || !pixels.ok()) continue;
      for (size_t e = 0; e < edits.size(); ++e) {
        const auto bytes = edits[e].apply(pixels->image);
        auto edited = hasher.HashBytes(bytes, query_opts);
        if (!edited.ok()) continue;
        int d = 256;
        for (const auto& v : *original->dihedral)
          d = std::min(d, hash::Distance(v, edited->pdq.hash));
        best[e][p] = d;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int i = 0; i < std::max(1, threads); ++i) pool.emplace_back(worker);
  for (auto& t : pool) t.join();

  RobustnessTable table;
  table.threshold = threshold;
  for (size_t p = 0; p < n; ++p) table.photos += best[0][p] >= 0 ? 1 : 0;
  for (size_t e = 0; e < edits.size(); ++e) {
    RobustnessRow row;
    row.edit = edits[e].name;
    for (size_t p = 0; p < n; ++p) {
      if (best[e][p] < 0) continue;
      ++row.total;
      row.found += best[e][p] <= threshold ? 1 : 0;
      row.distances.push_back(best[e][p]);
    }
    table.found += row.found;
    table.total += row.total;
    table.rows.push_back(std::move(row));
  }
  return table;
}

std::string FormatRobustnessTable(const RobustnessTable& t) {
  std::string s =
      fmt::format("plain PDQ (fast mode, best of 8 dihedral variants), threshold {}, {} photos\n",
                  t.threshold, t.photos);
  s += fmt::format("{:<16} {:>9} {:>8} {:>8}\n", "edit", "found", "recall", "median_d");
  for (const auto& r : t.rows) {
    std::vector<int> d = r.distances;
    std::sort(d.begin(), d.end());
    const int median = d.empty() ? -1 : d[d.size() / 2];
    s += fmt::format("{:<16} {:>4}/{:<4} {:>7.1f}% {:>8}\n", r.edit, r.found, r.total,
                     100.0 * r.recall(), median);
  }
  s += fmt::format("{:<16} {:>4}/{:<4} {:>7.1f}%\n", "overall", t.found, t.total,
                   t.total == 0 ? 0.0 : 100.0 * t.found / t.total);
  return s;
}

}  // namespace takedown::testing
