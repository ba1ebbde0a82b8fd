// Internal: swscale into an Image. swscale's SIMD paths may write past the end of a row or of
// the buffer (it expects FFmpeg's padded, aligned frames), so it writes into an AVFrame from
// av_frame_get_buffer and the rows are copied out.
#pragma once

extern "C" {
#include <libavutil/frame.h>
#include <libswscale/swscale.h>
}

#include <cstring>
#include <memory>

#include "core/status.h"
#include "media/image.h"

namespace takedown::media {

inline Status SwsScaleInto(SwsContext* sws, const AVFrame& src, AVPixelFormat dst_fmt, Image& out) {
  struct FrameFreer {
    void operator()(AVFrame* f) const { av_frame_free(&f); }
  };
  std::unique_ptr<AVFrame, FrameFreer> dst(av_frame_alloc());
  if (!dst) return ResourceExhausted("out of memory");
  dst->format = dst_fmt;
  dst->width = out.width;
  dst->height = out.height;
  if (av_frame_get_buffer(dst.get(), 64) < 0) return ResourceExhausted("out of memory for a frame");
  const int rows = sws_scale(sws, src.data, src.linesize, 0, src.height, dst->data, dst->linesize);
  if (rows != out.height) return Internal("swscale converted a partial frame");
  for (int y = 0; y < out.height; ++y) {
    std::memcpy(out.row(y), dst->data[0] + static_cast<ptrdiff_t>(y) * dst->linesize[0],
                out.row_bytes());
  }
  return Status::Ok();
}

}  // namespace takedown::media
