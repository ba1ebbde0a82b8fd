#include "support/match_eval.h"

#include <fmt/format.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "core/file.h"
#include "media/decode.h"
#include "support/edits.h"

namespace takedown::testing {
namespace {
std::string Base(const std::string& p) { return p.substr(p.find_last_of('/') + 1); }
using Clock = std::chrono::steady_clock;
}  // namespace

std::set<std::pair<std::string, std::string>> LoadNearDuplicates(
    const std::vector<std::string>& tsv_paths) {
  std::set<std::pair<std::string, std::string>> out;
  for (const auto& path : tsv_paths) {
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

MatchEvaluation EvaluateMatching(const std::vector<std::string>& photos,
                                 const match::MatchOptions& mo, int threads,
                                 const std::set<std::pair<std::string, std::string>>& near,
                                 bool hash_only, const std::vector<Edit>* edit_list,
                                 size_t query_stride) {
  const auto& edits = edit_list != nullptr ? *edit_list : ReshareEdits();
  query_stride = std::max<size_t>(1, query_stride);
  const size_t n = photos.size();
  MatchEvaluation ev;
  ev.photos = n;
  std::vector<match::FileSignals> bank(n);
  std::vector<bool> ok(n, false);
  std::atomic<size_t> next{0};
  const auto t0 = Clock::now();
  auto bank_worker = [&] {
    match::SignalHasher h;
    for (size_t i; (i = next.fetch_add(1)) < n;) {
      auto r = hash_only ? h.HashFile(photos[i], false, {}, hash::HashMode::kReference)
                         : h.HashFile(photos[i], true);
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
  ev.bank_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  match::Matcher matcher(mo);
  for (size_t i = 0; i < n; ++i)
    matcher.Add(!ok[i]      ? match::BankItem{}
                : hash_only ? match::HashOnlyBankItem(bank[i].plain.pdq)
                            : match::BankItemFrom(bank[i]));
  matcher.Build();

  ev.rows.resize(edits.size() + 1);
  ev.rows[0].edit = "(unedited)";
  for (size_t e = 0; e < edits.size(); ++e) ev.rows[e + 1].edit = edits[e].name;
  std::mutex mu;
  next = 0;
  auto query_worker = [&] {
    match::SignalHasher h;
    for (size_t k; (k = next.fetch_add(1)) * query_stride < n;) {
      const size_t i = k * query_stride;
      if (!ok[i]) continue;
      auto pixels = media::DecodeImageFile(photos[i], {});
      auto original = ReadFileLimited(photos[i], uint64_t{1} << 30);
      if (!pixels.ok() || !original.ok()) continue;
      for (size_t e = 0; e <= edits.size(); ++e) {
        const std::vector<uint8_t> bytes = e == 0 ? *original : edits[e - 1].apply(pixels->image);
        auto q = h.HashBytes(bytes, false, {}, nullptr, hash::HashMode::kFast, hash_only);
        if (!q.ok()) continue;
        bool plain = false, robust = false;
        std::set<std::string> signals;
        std::vector<std::string> wrong;
        for (const auto& m : matcher.Match(match::QueryItemFrom(*q))) {
          if (m.item == i) {
            robust = true;
            plain |= m.signal == "pdq";
            signals.insert(m.signal);
          } else if (!near.count({Base(photos[i]), Base(photos[m.item])})) {
            wrong.push_back(fmt::format("{} [{}] -> {} via {} ({}, d={})", Base(photos[i]),
                                        ev.rows[e].edit, Base(photos[m.item]), m.signal, m.variant,
                                        m.distance));
          }
        }
        std::string miss;
        if (!robust) {
          auto box = [](const std::optional<match::Rect>& r) {
            return r ? fmt::format("{:.0f},{:.0f} {:.0f}x{:.0f}", r->x, r->y, r->w, r->h)
                     : std::string("none");
          };
          miss = fmt::format(
              "{} [{}]: upload {}x{} box {} layers {} quality {}; bank {}x{} box {} quality {}",
              Base(photos[i]), ev.rows[e].edit, q->plain.width, q->plain.height, box(q->query.box),
              q->query.layers.size(), q->query.norm.quality, bank[i].plain.width,
              bank[i].plain.height, box(bank[i].query.box), bank[i].query.norm.quality);
        }
        std::lock_guard lock(mu);
        if (!miss.empty()) ev.miss_list.push_back(std::move(miss));
        EditTally& t = ev.rows[e];
        ++t.total;
        t.plain += plain;
        t.robust += robust;
        t.false_matches += static_cast<int>(wrong.size());
        for (const auto& s : signals) ++t.by_signal[s];
        for (auto& w : wrong) ev.false_list.push_back(std::move(w));
      }
    }
  };
  for (int t = 0; t < threads; ++t) pool.emplace_back(query_worker);
  for (auto& t : pool) t.join();
  return ev;
}

std::string FormatMatchEvaluation(const MatchEvaluation& ev) {
  std::string s = fmt::format("{:<16} {:>9} {:>9} {:>6}   {}\n", "edit", "plain", "robust", "false",
                              "found by (photos per signal)");
  int total = 0, plain = 0, robust = 0, falses = 0;
  for (size_t e = 0; e < ev.rows.size(); ++e) {
    const EditTally& t = ev.rows[e];
    std::string by;
    for (const auto& [sig, c] : t.by_signal) by += fmt::format("{} {}  ", sig, c);
    s += fmt::format("{:<16} {:>8.1f}% {:>8.1f}% {:>6}   {}\n", t.edit,
                     100.0 * t.plain / std::max(1, t.total),
                     100.0 * t.robust / std::max(1, t.total), t.false_matches, by);
    if (e > 0) {
      total += t.total;
      plain += t.plain;
      robust += t.robust;
    }
    falses += t.false_matches;
  }
  s += fmt::format("{:<16} {:>8.1f}% {:>8.1f}% {:>6}\n", "overall (edits)",
                   100.0 * plain / std::max(1, total), 100.0 * robust / std::max(1, total), falses);
  for (size_t i = 0; i < std::min<size_t>(ev.false_list.size(), 20); ++i)
    s += "  false match: " + ev.false_list[i] + "\n";
  return s;
}

}  // namespace takedown::testing
