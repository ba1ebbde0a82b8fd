#include "match/plane.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>

#include "hash/pdq_kernels.h"

namespace takedown::match {

LumaPlane WorkingPlane(const media::Image& image, int max_side) {
  const int longer = std::max(image.width, image.height);
  const int f = std::max(1, (longer + max_side - 1) / max_side);
  LumaPlane p;
  p.width = std::max(1, image.width / f);
  p.height = std::max(1, image.height / f);
  p.px.assign(static_cast<size_t>(p.width) * p.height, 0.0f);
  std::vector<float> line(static_cast<size_t>(image.width));
  const float inv = 1.0f / static_cast<float>(f * f);
  for (int y = 0; y < p.height * f && y < image.height; ++y) {
    if (image.format == media::PixelFormat::kGray8) {
      hash::pdq::LumaFromGray(image.row(y), static_cast<size_t>(image.width), line.data());
    } else {
      hash::pdq::LumaFromRgb(image.row(y), static_cast<size_t>(image.width), line.data());
    }
    float* o = p.px.data() + static_cast<size_t>(y / f) * p.width;
    for (int x = 0; x < p.width * f && x < image.width; ++x) o[x / f] += line[x];
  }
  for (auto& v : p.px) v *= inv;
  return p;
}

namespace {

// Weights of source indices for each of 64 outputs covering [start, start + len).
struct Taps {
  std::array<int, 65> first{};
  std::vector<std::pair<int, float>> taps[64];
};

void BuildTaps(double start, double len, int limit, Taps& t) {
  const double step = len / 64.0;
  for (int i = 0; i < 64; ++i) {
    t.taps[i].clear();
    const double a = start + i * step, b = a + step;
    const int ia = std::max(0, static_cast<int>(std::floor(a)));
    const int ib = std::min(limit, static_cast<int>(std::ceil(b)));
    double total = 0;
    for (int s = ia; s < ib; ++s) {
      const double w = std::min<double>(b, s + 1) - std::max<double>(a, s);
      if (w > 0) {
        t.taps[i].push_back({s, static_cast<float>(w)});
        total += w;
      }
    }
    if (t.taps[i].empty()) {  // a rectangle thinner than a pixel: nearest source
      t.taps[i].push_back({std::clamp(static_cast<int>(a), 0, limit - 1), 1.0f});
      total = 1;
    }
    for (auto& tap : t.taps[i]) tap.second = static_cast<float>(tap.second / total);
  }
}

}  // namespace

void AreaResample64(const LumaPlane& plane, const Rect& rect, hash::pdq::Buffer64& out) {
  Taps tx, ty;
  BuildTaps(rect.x, rect.w, plane.width, tx);
  BuildTaps(rect.y, rect.h, plane.height, ty);
  // Columns first: for each source row in use, 64 horizontal samples.
  const int y_lo = ty.taps[0].front().first, y_hi = ty.taps[63].back().first + 1;
  std::vector<float> rows(static_cast<size_t>(y_hi - y_lo) * 64);
  for (int y = y_lo; y < y_hi; ++y) {
    const float* src = plane.px.data() + static_cast<size_t>(y) * plane.width;
    float* dst = rows.data() + static_cast<size_t>(y - y_lo) * 64;
    for (int j = 0; j < 64; ++j) {
      float s = 0;
      for (const auto& [x, w] : tx.taps[j]) s += w * src[x];
      dst[j] = s;
    }
  }
  for (int i = 0; i < 64; ++i) {
    float acc[64] = {};
    for (const auto& [y, w] : ty.taps[i]) {
      const float* r = rows.data() + static_cast<size_t>(y - y_lo) * 64;
      for (int j = 0; j < 64; ++j) acc[j] += w * r[j];
    }
    std::copy(acc, acc + 64, out.begin() + i * 64);
  }
}

hash::PdqHash HashBlock(const hash::pdq::Buffer64& block, hash::DihedralHashes* dihedral) {
  hash::PdqHash h;
  h.quality = hash::pdq::Quality64(block);
  hash::pdq::Buffer16 dct;
  hash::pdq::Dct64To16(block, dct);
  h.hash = hash::pdq::BitsFromDct(dct);
  if (dihedral != nullptr) {
    hash::pdq::Buffer16 v;
    for (int k = 0; k < hash::pdq::kDihedralCount; ++k) {
      hash::pdq::DihedralDct(dct, static_cast<hash::pdq::Dihedral>(k), v);
      (*dihedral)[k] = hash::pdq::BitsFromDct(v);
    }
  }
  return h;
}

namespace {

// Bins of 4 luma levels; a bar's band is its best bin and both neighbours: 12 levels, wide enough
// for JPEG noise on a flat bar, narrow enough that the gradients of real pictures do not fit.
constexpr int kBins = 64;
constexpr double kBarFraction = 0.60;

// Per-line luma histograms (bins of 4 levels) of the lines of one direction over the current
// extent of the other, and what the rules below read from them.
struct LineHists {
  std::vector<std::array<uint16_t, kBins>> h;
  int n = 0;  // pixels per line

