#include "media/preview.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>

#include "media/decode.h"
#include "media/video.h"

namespace takedown::media {
namespace {

// Area average of `in` (grey or RGB) to w x h, as grey when `grey`.
Image AreaResize(const Image& in, int w, int h, bool grey) {
  const int c = in.channels();
  const int oc = grey ? 1 : c;
  Image out = Image::Allocate(w, h, grey || c == 1 ? PixelFormat::kGray8 : PixelFormat::kRgb8);
  for (int y = 0; y < h; ++y) {
    const int y0 = y * in.height / h, y1 = std::max(y0 + 1, (y + 1) * in.height / h);
    for (int x = 0; x < w; ++x) {
      const int x0 = x * in.width / w, x1 = std::max(x0 + 1, (x + 1) * in.width / w);
      double acc[3] = {0, 0, 0};
      for (int yy = y0; yy < y1; ++yy) {
        const uint8_t* row = in.row(yy);
        for (int xx = x0; xx < x1; ++xx) {
          if (c == 1) {
            acc[0] += row[xx];
          } else if (grey) {
            acc[0] += 0.299 * row[3 * xx] + 0.587 * row[3 * xx + 1] + 0.114 * row[3 * xx + 2];
          } else {
            for (int k = 0; k < 3; ++k) acc[k] += row[3 * xx + k];
          }
        }
      }
      const double n = static_cast<double>((y1 - y0) * (x1 - x0));
      for (int k = 0; k < (c == 1 ? 1 : oc); ++k)
        out.row(y)[x * out.channels() + k] = static_cast<uint8_t>(std::lround(acc[k] / n));
    }
  }
  return out;
}

// Bilinear upscale of a grey image.
Image Bilinear(const Image& in, int w, int h) {
  Image out = Image::Allocate(w, h, PixelFormat::kGray8);
  for (int y = 0; y < h; ++y) {
    const double fy = std::clamp((y + 0.5) * in.height / h - 0.5, 0.0, in.height - 1.0);
    const int y0 = static_cast<int>(fy), y1 = std::min(y0 + 1, in.height - 1);
    const double ty = fy - y0;
    for (int x = 0; x < w; ++x) {
      const double fx = std::clamp((x + 0.5) * in.width / w - 0.5, 0.0, in.width - 1.0);
      const int x0 = static_cast<int>(fx), x1 = std::min(x0 + 1, in.width - 1);
      const double tx = fx - x0;
      const double v = (1 - ty) * ((1 - tx) * in.row(y0)[x0] + tx * in.row(y0)[x1]) +
                       ty * ((1 - tx) * in.row(y1)[x0] + tx * in.row(y1)[x1]);
      out.row(y)[x] = static_cast<uint8_t>(std::lround(v));
    }
  }
  return out;
}

std::pair<int, int> Fit(int w, int h, int max_side) {
  if (w <= max_side && h <= max_side) return {w, h};
  return w >= h ? std::pair{max_side, std::max(1, h * max_side / w)}
                : std::pair{std::max(1, w * max_side / h), max_side};
}

}  // namespace

Image BlurredGrey(const Image& in, int max_side) {
  const auto [sw, sh] = Fit(in.width, in.height, 16);
  const Image small = AreaResize(in, sw, sh, true);
  const auto [w, h] = Fit(in.width, in.height, max_side);
  return Bilinear(small, w, h);
}

Result<std::vector<uint8_t>> ReviewerPreview(std::span<const uint8_t> bytes, bool reveal,
                                             int max_side) {
  DecodeOptions o;
  TD_ASSIGN_OR_RETURN(auto d, DecodeImage(bytes, o));
  if (!reveal) return EncodeJpeg(BlurredGrey(d.image, max_side), 80);
  const auto [w, h] = Fit(d.image.width, d.image.height, max_side);
  return EncodeJpeg(AreaResize(d.image, w, h, false), 85);
}

Result<std::vector<uint8_t>> ReviewerVideoPreview(std::span<const uint8_t> bytes, bool reveal,
                                                  int frame, int frames, double duration_s,
                                                  int max_side) {
  if (frame < 0 || frames < 1) return InvalidArgument("frame: out of range");
  VideoOptions o;
  o.keyframes_only = true;
  o.keyframe_interval = duration_s > 0 ? std::max(0.5, duration_s / frames) : 1.0;
  o.apply_rotation = true;
  o.max_wall_seconds = 60;
  // One thread: a few keyframes decoded alone gain nothing from more, and the sandboxed workers
  // that make previews may start none (their seccomp filter kills a thread's clone).
  o.threads = 1;
  std::optional<Image> picked;
  int seen = 0;
  VideoInfo info;
  VideoReport report;
  TD_RETURN_IF_ERROR(DecodeVideoBytes(
      bytes, o, nullptr,
      [&](const VideoFrame& f) {
        if (seen == frame && f.image != nullptr) picked = *f.image;
        ++seen;
      },
      &info, &report));
  if (!picked) {
    return NotFound(fmt::format("frame {}: the video has {} keyframe{} to show (0 to {})", frame,
                                seen, seen == 1 ? "" : "s", std::max(0, seen - 1)));
  }
  if (!reveal) return EncodeJpeg(BlurredGrey(*picked, max_side), 80);
  const auto [w, h] = Fit(picked->width, picked->height, max_side);
  return EncodeJpeg(AreaResize(*picked, w, h, false), 85);
}

Result<std::vector<uint8_t>> PreviewOf(std::span<const uint8_t> bytes, const PreviewRequest& r) {
  return r.video ? ReviewerVideoPreview(bytes, r.reveal, r.frame, r.frames, r.duration_s)
                 : ReviewerPreview(bytes, r.reveal);
}

}  // namespace takedown::media
