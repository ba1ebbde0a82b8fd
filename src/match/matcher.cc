#include "match/matcher.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace takedown::match {
namespace {
// The eight dihedral variants, in the order of hash::DihedralHashes.
constexpr const char* kDihedralNames[8] = {"original", "rotate90", "rotate180", "rotate270",
                                           "flipx",    "flipy",    "flipplus1", "flipminus1"};
}  // namespace

BankItem BankItemFrom(const FileSignals& f) {
  BankItem b;
  b.sha256 = f.plain.sha256;
  if (f.plain.dihedral) {
    for (const auto& h : *f.plain.dihedral) b.pdq_variants.push_back({h, f.plain.pdq.quality});
  } else {
    b.pdq_variants.push_back(f.plain.pdq);
  }
  b.query = f.query;
  b.whole = f.variants;
  if (b.whole.empty()) {  // not hashed as a bank item: its own signals are its only variants
    b.whole.push_back({"norm/original", f.query.norm});
    if (f.query.box_hash) b.whole.push_back({"box/original", *f.query.box_hash});
  }
  return b;
}

BankItem HashOnlyBankItem(const hash::PdqHash& pdq) {
  BankItem b;
  b.pdq_variants.push_back(pdq);
  b.query.norm.quality = 0;  // no picture: no robust signals of its own
  for (auto& r : b.query.regions) r.quality = 0;
  b.hash_only = true;
  return b;
}

QueryItem QueryItemFrom(const FileSignals& f) {
  return {f.plain.sha256, f.plain.pdq, f.query, f.plain.dihedral};
}

Matcher::Matcher(MatchOptions options) : options_(options) {}
Matcher::~Matcher() = default;

void Matcher::Add(const BankItem& item) {
  const uint64_t n = items_++;
  if (!item.sha256.empty()) by_sha256_[item.sha256].push_back(n);
  for (size_t i = 0; i < item.pdq_variants.size(); ++i) {
    const auto& v = item.pdq_variants[i];
    if (v.quality < options_.min_quality) continue;
    pdq_ids_.push_back(pdq_var_.size());
    pdq_h_.push_back(v.hash);
    pdq_var_.push_back({n, kDihedralNames[i % 8]});
  }
  if (item.hash_only && !item.pdq_variants.empty() &&
      item.pdq_variants[0].quality >= options_.min_quality) {
    hash_only_ids_.push_back(n);
    hash_only_h_.push_back(item.pdq_variants[0].hash);
  }
  for (const auto& v : item.whole) {
    if (v.hash.quality < options_.min_quality) continue;
    whole_ids_.push_back(whole_var_.size());
    whole_h_.push_back(v.hash.hash);
    whole_var_.push_back({n, v.name});
  }
  auto add_regions = [&](const std::array<hash::PdqHash, kRegions>& regions, uint64_t family) {
    for (int r = 0; r < kRegions; ++r) {
      if (regions[r].quality < options_.region_min_quality) continue;
      region_ids_[r].push_back(n * 2 + family);
      region_h_[r].push_back(regions[r].hash);
    }
  };
  add_regions(item.query.regions, 0);
  if (item.query.box_regions) add_regions(*item.query.box_regions, 1);
}

void Matcher::Build() {
  index::HashIndex::Options o;
  o.background = false;
  pdq_ = std::move(index::HashIndex::Build(pdq_h_, pdq_ids_, o).value());
  whole_ = std::move(index::HashIndex::Build(whole_h_, whole_ids_, o).value());
  hash_only_ = std::move(index::HashIndex::Build(hash_only_h_, hash_only_ids_, o).value());
  for (int r = 0; r < kRegions; ++r)
    region_[r] = std::move(index::HashIndex::Build(region_h_[r], region_ids_[r], o).value());
}

