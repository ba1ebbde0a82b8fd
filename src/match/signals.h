// Robust matching signals (issue: match what re-sharing does to an image).
//
// Upload side -- every uploaded image, so cheap: from one working plane (<= 512 px), the whole
// image area-averaged to 64 x 64 ("norm": stable under resizing, unlike PDQ whose filter depends
// on the size), the content box ("box": the picture without borders, bars, captions or a
// screenshot's chrome) and a 3 x 3 grid of regions, each half the picture's width and height
// ("region_0".."region_8", of the whole picture and again of the box: a sticker or a watermark
// spoils a few of them, not most). Each costs a 64 x 64 resample and a DCT. A picture turned on a
// filled canvas (DetectTurn) is turned back and hashed as two more layers.
//
// Bank side -- the few items in banks, so thorough: every whole-image signal in its 8 dihedral
// variants, centre crops of 95, 90, 85 and 80% of the picture and of its box (each in 8
// variants) and of 75..50% (original orientation), the box with one or two of its edges moved
// 2.5% in or out, rotations of +-2, 4 and 6 degrees with filled corners, the picture
// straightened at every degree to +-15 (turned, cropped to the largest upright rectangle), and
// turned by every odd angle to +-15 on a fill of its own edges' luma, on the canvas kept and on
// the canvas enlarged ("edgeturn": a turn no edge shows, which the upload cannot undo).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "hash/image_signals.h"
#include "match/plane.h"

namespace takedown::match {

constexpr int kRegions = 9;  // 3 x 3 windows of 50%, at 0, 25% and 50% across and down

struct QuerySignals {
  hash::PdqHash norm;
  std::optional<Rect> box;  // in the original image's pixels
  std::optional<hash::PdqHash> box_hash;
  std::optional<hash::PdqHash> frame_hash;  // the frame-only box, when it differs from the box
  std::vector<hash::PdqHash> layers;
  std::array<hash::PdqHash, kRegions> regions;                     // of the whole picture
  std::optional<std::array<hash::PdqHash, kRegions>> box_regions;  // of the box
  // The 8 dihedral variants of norm and of the box hash (from the same DCT, nearly free): a
  // hash-only bank item has no variants, so the upload undoes a turn or a mirror by itself.
  std::optional<hash::DihedralHashes> norm_dihedral, box_dihedral;
};

struct NamedHash {
  std::string name;  // e.g. "norm/rotate90", "crop85/flipx", "rot-4"
  hash::PdqHash hash;
};

struct BankSignals {
  QuerySignals query;  // what an upload of this item would give (no turn search: see the variants)
  std::vector<NamedHash> whole;  // whole-image variants to match norm and box against
};

// From a decoded image's working plane; `to_source` maps plane pixels to the source's (width
// ratio). regions = false skips the 3 x 3 region hashes (most of the cost; the service uses norm
// and box). `image`, the decoded pixels the plane was made from, lets a small content box be
// found again at full resolution (see LocateBox in signals.cc); without it the plane's box is used.
QuerySignals ComputeQuerySignals(const LumaPlane& plane, double to_source, bool regions = true,
                                 const media::Image* image = nullptr);
BankSignals ComputeBankSignals(const LumaPlane& plane, double to_source, bool regions = true,
                               const media::Image* image = nullptr);

// Everything for one file: the plain signals of `takedown hash` plus the robust ones.
struct FileSignals {
  hash::ImageSignals plain;  // pdq (with dihedral for bank items), digests, sizes
  QuerySignals query;
  std::vector<NamedHash> variants;  // bank variants, when asked for
};

// One per thread.
class SignalHasher {
 public:
  // bank: compute the plain dihedral variants and the bank-side variants too. mode: the decode
  // mode of the plain PDQ (the robust signals are the same in either). dihedral: the plain
  // dihedral variants even for a query.
  Result<FileSignals> HashBytes(std::span<const uint8_t> bytes, bool bank,
                                const media::DecodeLimits& limits = {},
                                hash::ImageStageTimes* times = nullptr,
                                hash::HashMode mode = hash::HashMode::kFast, bool dihedral = false);
  Result<FileSignals> HashFile(const std::string& path, bool bank,
                               const media::DecodeLimits& limits = {},
                               hash::HashMode mode = hash::HashMode::kFast, bool dihedral = false);

  // Without the region hashes (left at their defaults): what the service needs, at a fraction
  // of the cost.
  void set_regions(bool on) { regions_ = on; }
  // Pixels decoded elsewhere (see ImageHasher::HashDecoded): the same signals, no digests.
  FileSignals HashDecoded(media::DecodedImage decoded, bool bank,
                          hash::HashMode mode = hash::HashMode::kFast, bool dihedral = false);

 private:
  hash::ImageHasher hasher_;
  bool regions_ = true;
};

}  // namespace takedown::match
