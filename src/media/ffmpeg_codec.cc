// Still images through FFmpeg: an in-memory AVIOContext, the image demuxers, one decoded frame,
// swscale to RGB24 or GRAY8. The decoder's own max_pixels check rejects oversized dimensions
// before it allocates a frame.
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <string_view>

#include "media/av_memory.h"
#include "media/decoders.h"
#include "media/sws_util.h"

namespace takedown::media {
namespace {

constexpr int kMaxPackets = 256;  // packets read while looking for the first frame

std::string AvError(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(err, buf, sizeof(buf));
  return buf;
}

void QuietFfmpegOnce() {
  static std::once_flag once;
  std::call_once(once, [] { av_log_set_level(AV_LOG_QUIET); });
}

struct FormatDeleter {
  void operator()(AVFormatContext* f) const { avformat_close_input(&f); }
};
struct CodecDeleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameDeleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct SwsDeleter {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};

bool IsStillImageDemuxer(std::string_view name) {
  return name.ends_with("_pipe") || name == "gif" || name == "apng" || name == "image2" ||
         name == "ico";
}

ImageFormat FormatFromDemuxer(std::string_view name, ImageFormat sniffed) {
  if (sniffed != ImageFormat::kUnknown) return sniffed;
  if (name == "png_pipe" || name == "apng") return ImageFormat::kPng;
  if (name == "bmp_pipe") return ImageFormat::kBmp;
  if (name == "tiff_pipe") return ImageFormat::kTiff;
  if (name == "gif") return ImageFormat::kGif;
  return ImageFormat::kOther;
}

// Grey sources (with or without alpha) stay grey; everything else becomes RGB.
bool IsGreyPixelFormat(AVPixelFormat fmt) {
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(fmt);
  if (d == nullptr || (d->flags & AV_PIX_FMT_FLAG_PAL) != 0) return false;
  const int colour = d->nb_components - ((d->flags & AV_PIX_FMT_FLAG_ALPHA) != 0 ? 1 : 0);
  return colour == 1;
}

Result<Image> ConvertFrame(const AVFrame& frame) {
  const auto src = static_cast<AVPixelFormat>(frame.format);
  const bool grey = IsGreyPixelFormat(src);
  const PixelFormat out_format = grey ? PixelFormat::kGray8 : PixelFormat::kRgb8;
  const AVPixelFormat dst = grey ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_RGB24;
  Image img = Image::Allocate(frame.width, frame.height, out_format);
  if (src == dst) {
    for (int y = 0; y < frame.height; ++y) {
      std::memcpy(img.row(y), frame.data[0] + static_cast<ptrdiff_t>(y) * frame.linesize[0],
                  img.row_bytes());
    }
    return img;
  }
  std::unique_ptr<SwsContext, SwsDeleter> sws(sws_getContext(
      frame.width, frame.height, src, frame.width, frame.height, dst,
      SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nullptr, nullptr, nullptr));
  if (!sws) {
    return Unsupported(fmt::format("cannot convert pixel format {}",
                                   av_get_pix_fmt_name(src) ? av_get_pix_fmt_name(src) : "?"));
  }
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(src);
  if (d != nullptr && (d->flags & AV_PIX_FMT_FLAG_RGB) == 0 && !grey) {
    const int full = frame.color_range == AVCOL_RANGE_JPEG ? 1 : 0;
    const int* coeffs = sws_getCoefficients(SWS_CS_ITU601);
    sws_setColorspaceDetails(sws.get(), coeffs, full, coeffs, 1, 0, 1 << 16, 1 << 16);
  }
  TD_RETURN_IF_ERROR(SwsScaleInto(sws.get(), frame, dst, img));
  return img;
}

}  // namespace

Result<DecodedImage> DecodeWithFfmpeg(std::span<const uint8_t> bytes, ImageFormat sniffed,
                                      const DecodeOptions& options) {
  QuietFfmpegOnce();
  av::MemoryInput input(bytes);
  AVFormatContext* raw_fmt =
      input.NewFormatContext(std::min<int64_t>(static_cast<int64_t>(bytes.size()), 1 << 20));
  if (raw_fmt == nullptr) return ResourceExhausted("out of memory");
  if (int err = avformat_open_input(&raw_fmt, nullptr, nullptr, nullptr); err < 0) {
    return Unsupported(fmt::format("not a recognised image format ({})", AvError(err)));
  }
  std::unique_ptr<AVFormatContext, FormatDeleter> format(raw_fmt);
  const std::string_view demuxer = format->iformat->name;
  if (!IsStillImageDemuxer(demuxer)) {
    return Unsupported(fmt::format("not a still image (looks like '{}')", demuxer));
  }
  const int stream_index =
      av_find_best_stream(format.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (stream_index < 0) return Unsupported("no image found in the file");
  const AVCodecParameters* par = format->streams[stream_index]->codecpar;
  const AVCodec* codec = avcodec_find_decoder(par->codec_id);
  if (codec == nullptr) {
    return Unsupported(fmt::format("no decoder for '{}'", avcodec_get_name(par->codec_id)));
  }
  if (par->width > 0 && par->height > 0 &&
      uint64_t(par->width) * uint64_t(par->height) > options.limits.max_pixels) {
    return ResourceExhausted(fmt::format("image declares {}x{} pixels, over the limit of {}",
                                         par->width, par->height, options.limits.max_pixels));
  }
  std::unique_ptr<AVCodecContext, CodecDeleter> ctx(avcodec_alloc_context3(codec));
  if (!ctx) return ResourceExhausted("out of memory");
  if (int err = avcodec_parameters_to_context(ctx.get(), par); err < 0) {
    return Internal(fmt::format("codec parameters: {}", AvError(err)));
  }
  ctx->max_pixels = static_cast<int64_t>(std::min<uint64_t>(options.limits.max_pixels, INT64_MAX));
  ctx->thread_count = 1;
  if (int err = avcodec_open2(ctx.get(), codec, nullptr); err < 0) {
    return Unsupported(fmt::format("cannot open the {} decoder: {}", codec->name, AvError(err)));
  }

  std::unique_ptr<AVPacket, PacketDeleter> packet(av_packet_alloc());
  std::unique_ptr<AVFrame, FrameDeleter> frame(av_frame_alloc());
  if (!packet || !frame) return ResourceExhausted("out of memory");
  int last_error = 0;
  bool got = false;
  bool flushed = false;
  for (int packets = 0; !got && packets < kMaxPackets;) {
    int err = av_read_frame(format.get(), packet.get());
    if (err < 0) {
      if (flushed) break;
      avcodec_send_packet(ctx.get(), nullptr);  // drain
      flushed = true;
    } else {
      ++packets;
      if (packet->stream_index != stream_index) {
        av_packet_unref(packet.get());
        continue;
      }
      err = avcodec_send_packet(ctx.get(), packet.get());
      av_packet_unref(packet.get());
      if (err < 0 && err != AVERROR(EAGAIN)) last_error = err;
    }
    err = avcodec_receive_frame(ctx.get(), frame.get());
    if (err == 0)
      got = true;
    else if (err != AVERROR(EAGAIN) && err != AVERROR_EOF)
      last_error = err;
    if (flushed && !got) break;
  }
  if (!got) {
    if (last_error == AVERROR(EINVAL) || last_error == AVERROR(ERANGE)) {
      return ResourceExhausted(
          fmt::format("{} image dimensions are invalid or over the limit of {} pixels", codec->name,
                      options.limits.max_pixels));
    }
    return DataLoss(fmt::format("{} data is truncated or corrupt: no frame decoded{}", codec->name,
                                last_error != 0 ? " (" + AvError(last_error) + ")" : ""));
  }
  if (frame->width <= 0 || frame->height <= 0 ||
      uint64_t(frame->width) * uint64_t(frame->height) > options.limits.max_pixels) {
    return ResourceExhausted(fmt::format("decoded frame {}x{} is over the limit of {} pixels",
                                         frame->width, frame->height, options.limits.max_pixels));
  }

  DecodedImage result;
  result.format = FormatFromDemuxer(demuxer, sniffed);
  result.source_width = frame->width;
  result.source_height = frame->height;
  if ((frame->flags & AV_FRAME_FLAG_CORRUPT) != 0 || frame->decode_error_flags != 0) {
    result.warnings.emplace_back("image data is damaged; hashed what decoded");
  }
  TD_ASSIGN_OR_RETURN(result.image, ConvertFrame(*frame));
  return result;
}

}  // namespace takedown::media
