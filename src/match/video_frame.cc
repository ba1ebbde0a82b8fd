#include "match/video_frame.h"

#include <cmath>

#include "match/plane.h"

namespace takedown::match {
namespace {

hash::PdqHash HashRect(const LumaPlane& p, const Rect& r, hash::DihedralHashes* dih = nullptr) {
  hash::pdq::Buffer64 block;
  AreaResample64(p, r, block);
  return HashBlock(block, dih);
}

}  // namespace

hash::PdqHash HashPlaneRect(const LumaPlane& plane, const Rect& rect) {
  return HashRect(plane, rect);
}

std::optional<Rect> MotionBox(const std::vector<LumaPlane>& planes) {
  if (planes.size() < static_cast<size_t>(kMotionMinFrames)) return std::nullopt;
  const int w = planes[0].width, h = planes[0].height;
  for (const auto& p : planes) {
    if (p.width != w || p.height != h) return std::nullopt;
  }
  const size_t n = static_cast<size_t>(w) * h;
  std::vector<uint16_t> changed(n, 0);
  std::vector<float> mean(n, 0);
  for (size_t t = 0; t < planes.size(); ++t) {
    for (size_t i = 0; i < n; ++i) {
      mean[i] += planes[t].px[i] / static_cast<float>(planes.size());
      if (t > 0 && std::abs(planes[t].px[i] - planes[t - 1].px[i]) > kMotionLevel) ++changed[i];
    }
  }
  // The seed: rows, then columns within them, where kMotionShare of the pixels moved (changed
  // between two pairs of samples or more: a progress bar or a clock changes once).
  auto moves = [&](int x, int y) { return changed[static_cast<size_t>(y) * w + x] >= 2; };
  std::vector<int> rows(h, 0);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) rows[y] += moves(x, y) ? 1 : 0;
  }
  int y0 = 0, y1 = h - 1;
  while (y0 < h && rows[y0] < kMotionShare * w) ++y0;
  while (y1 > y0 && rows[y1] < kMotionShare * w) --y1;
  if (y0 >= h) return std::nullopt;
  std::vector<int> cols(w, 0);
  for (int y = y0; y <= y1; ++y) {
    for (int x = 0; x < w; ++x) cols[x] += moves(x, y) ? 1 : 0;
  }
  int x0 = 0, x1 = w - 1;
  while (x0 < w && cols[x0] < kMotionShare * (y1 - y0 + 1)) ++x0;
  while (x1 > x0 && cols[x1] < kMotionShare * (y1 - y0 + 1)) --x1;
  if (x0 >= w) return std::nullopt;
  // Grown over the still parts of the video (a wall, a table: textured), up to the flat margin
  // around it: a row or column is flat when its mean step between neighbours, over the box's
  // extent, is under kMotionFlat. An app's bars, text and controls lie beyond such a margin.
  auto busy = [&](size_t start, size_t stride, int steps) {
    double sum = 0;
    for (int i = 0; i < steps; ++i)
      sum += std::abs(mean[start + (i + 1) * stride] - mean[start + i * stride]);
    return sum / std::max(1, steps) >= kMotionFlat;
  };
  auto row_busy = [&](int y) { return busy(static_cast<size_t>(y) * w + x0, 1, x1 - x0); };
  auto col_busy = [&](int x) { return busy(static_cast<size_t>(y0) * w + x, w, y1 - y0); };
  for (bool grew = true; grew;) {
    grew = false;
    if (y0 > 0 && row_busy(y0 - 1)) --y0, grew = true;
    if (y1 < h - 1 && row_busy(y1 + 1)) ++y1, grew = true;
    if (x0 > 0 && col_busy(x0 - 1)) --x0, grew = true;
    if (x1 < w - 1 && col_busy(x1 + 1)) ++x1, grew = true;
  }
  // A video as wide (or tall) as the screen: when one side reached the frame's edge and the other
  // stopped at lines that are flat all the way to the edge, those are the picture's own (a flat
  // sky), not a margin with the app beyond it.
  auto flat_to = [&](int from, int to, const auto& busy) {
    for (int k = from; k != to; k += from < to ? 1 : -1) {
      if (busy(k)) return false;
    }
    return !busy(to);
  };
  if (x1 == w - 1 && x0 > 0 && flat_to(x0 - 1, 0, col_busy)) x0 = 0;
  if (x0 == 0 && x1 < w - 1 && flat_to(x1 + 1, w - 1, col_busy)) x1 = w - 1;
  if (y1 == h - 1 && y0 > 0 && flat_to(y0 - 1, 0, row_busy)) y0 = 0;
  if (y0 == 0 && y1 < h - 1 && flat_to(y1 + 1, h - 1, row_busy)) y1 = h - 1;
  const Rect r{static_cast<double>(x0), static_cast<double>(y0), static_cast<double>(x1 - x0 + 1),
               static_cast<double>(y1 - y0 + 1)};
  const bool part = r.h <= 0.9 * h || r.w <= 0.9 * w;
  if (!part || r.w * r.h < 0.2 * w * h || r.w < 16 || r.h < 16) return std::nullopt;
  return r;
}

VideoFrameSignals HashVideoFrame(const media::Image& frame, double seconds, bool bank,
                                 hash::PdqHasher& pdq, LumaPlane* plane_out) {
  VideoFrameSignals s;
  s.seconds = seconds;
  s.pdq = pdq.HashImage(frame, 0);
  LumaPlane plane = WorkingPlane(frame, 256);
  const Rect whole{0, 0, static_cast<double>(plane.width), static_cast<double>(plane.height)};
  hash::DihedralHashes dih;
  s.norm = HashRect(plane, whole, &dih);
  s.norm_mirror = dih[static_cast<int>(hash::pdq::Dihedral::kFlipY)];
  auto centre = [&](double keep) {
    return HashRect(plane, {whole.w * (1 - keep) / 2, whole.h * (1 - keep) / 2, whole.w * keep,
                            whole.h * keep});
  };
  if (bank) {
    for (double keep : kVideoCrops) s.norm_crops.push_back(centre(keep));
  } else {
    for (double keep : kVideoProbeCrops) s.probes.push_back(centre(keep));
  }
  if (const auto box = DetectContentBox(plane)) s.box = HashRect(plane, *box);
  if (plane_out != nullptr) *plane_out = std::move(plane);
  return s;
}

nlohmann::json PdqPairJson(const hash::PdqHash& h) { return {h.hash.ToHex(), h.quality}; }

nlohmann::json FrameToJson(const VideoFrameSignals& f) {
  nlohmann::json j = {{"t", f.seconds}, {"pdq", PdqPairJson(f.pdq)}, {"norm", PdqPairJson(f.norm)}};
  if (f.norm_mirror != hash::Hash256{}) j["mirror"] = f.norm_mirror.ToHex();
  if (!f.norm_crops.empty()) {
    j["crops"] = nlohmann::json::array();
    for (const auto& c : f.norm_crops) j["crops"].push_back(PdqPairJson(c));
  }
  if (!f.probes.empty()) {
    j["probes"] = nlohmann::json::array();
    for (const auto& c : f.probes) j["probes"].push_back(PdqPairJson(c));
  }
  if (f.box) j["box"] = PdqPairJson(*f.box);
  if (f.motion) j["motion"] = PdqPairJson(*f.motion);
  return j;
}

}  // namespace takedown::match
