#include "match/plane.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>

#include "hash/pdq_kernels.h"

namespace takedown::match {

int WorkingFactor(int width, int height, int max_side) {
  const int longer = std::max(width, height);
  return std::max(1, (longer + max_side - 1) / max_side);
}

namespace {

// Luma of the image's pixels [x, x + w) of row y (grey kept, RGB weighted as PDQ does).
void LumaOfRow(const media::Image& image, int y, int x, int w, float* out) {
  const uint8_t* src = image.row(y) + static_cast<size_t>(x) * image.channels();
  if (image.format == media::PixelFormat::kGray8) {
    hash::pdq::LumaFromGray(src, static_cast<size_t>(w), out);
  } else {
    hash::pdq::LumaFromRgb(src, static_cast<size_t>(w), out);
  }
}

}  // namespace

LumaPlane LumaCrop(const media::Image& image, int x, int y, int w, int h) {
  x = std::clamp(x, 0, image.width);
  y = std::clamp(y, 0, image.height);
  w = std::clamp(w, 0, image.width - x);
  h = std::clamp(h, 0, image.height - y);
  LumaPlane p;
  p.width = w;
  p.height = h;
  p.px.resize(static_cast<size_t>(w) * h);
  for (int r = 0; r < h; ++r)
    LumaOfRow(image, y + r, x, w, p.px.data() + static_cast<size_t>(r) * w);
  return p;
}

LumaPlane WorkingPlane(const media::Image& image, int max_side) {
  const int f = WorkingFactor(image.width, image.height, max_side);
  LumaPlane p;
  p.width = std::max(1, image.width / f);
  p.height = std::max(1, image.height / f);
  p.px.assign(static_cast<size_t>(p.width) * p.height, 0.0f);
  auto luma = [&](int y, float* out) { LumaOfRow(image, y, 0, image.width, out); };
  if (f == 1) {  // the image is small enough: its luma is the plane
    if (image.width == p.width && image.height == p.height) {
      for (int y = 0; y < p.height; ++y) luma(y, p.px.data() + static_cast<size_t>(y) * p.width);
    } else {  // an empty dimension, given one pixel
      std::vector<float> line(static_cast<size_t>(image.width));
      for (int y = 0; y < std::min(p.height, image.height); ++y) {
        luma(y, line.data());
        std::copy_n(line.data(), std::min(p.width, image.width),
                    p.px.data() + static_cast<size_t>(y) * p.width);
      }
    }
    return p;
  }
  std::vector<float> line(static_cast<size_t>(image.width));
  const float inv = 1.0f / static_cast<float>(f * f);
  for (int y = 0; y < p.height * f && y < image.height; ++y) {
    luma(y, line.data());
    float* o = p.px.data() + static_cast<size_t>(y / f) * p.width;
    const float* in = line.data();
    for (int x = 0; x < p.width; ++x, in += f) {
      const int m = std::min(f, image.width - x * f);  // fewer when the image is narrower than f
      float s = 0;
      for (int k = 0; k < m; ++k) s += in[k];
      o[x] += s;
    }
  }
  for (auto& v : p.px) v *= inv;
  return p;
}

namespace {

// Area weights of the source indices for each of n outputs covering [start, start + len):
// output i reads w[k] * src[first[i] + k - off[i]] for k in [off[i], off[i + 1]).
struct Taps {
  std::vector<int> first, off;
  std::vector<float> w;
};

void BuildTaps(double start, double len, int limit, int n, Taps& t) {
  t.first.assign(static_cast<size_t>(n), 0);
  t.off.assign(static_cast<size_t>(n) + 1, 0);
  t.w.clear();
  const double step = len / n;
  for (int i = 0; i < n; ++i) {
    const double a = start + i * step, b = a + step;
    const int ia = std::max(0, static_cast<int>(std::floor(a)));
    const int ib = std::min(limit, static_cast<int>(std::ceil(b)));
    const size_t k0 = t.w.size();
    double total = 0;
    int first = -1;
    for (int s = ia; s < ib; ++s) {
      const double w = std::min<double>(b, s + 1) - std::max<double>(a, s);
      if (w > 0) {
        if (first < 0) first = s;
        // Indices are consecutive from `first`; a zero-weight gap cannot occur inside [ia, ib).
        t.w.push_back(static_cast<float>(w));
        total += w;
      }
    }
    if (first < 0) {  // a rectangle thinner than a pixel: nearest source
      first = std::clamp(static_cast<int>(a), 0, limit - 1);
      t.w.push_back(1.0f);
      total = 1;
    }
    for (size_t k = k0; k < t.w.size(); ++k) t.w[k] = static_cast<float>(t.w[k] / total);
    t.first[static_cast<size_t>(i)] = first;
    t.off[static_cast<size_t>(i) + 1] = static_cast<int>(t.w.size());
  }
}

}  // namespace

void AreaResample(const LumaPlane& plane, const Rect& rect, int n, float* out) {
  thread_local Taps tx, ty;
  thread_local std::vector<float> rows;
  BuildTaps(rect.x, rect.w, plane.width, n, tx);
  BuildTaps(rect.y, rect.h, plane.height, n, ty);
  const auto un = static_cast<size_t>(n);
  // Columns first: for each source row in use, n horizontal samples.
  const int y_lo = ty.first[0];
  const int y_hi = ty.first[un - 1] + (ty.off[un] - ty.off[un - 1]);
  rows.resize(static_cast<size_t>(y_hi - y_lo) * un);
  for (int y = y_lo; y < y_hi; ++y) {
    const float* src = plane.px.data() + static_cast<size_t>(y) * plane.width;
    float* dst = rows.data() + static_cast<size_t>(y - y_lo) * un;
    for (size_t j = 0; j < un; ++j) {
      const float* x = src + tx.first[j];
      const float* w = tx.w.data() + tx.off[j];
      const int m = tx.off[j + 1] - tx.off[j];
      float acc = 0;
      for (int k = 0; k < m; ++k) acc += w[k] * x[k];
      dst[j] = acc;
    }
  }
  for (size_t i = 0; i < un; ++i) {
    float* o = out + i * un;
    std::fill(o, o + un, 0.0f);
    const float* w = ty.w.data() + ty.off[i];
    const int m = ty.off[i + 1] - ty.off[i];
    for (int k = 0; k < m; ++k) {
      const float* r = rows.data() + static_cast<size_t>(ty.first[i] + k - y_lo) * un;
      for (size_t j = 0; j < un; ++j) o[j] += w[k] * r[j];
    }
  }
}

void AreaResample64(const LumaPlane& plane, const Rect& rect, hash::pdq::Buffer64& out) {
  AreaResample(plane, rect, 64, out.data());
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

using Hist = std::array<uint16_t, kBins>;

// Per-line luma histograms of the lines of one direction, each over the current extent of the
// other, and what the rules below read from them.
struct LineHists {
  const std::vector<Hist>* h = nullptr;
  int n = 0;  // pixels per line

  // Share of the line in band `b` (bins b-1..b+1).
  double In(int line, int b) const {
    const auto& x = (*h)[static_cast<size_t>(line)];
    int c = x[static_cast<size_t>(b)];
    if (b > 0) c += x[static_cast<size_t>(b - 1)];
    if (b + 1 < kBins) c += x[static_cast<size_t>(b + 1)];
    return static_cast<double>(c) / n;
  }
  // The best band, its share, and how far the pixels outside it are from it on average.
  void Best(int line, int* band, double* share, double* off) const {
    const auto& x = (*h)[static_cast<size_t>(line)];
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

// The box being trimmed, with every row's histogram over its columns and every column's over its
// rows, kept up to date as lines are trimmed: one pass over the plane to start, then work in
// proportion to what is trimmed (recomputing them for each round cost ~40% of an upload's robust
// signals).
class Trimmer {
 public:
  explicit Trimmer(const LumaPlane& p) : w_(p.width), h_(p.height), x1_(p.width), y1_(p.height) {
    bins_.resize(p.px.size());
    rows_.assign(static_cast<size_t>(h_), Hist{});
    cols_.assign(static_cast<size_t>(w_), Hist{});
    for (int y = 0; y < h_; ++y) {
      const float* in = p.px.data() + static_cast<size_t>(y) * w_;
      uint8_t* out = bins_.data() + static_cast<size_t>(y) * w_;
      Hist& row = rows_[static_cast<size_t>(y)];
      for (int x = 0; x < w_; ++x) {
        const auto b = static_cast<uint8_t>(std::clamp(static_cast<int>(in[x]) / 4, 0, kBins - 1));
        out[x] = b;
        ++row[b];
        ++cols_[static_cast<size_t>(x)][b];
      }
    }
  }

  int x0() const { return x0_; }
  int x1() const { return x1_; }
  int y0() const { return y0_; }
  int y1() const { return y1_; }
  Rect box() const {
    return {static_cast<double>(x0_), static_cast<double>(y0_), static_cast<double>(x1_ - x0_),
            static_cast<double>(y1_ - y0_)};
  }
  LineHists rows() const { return {&rows_, x1_ - x0_}; }
  LineHists cols() const { return {&cols_, y1_ - y0_}; }

  // Trim k lines at one side (callers keep at least one line).
  void Top(int k) {
    for (; k > 0; --k) DropRow(y0_++);
  }
  void Bottom(int k) {
    for (; k > 0; --k) DropRow(--y1_);
  }
  void Left(int k) {
    for (; k > 0; --k) DropCol(x0_++);
  }
  void Right(int k) {
    for (; k > 0; --k) DropCol(--x1_);
  }

 private:
  void DropRow(int y) {  // the row leaves every column's histogram
    const uint8_t* b = bins_.data() + static_cast<size_t>(y) * w_;
    for (int x = x0_; x < x1_; ++x) --cols_[static_cast<size_t>(x)][b[x]];
  }
  void DropCol(int x) {
    for (int y = y0_; y < y1_; ++y)
      --rows_[static_cast<size_t>(y)][bins_[static_cast<size_t>(y) * w_ + x]];
  }

  int w_, h_;
  int x0_ = 0, x1_, y0_ = 0, y1_;
  std::vector<uint8_t> bins_;
  std::vector<Hist> rows_, cols_;
};

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
int TrimAt(const LineHists& l, int edge, int dir, int limit, bool busy, int* band_out = nullptr) {
  int band;
  double share, off;
  l.Best(edge, &band, &share, &off);
  if (band_out != nullptr) *band_out = band;
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
void PeelSolidColumns(Trimmer& t) {
  const LineHists cols = t.cols();
  auto solid = [&](int x) {
    int band;
    double share, off;
    cols.Best(x, &band, &share, &off);
    return share >= kSolid;
  };
  int x0 = t.x0(), x1 = t.x1();
  while (x1 - x0 > 16 && solid(x0)) ++x0;
  while (x1 - x0 > 16 && solid(x1 - 1)) --x1;
  t.Left(x0 - t.x0());
  t.Right(t.x1() - x1);
}

// One side's trim of up to `t` lines, never below 16 lines.
int Keep16(int t, int extent) { return std::min(t, extent - 16); }

// Trims frame lines from the outside in: rows at top and bottom, then columns at left and
// right, over the current extent, until nothing changes. busy: the busy-line rule too.
void Shrink(Trimmer& t, bool busy) {
  auto rows = [&] {
    const LineHists l = t.rows();
    for (int k; t.y1() - t.y0() > 16 && (k = TrimAt(l, t.y0(), +1, t.y1(), busy)) > 0;)
      t.Top(Keep16(k, t.y1() - t.y0()));
    for (int k; t.y1() - t.y0() > 16 && (k = TrimAt(l, t.y1() - 1, -1, t.y0() - 1, busy)) > 0;)
      t.Bottom(Keep16(k, t.y1() - t.y0()));
  };
  auto cols = [&] {
    const LineHists l = t.cols();
    for (int k; t.x1() - t.x0() > 16 && (k = TrimAt(l, t.x0(), +1, t.x1(), busy)) > 0;)
      t.Left(Keep16(k, t.x1() - t.x0()));
    for (int k; t.x1() - t.x0() > 16 && (k = TrimAt(l, t.x1() - 1, -1, t.x0() - 1, busy)) > 0;)
      t.Right(Keep16(k, t.x1() - t.x0()));
  };
  for (int round = 0; round < 4; ++round) {
    const Rect before = t.box();
    rows();
    cols();
    if (t.box() == before) break;
  }
}

std::optional<Rect> Trimmed(const LumaPlane& p, const Rect& r) {
  const bool trimmed = r.x > 0 || r.y > 0 || r.w < p.width || r.h < p.height;
  // A small box is still the same small box on both sides (a product shot on white); only
  // slivers too thin to hash are refused.
  if (!trimmed || r.w < 16 || r.h < 16) return std::nullopt;
  return r;
}

}  // namespace

FrameBoxes DetectFrames(const LumaPlane& p, int max_layers) {
  FrameBoxes out;
  Trimmer t(p);
  if (max_layers > 0) {
    // One unit (a solid run or a panel) per side per step, from a copy of the untrimmed state;
    // each side's units remembered with their colour band and where they end.
    struct Unit {
      int band, end;
    };
    std::array<std::vector<Unit>, 4> units;  // top, bottom, left, right
    Trimmer l = t;
    auto side = [&](int which, const LineHists& h, int edge, int dir, int limit, int extent,
                    auto trim) {
      if (extent <= 16) return;
      int band = 0;
      const int k = Keep16(TrimAt(h, edge, dir, limit, false, &band), extent);
      if (k <= 0) return;
      trim(k);
      const int end = which == 0 ? l.y0() : which == 1 ? l.y1() : which == 2 ? l.x0() : l.x1();
      units[static_cast<size_t>(which)].push_back({band, end});
    };
    for (int step = 0; step < 64; ++step) {
      const Rect before = l.box();
      {
        const LineHists rows = l.rows();
        side(0, rows, l.y0(), +1, l.y1(), l.y1() - l.y0(), [&](int k) { l.Top(k); });
        side(1, rows, l.y1() - 1, -1, l.y0() - 1, l.y1() - l.y0(), [&](int k) { l.Bottom(k); });
      }
      {
        const LineHists cols = l.cols();
        side(2, cols, l.x0(), +1, l.x1(), l.x1() - l.x0(), [&](int k) { l.Left(k); });
        side(3, cols, l.x1() - 1, -1, l.x0() - 1, l.x1() - l.x0(), [&](int k) { l.Right(k); });
      }
      if (l.box() == before) break;
      if (static_cast<int>(out.layers.size()) < max_layers) out.layers.push_back(l.box());
    }
    // Rings: sides step out of phase (a screenshot has more frames above its picture than
    // below), so the picture's own box may be no step's box. A colour met on all four sides --
    // a message bubble, a mat -- rings what is inside it: on each side, the end of the last unit
    // of that colour.
    auto last_of = [&](int which, int band) {
      int end = -1;
      for (const Unit& u : units[static_cast<size_t>(which)]) {
        if (std::abs(u.band - band) <= 1) end = u.end;
      }
      return end;
    };
    for (const Unit& u : units[0]) {
      const int y0 = last_of(0, u.band), y1 = last_of(1, u.band), x0 = last_of(2, u.band),
                x1 = last_of(3, u.band);
      if (y1 < 0 || x0 < 0 || x1 < 0 || y1 - y0 < 16 || x1 - x0 < 16) continue;
      const Rect r{static_cast<double>(x0), static_cast<double>(y0), static_cast<double>(x1 - x0),
                   static_cast<double>(y1 - y0)};
      if (std::find(out.layers.begin(), out.layers.end(), r) == out.layers.end())
        out.layers.push_back(r);
    }
  }
  // Solid columns first (a pillarbox makes every row mostly bar), then solid lines and panels on
  // every side (the frame box), then busy lines too (the content box); rows first within each
  // round (captions and screenshots put their frames above and below).
  PeelSolidColumns(t);
  Shrink(t, false);
  out.frame = Trimmed(p, t.box());
  Shrink(t, true);
  out.content = Trimmed(p, t.box());
  return out;
}

std::optional<Rect> DetectFrameBox(const LumaPlane& p) { return DetectFrames(p, 0).frame; }

std::optional<Rect> DetectContentBox(const LumaPlane& p) { return DetectFrames(p, 0).content; }

LumaPlane Rotate(const LumaPlane& p, double degrees, float fill) {
  LumaPlane out;
  out.width = p.width;
  out.height = p.height;
  out.px.assign(p.px.size(), fill);
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

namespace {

// Fill triangles, measured on the plane (at most ~512 px a side).
constexpr float kFillCornerSpread = 10;  // the four corners' luma agree this closely
// A fill pixel, under JPEG ringing and edge blur: every channel within kFillTolerance of the
// corners' colour, or with luma alone (a greyscale decode) within kFillLumaTolerance of theirs:
// tighter, for picture of another colour and the same luma is told apart by nothing else.
constexpr float kFillTolerance = 12;
constexpr float kFillLumaTolerance = 6;
constexpr int kMinLongLeg = 16;                  // plane pixels along the triangle's longer side
constexpr double kMinTurn = 0.5, kMaxTurn = 20;  // degrees
constexpr double kAgree = 1.5;                   // degrees between corners' estimates

float CornerLuma(const LumaPlane& p, int x0, int y0) {
  float sum = 0;
  for (int dy = 0; dy < 3; ++dy)
    for (int dx = 0; dx < 3; ++dx) sum += p.at(x0 + dx, y0 + dy);
  return sum / 9;
}

// The colour of the plane's pixels [x0, x0 + n) x [y0, y0 + n), as the mean of the image pixels
// they were averaged from (a plane pixel is factor x factor of them).
using Colour = std::array<float, 3>;
Colour ColourOf(const media::Image& image, int factor, int x0, int y0, int n) {
  Colour sum{0, 0, 0};
  int count = 0;
  const int x1 = std::min(image.width, (x0 + n) * factor);
  const int y1 = std::min(image.height, (y0 + n) * factor);
  for (int y = y0 * factor; y < y1; ++y) {
    const uint8_t* row = image.row(y);
    for (int x = x0 * factor; x < x1; ++x, ++count)
      for (int k = 0; k < 3; ++k) sum[static_cast<size_t>(k)] += row[3 * x + k];
  }
  for (auto& v : sum) v /= static_cast<float>(std::max(1, count));
  return sum;
}

// Whether a plane pixel is the fill: its luma near the corners', and with the image's colours,
// every channel near theirs (a red-brown fill and a grey wall can have the same luma).
class FillTest {
 public:
  FillTest(const LumaPlane& p, const media::Image* image, float luma) : p_(p), luma_(luma) {
    if (image != nullptr && image->format == media::PixelFormat::kRgb8 &&
        image->width / WorkingFactor(image->width, image->height) == p.width &&
        image->height / WorkingFactor(image->width, image->height) == p.height) {
      image_ = image;
      factor_ = WorkingFactor(image->width, image->height);
    }
  }
  // Whether the four corners are one colour; sets it.
  bool CornersAgree() {
    if (image_ == nullptr) return true;
    const Colour c[4] = {ColourOf(*image_, factor_, 0, 0, 3),
                         ColourOf(*image_, factor_, p_.width - 3, 0, 3),
                         ColourOf(*image_, factor_, p_.width - 3, p_.height - 3, 3),
                         ColourOf(*image_, factor_, 0, p_.height - 3, 3)};
    for (size_t k = 0; k < 3; ++k) {
      float lo = c[0][k], hi = c[0][k];
      for (const auto& x : c) {
        lo = std::min(lo, x[k]);
        hi = std::max(hi, x[k]);
      }
      if (hi - lo > kFillCornerSpread) return false;
      colour_[k] = (c[0][k] + c[1][k] + c[2][k] + c[3][k]) / 4;
    }
    return true;
  }
  bool operator()(int x, int y) const {
    const float d = std::abs(p_.at(x, y) - luma_);
    if (image_ == nullptr) return d <= kFillLumaTolerance;
    if (d > kFillTolerance) return false;
    const Colour c = ColourOf(*image_, factor_, x, y, 1);
    for (size_t k = 0; k < 3; ++k)
      if (std::abs(c[k] - colour_[k]) > kFillTolerance) return false;
    return true;
  }

 private:
  const LumaPlane& p_;
  const media::Image* image_ = nullptr;
  int factor_ = 1;
  float luma_;
  Colour colour_{};
};

// One corner's estimate, and its weight (the longer leg: the line fitted along it): corner 0
// top-left, 1 top-right, 2 bottom-right, 3 bottom-left.
struct CornerEstimate {
  double degrees, weight;
  bool clean;  // a long, straight side: two such corners agreeing closely are enough
};
std::optional<CornerEstimate> CornerTurn(const LumaPlane& p, int corner, const FillTest& fill) {
  const bool right = corner == 1 || corner == 2, bottom = corner >= 2;
  // i along the horizontal edge, j along the vertical one, both from the corner.
  auto is_fill = [&](int i, int j) {
    return fill(right ? p.width - 1 - i : i, bottom ? p.height - 1 - j : j);
  };
  auto hrun = [&](int j) {  // fill pixels from the vertical edge along line j
    int i = 0;
    while (i < p.width && is_fill(i, j)) ++i;
    return i;
  };
  auto vrun = [&](int i) {
    int j = 0;
    while (j < p.height && is_fill(i, j)) ++j;
    return j;
  };
  const int a = hrun(0), b = vrun(0);  // the legs along the edges
  const bool flat = a >= b;            // the slanted side is nearer horizontal than vertical
  const int long_leg = std::max(a, b), short_leg = std::min(a, b);
  if (long_leg < kMinLongLeg || short_leg < 1) return std::nullopt;
  if (long_leg >= (flat ? p.width : p.height) - 2) return std::nullopt;  // a solid line: a frame
  // The short side's run at each step along the long leg falls linearly from short_leg to 0;
  // fitted away from both ends, where blur and the corner's own pixels bend it. Picture of the
  // fill's colour only lengthens a run: runs well past the line are left out and the line
  // fitted again.
  std::vector<std::pair<double, double>> pts;
  for (int t = long_leg / 8; t < long_leg * 7 / 8; ++t)
    pts.push_back({t, flat ? vrun(t) : hrun(t)});
  const size_t all = pts.size();
  if (all < 8) return std::nullopt;
  double slope = 0, icpt = 0, err = 0;
  for (int round = 0; round < 3; ++round) {
    double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (const auto& [t, r] : pts) {
      n += 1;
      sx += t;
      sy += r;
      sxx += t * t;
      sxy += t * r;
    }
    const double den = n * sxx - sx * sx;
    if (n < 8 || den <= 0) return std::nullopt;
    slope = (n * sxy - sx * sy) / den;
    icpt = (sy - slope * sx) / n;
    err = 0;
    for (const auto& [t, r] : pts) err += std::abs(r - (icpt + slope * t));
    err /= n;
    std::erase_if(pts, [&](const std::pair<double, double>& q) {
      return q.second - (icpt + slope * q.first) > 2 + 2 * err;
    });
  }
  if (slope >= 0 || pts.size() * 10 < all * 6) return std::nullopt;
  if (err > 1.0 + 0.02 * short_leg) return std::nullopt;  // not a straight edge
  const double deg = std::atan(-slope) * 180 / M_PI;
  if (deg < kMinTurn || deg > kMaxTurn) return std::nullopt;
  // A counter-clockwise turn leaves long horizontal legs at the top-left and bottom-right corners
  // and long vertical ones at the other two.
  const bool ccw = (corner == 0 || corner == 2) == flat;
  return CornerEstimate{ccw ? deg : -deg, static_cast<double>(long_leg),
                        long_leg >= 48 && err < 0.6 && pts.size() == all};
}

}  // namespace

std::optional<Turn> DetectTurn(const LumaPlane& p, const media::Image* image) {
  if (p.width < 48 || p.height < 48) return std::nullopt;
  std::array<float, 4> c = {CornerLuma(p, 0, 0), CornerLuma(p, p.width - 3, 0),
                            CornerLuma(p, p.width - 3, p.height - 3),
                            CornerLuma(p, 0, p.height - 3)};
  const auto [lo, hi] = std::minmax_element(c.begin(), c.end());
  if (*hi - *lo > kFillCornerSpread) return std::nullopt;
  const float fill = (c[0] + c[1] + c[2] + c[3]) / 4;
  FillTest is_fill(p, image, fill);
  if (!is_fill.CornersAgree()) return std::nullopt;
  std::vector<CornerEstimate> est;
  for (int k = 0; k < 4; ++k) {
    if (auto d = CornerTurn(p, k, is_fill)) est.push_back(*d);
  }
  // The largest group within kAgree of one of its members; or else two clean corners that agree
  // closely (picture of the fill's colour spoils the other two).
  auto mean = [&](const std::vector<CornerEstimate>& g) {
    double sum = 0, weights = 0;
    for (const auto& e : g) {
      sum += e.degrees * e.weight;
      weights += e.weight;
    }
    return Turn{sum / weights, fill};
  };
  std::vector<CornerEstimate> best;
  for (const auto& centre : est) {
    std::vector<CornerEstimate> g;
    for (const auto& e : est)
      if (std::abs(e.degrees - centre.degrees) <= kAgree) g.push_back(e);
    if (g.size() > best.size()) best = std::move(g);
  }
  if (best.size() >= 3) return mean(best);
  for (size_t i = 0; i < est.size(); ++i) {
    for (size_t j = i + 1; j < est.size(); ++j) {
      if (est[i].clean && est[j].clean && std::abs(est[i].degrees - est[j].degrees) <= kAgree / 3)
        return mean({est[i], est[j]});
    }
  }
  return std::nullopt;
}

}  // namespace takedown::match
