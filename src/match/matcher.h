// Matching an upload's signals against bank items' signals, with a stated threshold per signal.
//
// The rule: an upload matches a bank item when any of these holds --
//   "sha256":  the file's bytes are identical (exact copies, whatever their content);
//   "pdq":     its plain PDQ is within pdq_threshold of one of the item's 8 dihedral PDQs
//              (exchange-compatible; the classic rule);
//   "norm", "box", "layer": its whole-image, content-box (or frame-box) signal, or one of its
//              frame layers (a screenshot's picture inside its bubble), is within whole_threshold
//              of one of the item's whole-image variants (dihedral, crops, box edges moved,
//              rotations);
//   hash-only items (a PDQ from a hash list, no picture to make variants from): the upload undoes
//              what it can by itself -- its own 8 dihedral PDQs ("pdq", variant "upload/rotate90"
//              ...), and its whole-image, content-box and layer signals ("norm", "box", "layer",
//              variant "hash-only") -- each within hash_only_threshold of the item's PDQ;
//   "regions": at least region_votes of its 9 grid regions (of the whole picture, or of its box)
//              are each within region_threshold of the item's region in the same place (of the
//              item's whole picture, or of its box).
// Signals whose quality is below min_quality (flat, featureless content) are not used: a blank
// region or a blank picture says nothing about identity.
//
// Built once from bank items (Add, then queries); queries are thread-safe. Each family of
// signals sits in its own HashIndex (exact radius search).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "index/hash_index.h"
#include "match/signals.h"

namespace takedown::match {

struct MatchOptions {
  int pdq_threshold = 31;
  int whole_threshold = 31;
  int region_threshold = 31;
  int region_votes = 3;
  int hash_only_threshold = 31;
  int min_quality = 50;         // for pdq, norm and box (PDQ's own rule)
  int region_min_quality = 50;  // for each region
};

// What a bank item contributes: its plain dihedral PDQs and its robust signals.
struct BankItem {
  std::string sha256;                       // of the file's bytes ("" when only hashes are known)
  std::vector<hash::PdqHash> pdq_variants;  // the 8 dihedral plain PDQs (or just the one)
  QuerySignals query;                       // its own upload-side signals (regions used)
  std::vector<NamedHash> whole;             // bank variants (at least "norm" and "box")
  bool hash_only = false;                   // only pdq_variants[0] is known (a hash list's entry)
};

// A hash list's entry: its PDQ and nothing else.
BankItem HashOnlyBankItem(const hash::PdqHash& pdq);

// What an upload offers.
struct QueryItem {
  std::string sha256;
  hash::PdqHash pdq;
  QuerySignals signals;
  // The upload's 8 dihedral PDQs (hashed with dihedral = true): matched against hash-only items.
  std::optional<hash::DihedralHashes> pdq_dihedral;
};

struct SignalMatch {
  uint64_t item;       // the bank item's number (order of Add, from 0)
  std::string signal;  // "sha256", "pdq", "norm", "box", "layer" or "regions"
  std::string
      variant;   // the bank variant that matched ("crop90/flipx", "rot-4", "5 of 9 box/whole"...)
  int distance;  // for regions: the larger of the agreeing regions' distances
};

BankItem BankItemFrom(const FileSignals& f);
QueryItem QueryItemFrom(const FileSignals& f);

class Matcher {
 public:
  explicit Matcher(MatchOptions options);
  ~Matcher();

  // Items are numbered in the order added. Call Build() after the last Add.
  void Add(const BankItem& item);
  void Build();

  // One row per (item, signal) that matched, with the best variant of that signal; sorted by
  // item, then signal.
  std::vector<SignalMatch> Match(const QueryItem& q) const;

  size_t items() const { return items_; }
  const MatchOptions& options() const { return options_; }

 private:
  struct Variant {
    uint64_t item;
    std::string name;
  };
  MatchOptions options_;
  size_t items_ = 0;
  // Pending hashes until Build.
  std::vector<hash::Hash256> pdq_h_, whole_h_, hash_only_h_, region_h_[kRegions];
  std::vector<uint64_t> pdq_ids_, whole_ids_, hash_only_ids_,
      region_ids_[kRegions];                  // regions: item * 2 + family
  std::vector<Variant> pdq_var_, whole_var_;  // id -> (item, variant name)
  std::unordered_map<std::string, std::vector<uint64_t>> by_sha256_;
  std::unique_ptr<index::HashIndex> pdq_, whole_, hash_only_, region_[kRegions];
};

}  // namespace takedown::match