  // Share of the line in band `b` (bins b-1..b+1).
  double In(int line, int b) const {
    const auto& x = h[static_cast<size_t>(line)];
    int c = x[static_cast<size_t>(b)];
    if (b > 0) c += x[static_cast<size_t>(b - 1)];
    if (b + 1 < kBins) c += x[static_cast<size_t>(b + 1)];
    return static_cast<double>(c) / n;
  }
  // The best band, its share, and how far the pixels outside it are from it on average.
  void Best(int line, int* band, double* share, double* off) const {
    const auto& x = h[static_cast<size_t>(line)];
    int best = -1, bb = 0;
    for (int b = 0; b < kBins; ++b) {
      const int c = x[static_cast<size_t>(b)] + (b > 0 ? x[static_cast<size_t>(b - 1)] : 0) +
                    (b + 1 < kBins ? x[static_cast<size_t>(b + 1)] : 0);
      if (c > best) {
        best = c;
        bb = b;
      }
    }
    double d = 0;
    int m = 0;
    for (int b = 0; b < kBins; ++b) {
      if (b >= bb - 1 && b <= bb + 1) continue;
      d += static_cast<double>(x[static_cast<size_t>(b)]) * std::abs(b - bb) * (256.0 / kBins);
      m += x[static_cast<size_t>(b)];
    }
    *band = bb;
    *share = static_cast<double>(best) / n;
    *off = m == 0 ? 0 : d / m;
  }
};

LineHists RowHists(const LumaPlane& p, int x0, int x1, int y0, int y1) {
  LineHists l;
  l.n = x1 - x0;
  l.h.assign(static_cast<size_t>(p.height), {});
  for (int y = y0; y < y1; ++y) {
    auto& hist = l.h[static_cast<size_t>(y)];
    for (int x = x0; x < x1; ++x) ++hist[static_cast<size_t>(std::clamp(static_cast<int>(p.at(x, y)) / 4, 0, kBins - 1))];
  }
  return l;
}

LineHists ColHists(const LumaPlane& p, int x0, int x1, int y0, int y1) {
  LineHists l;
  l.n = y1 - y0;
  l.h.assign(static_cast<size_t>(p.width), {});
  for (int y = y0; y < y1; ++y) {
    for (int x = x0; x < x1; ++x) ++l.h[static_cast<size_t>(x)][static_cast<size_t>(std::clamp(static_cast<int>(p.at(x, y)) / 4, 0, kBins - 1))];
  }
  return l;
}

// Frame rules, for the line at the edge:
//  - solid: >= 97% in one band (borders, letterbox and pillarbox bars, margins);
//  - panel: a solid line of colour c followed, within a third of the extent, by another solid
//    line of c, every line between keeping >= 20% of c: a header, caption bar or input bar
//    with its text and icons -- trimmed through its far margin at once;
//  - busy frame line: >= 60% in one band with what lies outside it standing well apart
//    (>= 24 levels on average: text, icons, a panel's edge), unlike a sky or a wall whose other
//    pixels shade into the band.
constexpr double kSolid = 0.97;
constexpr double kPanelKeep = 0.20;
constexpr double kFarLevels = 24;

// How many lines to trim at `edge`, stepping `dir` (+1 or -1) towards `limit` (exclusive).
// `busy`: whether busy frame lines count (only once solid lines and panels are gone from every
// side, so that a picture's rows no longer carry a frame's side margins).
int TrimAt(const LineHists& l, int edge, int dir, int limit, bool busy) {
  int band;
  double share, off;
  l.Best(edge, &band, &share, &off);
  if (share >= kSolid) {
    int end = edge;  // last solid line of this colour reachable through the panel
    const int reach = std::abs(limit - edge) / 3;
    for (int k = 1; k <= reach; ++k) {
      const int line = edge + dir * k;
      const double in = l.In(line, band);
      if (in < kPanelKeep) break;
      if (in >= kSolid) end = line;
    }
    return std::abs(end - edge) + 1;
  }
  return busy && share >= kBarFraction && off >= kFarLevels ? 1 : 0;
}

// Trims solid columns at the left and right: a pillarbox, whose bars make every row mostly bar.
// (Rows are left to Shrink, whose panel rule starts from a solid margin.)
Rect PeelSolidColumns(const LumaPlane& p) {
  int x0 = 0, x1 = p.width;
  const LineHists cols = ColHists(p, 0, p.width, 0, p.height);
  auto solid = [&](int x) {
    int band;
    double share, off;
    cols.Best(x, &band, &share, &off);
    return share >= kSolid;
  };
  while (x1 - x0 > 16 && solid(x0)) ++x0;
  while (x1 - x0 > 16 && solid(x1 - 1)) --x1;
  return {static_cast<double>(x0), 0, static_cast<double>(x1 - x0), static_cast<double>(p.height)};
}

// Within `frame`, trims frame lines from the outside in: rows at top and bottom, then columns at
// left and right, over the current extent, until nothing changes.
Rect Shrink(const LumaPlane& p, const Rect& frame, bool rows_first, bool allow_busy = true) {
  int x0 = static_cast<int>(frame.x), x1 = static_cast<int>(frame.x + frame.w);
  int y0 = static_cast<int>(frame.y), y1 = static_cast<int>(frame.y + frame.h);
  bool busy = false;
  auto rows = [&] {
    const LineHists l = RowHists(p, x0, x1, y0, y1);
    for (int t; y1 - y0 > 16 && (t = TrimAt(l, y0, +1, y1, busy)) > 0;) y0 += std::min(t, y1 - y0 - 16);
    for (int t; y1 - y0 > 16 && (t = TrimAt(l, y1 - 1, -1, y0 - 1, busy)) > 0;) y1 -= std::min(t, y1 - y0 - 16);
  };
  auto cols = [&] {
    const LineHists l = ColHists(p, x0, x1, y0, y1);
    for (int t; x1 - x0 > 16 && (t = TrimAt(l, x0, +1, x1, busy)) > 0;) x0 += std::min(t, x1 - x0 - 16);
    for (int t; x1 - x0 > 16 && (t = TrimAt(l, x1 - 1, -1, x0 - 1, busy)) > 0;) x1 -= std::min(t, x1 - x0 - 16);
  };
  // Solid lines and panels first, on every side; then busy lines too.
  for (int phase = 0; phase < (allow_busy ? 2 : 1); ++phase) {
    busy = phase == 1;
    for (int round = 0; round < 4; ++round) {
      const int before = x0 + x1 + y0 + y1;
      if (rows_first) {
        rows();
        cols();
      } else {
        cols();
        rows();
      }
      if (x0 + x1 + y0 + y1 == before) break;
    }
  }
  return {static_cast<double>(x0), static_cast<double>(y0), static_cast<double>(x1 - x0),
          static_cast<double>(y1 - y0)};
}

}  // namespace

std::optional<Rect> DetectFrameBox(const LumaPlane& p) {
  const Rect r = Shrink(p, PeelSolidColumns(p), true, /*allow_busy=*/false);
  const bool trimmed = r.x > 0 || r.y > 0 || r.w < p.width || r.h < p.height;
  if (!trimmed || r.w < 16 || r.h < 16) return std::nullopt;
  return r;
}

std::optional<Rect> DetectContentBox(const LumaPlane& p) {
  // Solid columns first (a pillarbox makes every row mostly bar), then panels and busy lines,
  // rows first (captions and screenshots put their frames above and below).
  const Rect r = Shrink(p, PeelSolidColumns(p), true);
  const bool trimmed = r.x > 0 || r.y > 0 || r.w < p.width || r.h < p.height;
  // A small box is still the same small box on both sides (a product shot on white); only
  // slivers too thin to hash are refused.
  if (!trimmed || r.w < 16 || r.h < 16) return std::nullopt;
  return r;
}

LumaPlane Rotate(const LumaPlane& p, double degrees) {
  LumaPlane out;
  out.width = p.width;
  out.height = p.height;
  out.px.assign(p.px.size(), 0.0f);
  const double a = degrees * M_PI / 180.0;
  const double c = std::cos(a), s = std::sin(a);
  const double cx = (p.width - 1) / 2.0, cy = (p.height - 1) / 2.0;
  for (int y = 0; y < p.height; ++y) {
    for (int x = 0; x < p.width; ++x) {
      // Inverse map: the output pixel's source (y axis points down, so the signs follow).
      const double dx = x - cx, dy = y - cy;
      const double sx = c * dx - s * dy + cx, sy = s * dx + c * dy + cy;
      const int ix = static_cast<int>(std::floor(sx)), iy = static_cast<int>(std::floor(sy));
      if (ix < 0 || iy < 0 || ix + 1 >= p.width || iy + 1 >= p.height) continue;
      const float fx = static_cast<float>(sx - ix), fy = static_cast<float>(sy - iy);
      const float v = (1 - fy) * ((1 - fx) * p.at(ix, iy) + fx * p.at(ix + 1, iy)) +
                      fy * ((1 - fx) * p.at(ix, iy + 1) + fx * p.at(ix + 1, iy + 1));
      out.px[static_cast<size_t>(y) * out.width + x] = v;
    }
  }
  return out;
}

}  // namespace takedown::match
