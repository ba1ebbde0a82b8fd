#include "match/signals.h"

#include <fmt/format.h>

#include "core/file.h"

namespace takedown::match {
namespace {

constexpr const char* kDihedralNames[8] = {"original", "rotate90", "rotate180", "rotate270",
                                           "flipx",    "flipy",    "flipplus1", "flipminus1"};
constexpr double kCrops[] = {0.95, 0.90, 0.85, 0.80};
constexpr double kRotations[] = {-6, -4, -2, 2, 4, 6};
constexpr double kRegionSize = 0.5;


Rect Whole(const LumaPlane& p) { return {0, 0, static_cast<double>(p.width), static_cast<double>(p.height)}; }

Rect CentreCrop(const Rect& r, double keep) {
  return {r.x + r.w * (1 - keep) / 2, r.y + r.h * (1 - keep) / 2, r.w * keep, r.h * keep};
}

hash::PdqHash HashRect(const LumaPlane& p, const Rect& r, hash::DihedralHashes* dih = nullptr) {
  hash::pdq::Buffer64 block;
  AreaResample64(p, r, block);
  return HashBlock(block, dih);
}

std::array<hash::PdqHash, kRegions> Regions(const LumaPlane& p, const Rect& base) {
  std::array<hash::PdqHash, kRegions> out;
  const double rw = base.w * kRegionSize, rh = base.h * kRegionSize;
  for (int k = 0; k < kRegions; ++k) {
    const double fx = (k % 3) * 0.25, fy = (k / 3) * 0.25;
    out[static_cast<size_t>(k)] = HashRect(p, {base.x + base.w * fx, base.y + base.h * fy, rw, rh});
  }
  return out;
}

void AddDihedral(const std::string& prefix, const LumaPlane& p, const Rect& r, std::vector<NamedHash>* out) {
  hash::DihedralHashes dih;
  const hash::PdqHash h = HashRect(p, r, &dih);
  for (int k = 0; k < 8; ++k) out->push_back({prefix + "/" + kDihedralNames[k], {dih[k], h.quality}});
}

}  // namespace

QuerySignals ComputeQuerySignals(const LumaPlane& plane, double to_source, bool regions) {
  QuerySignals q;
  const Rect whole = Whole(plane);
  q.norm = HashRect(plane, whole);
  const auto box = DetectContentBox(plane);
  if (const auto frame = DetectFrameBox(plane);
      frame && (!box || frame->x != box->x || frame->y != box->y || frame->w != box->w || frame->h != box->h)) {
    q.frame_hash = HashRect(plane, *frame);
  }
  if (box) {
    q.box_hash = HashRect(plane, *box);
    q.box = Rect{box->x * to_source, box->y * to_source, box->w * to_source, box->h * to_source};
    if (regions) q.box_regions = Regions(plane, *box);
  }
  if (regions) q.regions = Regions(plane, whole);
  return q;
}

BankSignals ComputeBankSignals(const LumaPlane& plane, double to_source, bool regions) {
  BankSignals b;
  b.query = ComputeQuerySignals(plane, to_source, regions);
  const Rect whole = Whole(plane);
  AddDihedral("norm", plane, whole, &b.whole);
  const auto box = DetectContentBox(plane);
  if (box) AddDihedral("box", plane, *box, &b.whole);
  // Crops of the whole picture (a cropped copy) and of its box (a cropped copy of a framed one).
  for (double keep : kCrops) {
    const int pct = static_cast<int>(keep * 100 + 0.5);
    AddDihedral(fmt::format("crop{}", pct), plane, CentreCrop(whole, keep), &b.whole);
    if (box) AddDihedral(fmt::format("boxcrop{}", pct), plane, CentreCrop(*box, keep), &b.whole);
  }
  for (double deg : kRotations) {
    const LumaPlane rotated = Rotate(plane, deg);
    b.whole.push_back({fmt::format("rot{:+d}", static_cast<int>(deg)), HashRect(rotated, whole)});
  }
  return b;
}

Result<FileSignals> SignalHasher::HashBytes(std::span<const uint8_t> bytes, bool bank,
                                            const media::DecodeLimits& limits,
                                            hash::ImageStageTimes* times, hash::HashMode mode,
                                            bool dihedral) {
  hash::ImageHashOptions opts;
  opts.mode = mode;
  opts.dihedral = bank || dihedral;
  opts.limits = limits;
  FileSignals out;
  auto plain = hasher_.HashBytes(bytes, opts, times, [&](const media::DecodedImage& d) {
    const LumaPlane plane = WorkingPlane(d.image);
    const double to_source = static_cast<double>(d.source_width) / plane.width;
    if (bank) {
      BankSignals b = ComputeBankSignals(plane, to_source, regions_);
      out.query = std::move(b.query);
      out.variants = std::move(b.whole);
    } else {
      out.query = ComputeQuerySignals(plane, to_source, regions_);
    }
  });
  if (!plain.ok()) return plain.status();
  out.plain = std::move(plain).value();
  return out;
}

Result<FileSignals> SignalHasher::HashFile(const std::string& path, bool bank,
                                           const media::DecodeLimits& limits, hash::HashMode mode,
                                           bool dihedral) {
  TD_ASSIGN_OR_RETURN(Bytes bytes, ReadFileLimited(path, limits.max_file_bytes));
  return HashBytes(bytes, bank, limits, nullptr, mode, dihedral);
}

}  // namespace takedown::match