std::vector<SignalMatch> Matcher::Match(const QueryItem& q) const {
  // Best (smallest distance) per (item, signal).
  std::map<std::pair<uint64_t, std::string>, SignalMatch> best;
  auto offer = [&](const SignalMatch& m) {
    auto key = std::make_pair(m.item, m.signal);
    auto it = best.find(key);
    if (it == best.end() || m.distance < it->second.distance) best[key] = m;
  };
  if (!q.sha256.empty()) {
    if (auto it = by_sha256_.find(q.sha256); it != by_sha256_.end()) {
      for (uint64_t item : it->second) offer({item, "sha256", "exact", 0});
    }
  }
  if (q.pdq.quality >= options_.min_quality) {
    for (const auto& m : pdq_->Query(q.pdq.hash, options_.pdq_threshold)) {
      const Variant& v = pdq_var_[m.id];
      offer({v.item, "pdq", v.name, m.distance});
    }
  }
  auto whole = [&](const hash::PdqHash& h, const char* signal) {
    if (h.quality < options_.min_quality) return;
    for (const auto& m : whole_->Query(h.hash, options_.whole_threshold)) {
      const Variant& v = whole_var_[m.id];
      offer({v.item, signal, v.name, m.distance});
    }
  };
  whole(q.signals.norm, "norm");
  if (q.signals.box_hash) whole(*q.signals.box_hash, "box");
  if (q.signals.frame_hash) whole(*q.signals.frame_hash, "box");
  for (const auto& h : q.signals.layers) whole(h, "layer");
  // Hash-only items: the upload undoes the edits it can by itself.
  if (!hash_only_h_.empty()) {
    auto probe = [&](const hash::Hash256& h, int quality, const char* signal,
                     const std::string& variant) {
      if (quality < options_.min_quality) return;
      for (const auto& m : hash_only_->Query(h, options_.hash_only_threshold))
        offer({m.id, signal, variant, m.distance});
    };
    // Each turned or mirrored variant (not the original), named prefix/variant.
    auto turned = [&](const std::optional<hash::DihedralHashes>& d, int quality, const char* signal,
                      const char* prefix) {
      if (!d) return;
      for (size_t k = 1; k < d->size(); ++k)
        probe((*d)[k], quality, signal, fmt::format("{}/{}", prefix, kDihedralNames[k]));
    };
    turned(q.pdq_dihedral, q.pdq.quality, "pdq", "upload");
    probe(q.signals.norm.hash, q.signals.norm.quality, "norm", "hash-only");
    turned(q.signals.norm_dihedral, q.signals.norm.quality, "norm", "hash-only");
    if (q.signals.box_hash) {
      probe(q.signals.box_hash->hash, q.signals.box_hash->quality, "box", "hash-only");
      turned(q.signals.box_dihedral, q.signals.box_hash->quality, "box", "hash-only");
    }
    if (q.signals.frame_hash)
      probe(q.signals.frame_hash->hash, q.signals.frame_hash->quality, "box", "hash-only");
    for (const auto& h : q.signals.layers) probe(h.hash, h.quality, "layer", "hash-only");
  }
  // Votes per (bank item and its family, query family): regions agree only in the same place
  // of the same kind of frame.
  std::map<std::pair<uint64_t, int>, std::vector<int>> votes;
  auto vote = [&](const std::array<hash::PdqHash, kRegions>& regions, int family) {
    for (int r = 0; r < kRegions; ++r) {
      if (regions[r].quality < options_.region_min_quality) continue;
      for (const auto& m : region_[r]->Query(regions[r].hash, options_.region_threshold)) {
        votes[{m.id, family}].push_back(m.distance);
      }
    }
  };
  vote(q.signals.regions, 0);
  if (q.signals.box_regions) vote(*q.signals.box_regions, 1);
  static constexpr const char* kFamily[2] = {"whole", "box"};
  for (auto& [key, d] : votes) {
    if (static_cast<int>(d.size()) < options_.region_votes) continue;
    std::sort(d.begin(), d.end());
    const uint64_t item = key.first / 2;
    offer({item, "regions",
           fmt::format("{} of {} {}/{}", d.size(), kRegions, kFamily[key.second],
                       kFamily[key.first % 2]),
           d[static_cast<size_t>(options_.region_votes) - 1]});
  }
  std::vector<SignalMatch> out;
  for (auto& [k, m] : best) out.push_back(std::move(m));
  return out;
}

}  // namespace takedown::match
