#include "match/signals.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "core/file.h"

namespace takedown::match {
namespace {

constexpr const char* kDihedralNames[8] = {"original", "rotate90", "rotate180", "rotate270",
                                           "flipx",    "flipy",    "flipplus1", "flipminus1"};
constexpr double kCrops[] = {0.95, 0.90, 0.85, 0.80};
// More centre crops, original orientation only, each 2% of the side smaller than the one before,
// down to half of it: a crop of up to 25% a side, and what is left of a picture turned on a kept
// canvas once its cut corners are left out (see TurnedBack). PDQ holds a copy whose scale is
// within about 1% of a stored one and loses it past 2% (docs/benchmarks.md, the crop sweep), so
// crops 5% apart found a copy cropped by 5, 10 or 15% a side and missed most of those in between.
constexpr double kCropStep = 0.98, kDeepestCrop = 0.495;

// Every original-orientation crop the bank holds, largest first: kCrops and the steps between.
const std::vector<double>& BankCrops() {
  static const std::vector<double> crops = [] {
    std::vector<double> out(std::begin(kCrops), std::end(kCrops));
    for (double keep = kCropStep; keep >= kDeepestCrop; keep *= kCropStep) {
      const bool near = std::any_of(std::begin(kCrops), std::end(kCrops),
                                    [&](double k) { return std::abs(k - keep) < 0.006; });
      if (!near) out.push_back(keep);
    }
    std::sort(out.begin(), out.end(), std::greater<>());
    return out;
  }();
  return crops;
}

bool IsDihedralCrop(double keep) {
  return std::find(std::begin(kCrops), std::end(kCrops), keep) != std::end(kCrops);
}

std::string CropName(double keep) { return fmt::format("crop{}", std::lround(keep * 100)); }

constexpr double kRotations[] = {-6, -4, -2, 2, 4, 6};
// A picture straightened: turned, then cropped to the largest upright rectangle of its shape
// inside (no fill left to find the angle from), every degree up to 15 either way. Turned on the
// plane halved (each variant is area-averaged to 64 x 64 after: a quarter of the cost, the same
// hash within a bit or two).
constexpr int kStraightenMax = 15;

// A picture turned on a canvas filled with the colour of its own edges -- a product shot on white
// turned by an editor that fills with white, a blue sea on a fill of the same luma -- shows no
// edge to find the angle from (DetectTurn), so the upload cannot turn it back. The bank holds it
// turned by every odd number of degrees to kFillTurnMax either way (PDQ holds a copy turned about
// a degree from a stored one), on the canvas kept and on the canvas enlarged to hold the whole
// picture, filled with the median luma of its outer ring.
constexpr int kFillTurnMax = 15;

// The median of the plane's outermost `ring` pixels on every side.
float EdgeLuma(const LumaPlane& p, int ring = 2) {
  std::vector<float> v;
  for (int y = 0; y < p.height; ++y) {
    const bool edge_row = y < ring || y >= p.height - ring;
    for (int x = 0; x < p.width; ++x) {
      if (edge_row || x < ring || x >= p.width - ring)
        v.push_back(p.px[static_cast<size_t>(y) * p.width + x]);
    }
  }
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

// The plane centred on a canvas large enough to hold it turned by `degrees`, filled with `fill`.
LumaPlane Enlarged(const LumaPlane& p, double degrees, float fill) {
  const double a = std::abs(degrees) * M_PI / 180, c = std::cos(a), s = std::sin(a);
  LumaPlane out;
  out.width = static_cast<int>(std::lround(p.width * c + p.height * s));
  out.height = static_cast<int>(std::lround(p.width * s + p.height * c));
  out.px.assign(static_cast<size_t>(out.width) * out.height, fill);
  const int x0 = (out.width - p.width) / 2, y0 = (out.height - p.height) / 2;
  for (int y = 0; y < p.height; ++y)
    std::copy_n(p.px.data() + static_cast<size_t>(y) * p.width, p.width,
                out.px.data() + static_cast<size_t>(y + y0) * out.width + x0);
  return out;
}

LumaPlane Halved(const LumaPlane& p) {
  LumaPlane out;
  out.width = p.width / 2;
  out.height = p.height / 2;
  out.px.resize(static_cast<size_t>(out.width) * out.height);
  for (int y = 0; y < out.height; ++y)
    for (int x = 0; x < out.width; ++x)
      out.px[static_cast<size_t>(y) * out.width + x] =
          0.25f * (p.at(2 * x, 2 * y) + p.at(2 * x + 1, 2 * y) + p.at(2 * x, 2 * y + 1) +
                   p.at(2 * x + 1, 2 * y + 1));
  return out;
}
constexpr double kRegionSize = 0.5;

Rect Whole(const LumaPlane& p) {
  return {0, 0, static_cast<double>(p.width), static_cast<double>(p.height)};
}

Rect CentreCrop(const Rect& r, double keep) {
  return {r.x + r.w * (1 - keep) / 2, r.y + r.h * (1 - keep) / 2, r.w * keep, r.h * keep};
}

hash::PdqHash HashRect(const LumaPlane& p, const Rect& r, hash::DihedralHashes* dih = nullptr) {
  hash::pdq::Buffer64 block;
  AreaResample64(p, r, block);
  return HashBlock(block, dih);
}

// A rectangle's whole-picture hash and its 3 x 3 regions from one 128 x 128 resample: each region
// (half the size, at a quarter step) is a 64 x 64 block of it, the whole its 2 x 2 means -- the
// same values as resampling each separately, for one pass over the pixels instead of ten.
struct WithRegions {
  hash::PdqHash whole;
  std::array<hash::PdqHash, kRegions> regions;
};

WithRegions HashWithRegions(const LumaPlane& p, const Rect& base,
                            hash::DihedralHashes* dih = nullptr) {
  static_assert(kRegionSize == 0.5, "regions are 64 x 64 blocks of a 128 x 128 resample");
  thread_local std::vector<float> r(128 * 128);
  AreaResample(p, base, 128, r.data());
  WithRegions out;
  hash::pdq::Buffer64 block;
  for (int i = 0; i < 64; ++i) {
    const float* a = r.data() + static_cast<size_t>(2 * i) * 128;
    const float* b = a + 128;
    for (int j = 0; j < 64; ++j)
      block[static_cast<size_t>(i * 64 + j)] =
          0.25f * (a[2 * j] + a[2 * j + 1] + b[2 * j] + b[2 * j + 1]);
  }
  out.whole = HashBlock(block, dih);
  for (int k = 0; k < kRegions; ++k) {
    const int bx = (k % 3) * 32, by = (k / 3) * 32;
    for (int i = 0; i < 64; ++i) {
      std::copy_n(r.data() + static_cast<size_t>(by + i) * 128 + bx, 64, block.data() + i * 64);
    }
    out.regions[static_cast<size_t>(k)] = HashBlock(block);
  }
  return out;
}

void AddDihedral(const std::string& prefix, const LumaPlane& p, const Rect& r,
                 std::vector<NamedHash>* out) {
  hash::DihedralHashes dih;
  const hash::PdqHash h = HashRect(p, r, &dih);
  for (int k = 0; k < 8; ++k)
    out->push_back({prefix + "/" + kDihedralNames[k], {dih[k], h.quality}});
}

// The content box and the pixels it is hashed from. Found on the working plane; a box under
// kRefineBelow plane pixels a side on a plane averaged down from the image (a small picture in a
// large screenshot, a small object on a white page) is found again in the image's own pixels
// around it, where its edges are a pixel apart instead of `factor` pixels: at 16-60 pixels a
// side, a one-line error moves PDQ further than its threshold.
constexpr int kRefineBelow = 64;
constexpr int64_t kRefineMaxPixels = int64_t{1} << 20;

struct LocatedBox {
  const LumaPlane* plane = nullptr;  // the working plane, or the refined crop
  Rect rect;                         // in *plane
  Rect source;                       // in the source image's pixels
};

std::optional<LocatedBox> LocateBox(const LumaPlane& plane, const std::optional<Rect>& box,
                                    double to_source, const media::Image* image, LumaPlane* crop) {
  if (!box) return std::nullopt;
  LocatedBox out{&plane,
                 *box,
                 {box->x * to_source, box->y * to_source, box->w * to_source, box->h * to_source}};
  const int f = image ? WorkingFactor(image->width, image->height) : 1;
  if (f < 2 || std::min(box->w, box->h) >= kRefineBelow) return out;
  // Two plane pixels of margin: the frame lines just outside, trimmed again at full resolution.
  const int x0 = std::max(0, static_cast<int>(box->x) - 2) * f,
            y0 = std::max(0, static_cast<int>(box->y) - 2) * f;
  const int x1 = std::min(plane.width, static_cast<int>(box->x + box->w) + 2) * f;
  const int y1 = std::min(plane.height, static_cast<int>(box->y + box->h) + 2) * f;
  // A long thin box on a very large image would make a large crop: it keeps the plane's box.
  if (static_cast<int64_t>(x1 - x0) * (y1 - y0) > kRefineMaxPixels) return out;
  *crop = LumaCrop(*image, x0, y0, x1 - x0, y1 - y0);
  const auto fine = DetectContentBox(*crop);
  if (!fine) return out;           // nothing to trim at full resolution: the plane's box stands
  const double s = to_source / f;  // source pixels per image pixel
  out.plane = crop;
  out.rect = *fine;
  out.source = {(x0 + fine->x) * s, (y0 + fine->y) * s, fine->w * s, fine->h * s};
  return out;
}

// Bank-side variants of the content box with its edges moved: the box an upload's frame gives
// is found a line or two off where JPEG noise or a frame of the picture's own edge colour blurs
// the border, and PDQ on a small box moves past its threshold with it. Each edge moved in or
// out by kEdgeShift of the box's size, one or two edges at a time (32 variants, original
// orientation only); measured with `takedown-bench match` (captions, screenshots).
constexpr double kEdgeShift = 0.025;

void AddEdgeShifts(const LumaPlane& p, const Rect& box, std::vector<NamedHash>* out) {
  const double sx = box.w * kEdgeShift, sy = box.h * kEdgeShift;
  const char sign[3] = {'-', '0', '+'};
  for (int l = -1; l <= 1; ++l) {
    for (int t = -1; t <= 1; ++t) {
      for (int r = -1; r <= 1; ++r) {
        for (int b = -1; b <= 1; ++b) {
          const int moved = (l != 0) + (t != 0) + (r != 0) + (b != 0);
          if (moved == 0 || moved > 2) continue;
          // '+' moves an edge outwards, '-' inwards.
          const double x0 = std::max(0.0, box.x - l * sx), y0 = std::max(0.0, box.y - t * sy);
          const double x1 = std::min<double>(p.width, box.x + box.w + r * sx);
          const double y1 = std::min<double>(p.height, box.y + box.h + b * sy);
          if (x1 - x0 < 8 || y1 - y0 < 8) continue;
          out->push_back(
              {fmt::format("boxedge/{}{}{}{}", sign[l + 1], sign[t + 1], sign[r + 1], sign[b + 1]),
               HashRect(p, {x0, y0, x1 - x0, y1 - y0})});
        }
      }
    }
  }
}

// The frame's layers hashed on the upload side (see DetectFrames): a screenshot's picture sits
// several frames deep, inside a bubble whose colour may continue into the picture's own edge.
constexpr int kLayers = 8;

// A caption bar of the picture's own background colour (a white bar over a picture on white)
// leaves no edge between bar and picture: the frame detector trims through to the object; and a
// picture whose own far edge is flat is trimmed there too, so its box is not the picture either.
// CaptionCuts gives the picture under a top caption and above a bottom one when a band of text
// sits inside a run of one solid colour at that edge. Where the text may end (after each of its
// first kMaxTextEnds lines: an i's dot, or a caption's second line, also leave a gap), the bar
// ends either where the solid run after the text ends (the picture's own edge is not the bar's
// colour) or, within that run, as far below the text as it starts above it: caption tools centre
// the text's line in its bar. They centre the line's box, not its ink: text in capitals leaves
// the descent below the ink empty, text without ascenders the space above, so the centred cut is
// also probed every kCaptionStep of the picture's height (PDQ holds a cut about 1% off) up to
// kCaptionReach of the ink's height either way.
constexpr float kSolidTolerance = 14;
constexpr int kMaxTextEnds = 3;
constexpr double kCaptionStep = 0.01, kCaptionReach = 0.35;
constexpr double kTextBackground = 0.3;  // the least share of a line of text in the bar's colour

std::vector<Rect> CaptionCuts(const LumaPlane& p) {
  std::vector<Rect> out;
  if (p.width < 16 || p.height < 32) return out;
  auto row_stats = [&](int y, float c, double* background) {
    int near = 0;
    float worst = 0;
    for (int x = 0; x < p.width; ++x) {
      const float d = std::abs(p.at(x, y) - c);
      near += d <= kSolidTolerance;
      worst = std::max(worst, d);
    }
    *background = static_cast<double>(near) / p.width;
    return worst <= kSolidTolerance;  // solid
  };
  for (int side = 0; side < 2; ++side) {  // 0: a caption on top, 1: at the bottom
    auto row = [&](int i) { return side == 0 ? i : p.height - 1 - i; };
    // The picture without the bar's `cut` lines at this edge, once each.
    auto add = [&](int cut) {
      if (p.height - cut < p.height / 2) return;
      const Rect r =
          side == 0 ? Rect{0, static_cast<double>(cut), static_cast<double>(p.width),
                           static_cast<double>(p.height - cut)}
                    : Rect{0, 0, static_cast<double>(p.width), static_cast<double>(p.height - cut)};
      if (std::find(out.begin(), out.end(), r) == out.end()) out.push_back(r);
    };
    std::vector<float> first(static_cast<size_t>(p.width));
    for (int x = 0; x < p.width; ++x) first[static_cast<size_t>(x)] = p.at(x, row(0));
    std::nth_element(first.begin(), first.begin() + p.width / 2, first.end());
    const float c = first[static_cast<size_t>(p.width / 2)];
    double bg = 0;
    int t0 = 0;  // the text's first line
    while (t0 < p.height && row_stats(row(t0), c, &bg)) ++t0;
    if (t0 == 0 || t0 >= p.height / 2) continue;
    int i = t0;
    for (int ends = 0; ends < kMaxTextEnds && i < p.height / 2; ++ends) {
      int t1 = i;  // a line of text: rows with some of the bar's colour between the letters
      while (t1 < p.height / 2 && !row_stats(row(t1), c, &bg) && bg >= kTextBackground) ++t1;
      if (t1 == i || t1 - t0 > p.height / 5) break;
      int q = t1;  // the solid run after it
      while (q < p.height && row_stats(row(q), c, &bg)) ++q;
      if (q == t1) {
        // No gap: large type's descenders reach the bar's end, and the picture starts where the
        // rows stop having the bar's colour between the letters.
        add(t1);
        break;
      }
      add(q);
      const int step = std::max(1, static_cast<int>(std::lround(kCaptionStep * p.height)));
      const double reach = kCaptionReach * (t1 - t0);
      for (int k = 0; k * step <= reach; ++k) {
        for (const int cut : {t0 + t1 + k * step, t0 + t1 - k * step}) {
          if (cut > t1 && cut < q) add(cut);
        }
      }
      i = q;
    }
  }
  return out;
}

// The largest centred crop of a w x h picture turned by `degrees` that holds picture only.
double InsideTurned(double w, double h, double degrees) {
  const double a = std::abs(degrees) * M_PI / 180, c = std::cos(a), s = std::sin(a);
  return std::min(w / (w * c + h * s), h / (w * s + h * c));
}

// A turned picture (DetectTurn) turned back, hashed two ways: as on an enlarged canvas (the whole
// picture, upright again in the canvas's middle; matched by the bank's "norm") and as on a kept
// canvas (the picture is the canvas, its corners cut off: the deepest bank crop that holds only
// picture). One of the two is the picture; the other is a probe that finds nothing.
std::vector<hash::PdqHash> TurnedBack(const LumaPlane& plane, const media::Image* image) {
  std::vector<hash::PdqHash> out;
  const auto turn = DetectTurn(plane, image);
  if (!turn) return out;
  const LumaPlane back = Rotate(plane, -turn->degrees, turn->fill);
  const double a = std::abs(turn->degrees) * M_PI / 180, c = std::cos(a), s = std::sin(a);
  const double W = plane.width, H = plane.height, d = c * c - s * s;
  const double w = (W * c - H * s) / d, h = (H * c - W * s) / d;
  if (w >= 16 && h >= 16) out.push_back(HashRect(back, {(W - w) / 2, (H - h) / 2, w, h}));
  const double inside = InsideTurned(W, H, turn->degrees) - 0.01;
  const auto& crops = BankCrops();
  const auto fits = std::find_if(crops.begin(), crops.end(), [&](double k) { return k <= inside; });
  if (fits != crops.end()) out.push_back(HashRect(back, CentreCrop(Whole(back), *fits)));
  return out;
}

// `turned`: look for a picture turned on a filled canvas (an upload's signal; a bank item is
// matched through its own straightened and cropped variants instead).
QuerySignals QuerySignalsWith(const LumaPlane& plane, bool regions, const FrameBoxes& frames,
                              const std::optional<LocatedBox>& box, const media::Image* image,
                              bool turned) {
  QuerySignals q;
  const Rect whole = Whole(plane);
  hash::DihedralHashes dih;
  if (regions) {
    auto w = HashWithRegions(plane, whole, &dih);
    q.norm = w.whole;
    q.regions = w.regions;
  } else {
    q.norm = HashRect(plane, whole, &dih);
  }
  q.norm_dihedral = dih;
  const auto& content = frames.content;
  if (frames.frame && frames.frame != content) q.frame_hash = HashRect(plane, *frames.frame);
  for (const Rect& r : frames.layers) {
    if (r != content && r != frames.frame)
      q.layers.push_back(HashRect(plane, r));  // not hashed twice
  }
  if (turned) {
    for (const auto& h : TurnedBack(plane, image)) q.layers.push_back(h);
  }
  // Last: the service keeps an upload's first service::kMaxLayers layers.
  for (const Rect& r : CaptionCuts(plane)) q.layers.push_back(HashRect(plane, r));
  if (box) {
    q.box = box->source;
    if (regions) {
      auto w = HashWithRegions(*box->plane, box->rect, &dih);
      q.box_hash = w.whole;
      q.box_regions = w.regions;
    } else {
      q.box_hash = HashRect(*box->plane, box->rect, &dih);
    }
    q.box_dihedral = dih;
  }
  return q;
}

}  // namespace

QuerySignals ComputeQuerySignals(const LumaPlane& plane, double to_source, bool regions,
                                 const media::Image* image) {
  LumaPlane crop;
  const FrameBoxes frames = DetectFrames(plane, kLayers);
  return QuerySignalsWith(plane, regions, frames,
                          LocateBox(plane, frames.content, to_source, image, &crop), image,
                          /*turned=*/true);
}

BankSignals ComputeBankSignals(const LumaPlane& plane, double to_source, bool regions,
                               const media::Image* image) {
  BankSignals b;
  LumaPlane crop;
  const FrameBoxes frames = DetectFrames(plane, kLayers);
  const auto box = LocateBox(plane, frames.content, to_source, image, &crop);
  b.query = QuerySignalsWith(plane, regions, frames, box, image, /*turned=*/false);
  const Rect whole = Whole(plane);
  AddDihedral("norm", plane, whole, &b.whole);
  if (box) {
    AddDihedral("box", *box->plane, box->rect, &b.whole);
    AddEdgeShifts(*box->plane, box->rect, &b.whole);
  }
  // Crops of the whole picture (a cropped copy) and of its box (a cropped copy of a framed one).
  for (double keep : kCrops) {
    AddDihedral(CropName(keep), plane, CentreCrop(whole, keep), &b.whole);
    if (box)
      AddDihedral("box" + CropName(keep), *box->plane, CentreCrop(box->rect, keep), &b.whole);
  }
  for (double keep : BankCrops()) {
    if (!IsDihedralCrop(keep))
      b.whole.push_back({CropName(keep), HashRect(plane, CentreCrop(whole, keep))});
  }
  for (double deg : kRotations) {
    const LumaPlane rotated = Rotate(plane, deg);
    b.whole.push_back({fmt::format("rot{:+d}", static_cast<int>(deg)), HashRect(rotated, whole)});
  }
  const LumaPlane half = std::min(plane.width, plane.height) >= 128 ? Halved(plane) : plane;
  const Rect half_whole = Whole(half);
  for (int deg = -kStraightenMax; deg <= kStraightenMax; ++deg) {
    if (deg == 0) continue;
    const LumaPlane rotated = Rotate(half, deg);
    b.whole.push_back(
        {fmt::format("straight{:+d}", deg),
         HashRect(rotated, CentreCrop(half_whole, InsideTurned(half.width, half.height, deg)))});
  }
  // Turned on the plane quartered (at least 64 pixels a side, the hash's own size): these have no
  // fine detail at the edge to keep, and the enlarged canvases cost the most.
  const LumaPlane quarter = std::min(half.width, half.height) >= 128 ? Halved(half) : half;
  const Rect quarter_whole = Whole(quarter);
  const float edge = EdgeLuma(quarter);
  for (int deg = -kFillTurnMax; deg <= kFillTurnMax; deg += 2) {
    const LumaPlane kept = Rotate(quarter, deg, edge);
    b.whole.push_back({fmt::format("edgeturn{:+d}", deg), HashRect(kept, quarter_whole)});
    const LumaPlane enlarged = Rotate(Enlarged(quarter, deg, edge), deg, edge);
    b.whole.push_back(
        {fmt::format("edgeturn{:+d}/enlarged", deg), HashRect(enlarged, Whole(enlarged))});
  }
  return b;
}

namespace {

// Computes the robust signals from the decoded image PDQ was hashed from.
std::function<void(const media::DecodedImage&)> RobustSignalsInto(FileSignals* out, bool bank,
                                                                  bool regions) {
  return [=](const media::DecodedImage& d) {
    const LumaPlane plane = WorkingPlane(d.image);
    const double to_source = static_cast<double>(d.source_width) / plane.width;
    if (bank) {
      BankSignals b = ComputeBankSignals(plane, to_source, regions, &d.image);
      out->query = std::move(b.query);
      out->variants = std::move(b.whole);
    } else {
      out->query = ComputeQuerySignals(plane, to_source, regions, &d.image);
    }
  };
}

hash::ImageHashOptions PlainOptions(bool bank, hash::HashMode mode, bool dihedral, bool digests,
                                    const media::DecodeLimits& limits) {
  hash::ImageHashOptions opts;
  opts.mode = mode;
  opts.dihedral = bank || dihedral;
  opts.digests = digests;
  opts.limits = limits;
  return opts;
}

}  // namespace

Result<FileSignals> SignalHasher::HashBytes(std::span<const uint8_t> bytes, bool bank,
                                            const media::DecodeLimits& limits,
                                            hash::ImageStageTimes* times, hash::HashMode mode,
                                            bool dihedral) {
  FileSignals out;
  auto plain = hasher_.HashBytes(bytes, PlainOptions(bank, mode, dihedral, true, limits), times,
                                 RobustSignalsInto(&out, bank, regions_));
  if (!plain.ok()) return plain.status();
  out.plain = std::move(plain).value();
  return out;
}

FileSignals SignalHasher::HashDecoded(media::DecodedImage decoded, bool bank, hash::HashMode mode,
                                      bool dihedral) {
  FileSignals out;
  out.plain = hasher_.HashDecoded(std::move(decoded), PlainOptions(bank, mode, dihedral, false, {}),
                                  nullptr, RobustSignalsInto(&out, bank, regions_));
  return out;
}

Result<FileSignals> SignalHasher::HashFile(const std::string& path, bool bank,
                                           const media::DecodeLimits& limits, hash::HashMode mode,
                                           bool dihedral) {
  TD_ASSIGN_OR_RETURN(Bytes bytes, ReadFileLimited(path, limits.max_file_bytes));
  return HashBytes(bytes, bank, limits, nullptr, mode, dihedral);
}

}  // namespace takedown::match
