#include "media/video.h"

#include <webp/demux.h>

#include <array>

#include "media/av_memory.h"
#include "media/sws_util.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>

namespace takedown::media {
namespace {

struct FormatCloser {
  void operator()(AVFormatContext* f) const { avformat_close_input(&f); }
};
struct CodecFreer {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameFreer {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketFreer {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct SwsFreer {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};

std::string AvErr(int e) {
  char b[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(e, b, sizeof(b));
  return b;
}

bool IsStillImageDemuxer(std::string_view name) {
  return name.ends_with("_pipe") || name == "image2" || name == "ico";
}

// Rotates an image by a multiple of 90 degrees clockwise.
Image RotateImage(const Image& in, int degrees) {
  if (degrees % 360 == 0) return in;
  const bool swap = degrees % 180 != 0;
  Image out = Image::Allocate(swap ? in.height : in.width, swap ? in.width : in.height, in.format);
  const int c = in.channels();
  for (int y = 0; y < in.height; ++y) {
    for (int x = 0; x < in.width; ++x) {
      int ox, oy;
      switch (degrees % 360) {
        case 90:
          ox = in.height - 1 - y;
          oy = x;
          break;
        case 180:
          ox = in.width - 1 - x;
          oy = in.height - 1 - y;
          break;
        default:
          ox = y;
          oy = in.width - 1 - x;
          break;  // 270
      }
      std::memcpy(out.row(oy) + ox * c, in.row(y) + x * c, static_cast<size_t>(c));
    }
  }
  return out;
}

// Converts decoded frames, rebuilding the scaler when the input changes size or format.
class Converter {
 public:
  Converter(const VideoOptions& o) : o_(o) {}
  Result<Image> Convert(const AVFrame& f) {
    const auto src = static_cast<AVPixelFormat>(f.format);
    const int ow = o_.frame_size > 0 ? o_.frame_size : f.width;
    const int oh = o_.frame_size > 0 ? o_.frame_size : f.height;
    const PixelFormat pf = o_.luma ? PixelFormat::kGray8 : PixelFormat::kRgb8;
    const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(src);
    // Luma straight from a planar YUV frame's Y plane, when no resize is asked for.
    if (o_.luma && o_.frame_size == 0 && d != nullptr && (d->flags & AV_PIX_FMT_FLAG_RGB) == 0 &&
        (d->flags & AV_PIX_FMT_FLAG_PLANAR) != 0 && d->comp[0].depth == 8) {
      Image img = Image::Allocate(f.width, f.height, PixelFormat::kGray8);
      const bool limited = f.color_range != AVCOL_RANGE_JPEG && src != AV_PIX_FMT_YUVJ420P &&
                           src != AV_PIX_FMT_YUVJ422P && src != AV_PIX_FMT_YUVJ444P;
      for (int y = 0; y < f.height; ++y) {
        const uint8_t* s = f.data[0] + static_cast<ptrdiff_t>(y) * f.linesize[0];
        uint8_t* o = img.row(y);
        if (!limited) {
          std::memcpy(o, s, static_cast<size_t>(f.width));
        } else {
          for (int x = 0; x < f.width; ++x) o[x] = full_range_[s[x]];
        }
      }
      return img;
    }
    if (!sws_ || src != src_ || f.width != w_ || f.height != h_) {
      sws_.reset(sws_getContext(f.width, f.height, src, ow, oh,
                                o_.luma ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_RGB24, SWS_AREA, nullptr,
                                nullptr, nullptr));
      if (!sws_)
        return Unsupported(fmt::format("cannot convert frames of pixel format {}",
                                       av_get_pix_fmt_name(src) ? av_get_pix_fmt_name(src) : "?"));
      src_ = src;
      w_ = f.width;
      h_ = f.height;
    }
    Image img = Image::Allocate(ow, oh, pf);
    TD_RETURN_IF_ERROR(
        SwsScaleInto(sws_.get(), f, o_.luma ? AV_PIX_FMT_GRAY8 : AV_PIX_FMT_RGB24, img));
    return img;
  }

 private:
  static std::array<uint8_t, 256> FullRange() {
    std::array<uint8_t, 256> t{};
    for (int v = 0; v < 256; ++v)
      t[static_cast<size_t>(v)] = static_cast<uint8_t>(std::clamp((v - 16) * 255 / 219, 0, 255));
    return t;
  }
  const VideoOptions& o_;
  std::unique_ptr<SwsContext, SwsFreer> sws_;
  AVPixelFormat src_ = AV_PIX_FMT_NONE;
  int w_ = 0, h_ = 0;
  std::array<uint8_t, 256> full_range_ = FullRange();
};

bool IsAnimatedWebpHead(std::span<const uint8_t> head) {
  if (head.size() < 30 || std::memcmp(head.data(), "RIFF", 4) != 0 ||
      std::memcmp(head.data() + 8, "WEBPVP8X", 8) != 0)
    return false;
  return (head[20] & 0x02) != 0;  // VP8X flags: animation
}

bool IsAnimatedWebp(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  uint8_t head[64] = {};
  const size_t n = std::fread(head, 1, sizeof(head), f);
  std::fclose(f);
  return IsAnimatedWebpHead({head, n});
}

// The frame's place for want() under stream_time: its time in milliseconds.
int64_t StreamPlace(double seconds) { return std::llround(seconds * 1000); }

// Animated WebP through libwebp (FFmpeg 5.1 has no decoder for it): frames in order, each the
// composited canvas; fps from the average frame duration.
Status DecodeAnimatedWebpBytes(std::span<const uint8_t> bytes, const VideoOptions& o,
                               const std::function<bool(int64_t)>& want,
                               const std::function<void(const VideoFrame&)>& on_frame,
                               VideoInfo* info, VideoReport* report) {
  WebPData data{bytes.data(), bytes.size()};
  WebPAnimDecoderOptions opts;
  WebPAnimDecoderOptionsInit(&opts);
  opts.color_mode = MODE_RGBA;
  std::unique_ptr<WebPAnimDecoder, decltype(&WebPAnimDecoderDelete)> dec(
      WebPAnimDecoderNew(&data, &opts), &WebPAnimDecoderDelete);
  if (!dec) return DataLoss("corrupt animated WebP");
  WebPAnimInfo ai;
  WebPAnimDecoderGetInfo(dec.get(), &ai);
  if (uint64_t(ai.canvas_width) * ai.canvas_height > o.limits.max_pixels) {
    return ResourceExhausted(fmt::format("animated WebP of {}x{} pixels, over the limit of {}",
                                         ai.canvas_width, ai.canvas_height, o.limits.max_pixels));
  }
  // Durations first (for fps), then the frames.
  std::vector<int> stamps;
  {
    uint8_t* px;
    int ts;
    while (WebPAnimDecoderHasMoreFrames(dec.get()) && WebPAnimDecoderGetNext(dec.get(), &px, &ts))
      stamps.push_back(ts);
    WebPAnimDecoderReset(dec.get());
  }
  if (stamps.empty()) return DataLoss("animated WebP without a decodable frame");
  VideoInfo vi;
  vi.container = "webp";
  vi.codec = "webp";
  vi.width = static_cast<int>(ai.canvas_width);
  vi.height = static_cast<int>(ai.canvas_height);
  vi.duration_s = stamps.back() / 1000.0;
  vi.fps = vi.duration_s > 0 ? stamps.size() / vi.duration_s : 10;
  if (info != nullptr) *info = vi;
  VideoReport rep;
  Converter conv(o);
  int64_t n = 0;
  uint8_t* px;
  int ts;
  // A frame's timestamp is where it ends. Under stream_time a frame shown for 10 ms or less is
  // taken as 100 ms, as browsers show it (all-zero durations would stack every frame at 0).
  int64_t prev_ms = 0;
  double begin = 0;
  StreamClock clock(vi.fps);
  while (WebPAnimDecoderGetNext(dec.get(), &px, &ts)) {
    const int64_t number = n++;
    if (static_cast<uint64_t>(number) >= o.max_frames) {
      rep.truncated_by_limit = true;
      break;
    }
    const int64_t shown_ms = int64_t{ts} - prev_ms;
    prev_ms = std::max<int64_t>(prev_ms, ts);
    const double shown = static_cast<double>(shown_ms <= 10 ? 100 : shown_ms) / 1000.0;
    const double seconds =
        o.stream_time ? clock.Next(begin, shown) : static_cast<double>(number) / vi.fps;
    begin += shown;
    rep.end_seconds = o.stream_time ? clock.end() : static_cast<double>(n) / vi.fps;
    if (!want(o.stream_time ? StreamPlace(seconds) : number)) continue;
    Image rgb = Image::Allocate(vi.width, vi.height, PixelFormat::kRgb8);
    for (size_t i = 0; i < static_cast<size_t>(vi.width) * vi.height; ++i)
      std::memcpy(&rgb.pixels[3 * i], px + 4 * i, 3);
    // Through the same converter as FFmpeg frames (area resize, luma) via a wrapping AVFrame.
    std::unique_ptr<AVFrame, FrameFreer> fr(av_frame_alloc());
    fr->format = AV_PIX_FMT_RGB24;
    fr->width = vi.width;
    fr->height = vi.height;
    fr->data[0] = rgb.pixels.data();
    fr->linesize[0] = static_cast<int>(rgb.row_bytes());
    auto img = conv.Convert(*fr);
    if (!img.ok()) return img.status();
    on_frame({number, seconds, &*img});
  }
  rep.frames = n;
  if (report != nullptr) *report = rep;
  return Status::Ok();
}

Status DecodeAnimatedWebp(const std::string& path, const VideoOptions& o,
                          const std::function<bool(int64_t)>& want,
                          const std::function<void(const VideoFrame&)>& on_frame, VideoInfo* info,
                          VideoReport* report) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return NotFound("cannot open");
  std::vector<uint8_t> bytes;
  uint8_t buf[1 << 16];
  for (size_t k; (k = std::fread(buf, 1, sizeof(buf), f)) > 0;) {
    bytes.insert(bytes.end(), buf, buf + k);
    if (bytes.size() > o.limits.max_file_bytes) {
      std::fclose(f);
      return ResourceExhausted("file over the size limit");
    }
  }
  std::fclose(f);
  return DecodeAnimatedWebpBytes(bytes, o, want, on_frame, info, report);
}

// Everything after the container is open (by path or from memory).
Status DecodeOpened(std::unique_ptr<AVFormatContext, FormatCloser> fmt,
                    std::chrono::steady_clock::time_point start, const VideoOptions& o,
                    const std::function<bool(int64_t)>& want,
                    const std::function<void(const VideoFrame&)>& on_frame, VideoInfo* info,
                    VideoReport* report) {
  if (int e = avformat_find_stream_info(fmt.get(), nullptr); e < 0) {
    return DataLoss(fmt::format("cannot read the streams ({})", AvErr(e)));
  }
  const int si = av_find_best_stream(fmt.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (si < 0) {
    bool audio = false;
    for (unsigned i = 0; i < fmt->nb_streams; ++i)
      audio |= fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO;
    return Unsupported(audio ? "no video stream (audio only)" : "no video stream");
  }
  AVStream* stream = fmt->streams[si];
  const AVCodecParameters* par = stream->codecpar;
  const AVCodec* codec = avcodec_find_decoder(par->codec_id);
  if (codec == nullptr)
    return Unsupported(fmt::format("no decoder for '{}'", avcodec_get_name(par->codec_id)));
  if (par->width <= 0 || par->height <= 0) return DataLoss("video stream without dimensions");
  if (uint64_t(par->width) * uint64_t(par->height) > o.limits.max_pixels) {
    return ResourceExhausted(fmt::format("video frames of {}x{} pixels, over the limit of {}",
                                         par->width, par->height, o.limits.max_pixels));
  }
  std::unique_ptr<AVCodecContext, CodecFreer> ctx(avcodec_alloc_context3(codec));
  if (!ctx || avcodec_parameters_to_context(ctx.get(), par) < 0) return Internal("codec context");
  ctx->thread_count = o.threads;
  ctx->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
  ctx->max_pixels = static_cast<int64_t>(o.limits.max_pixels);
  if (o.skip_nonref) ctx->skip_frame = AVDISCARD_NONREF;
  if (int e = avcodec_open2(ctx.get(), codec, nullptr); e < 0) {
    return Unsupported(fmt::format("cannot open the {} decoder: {}", codec->name, AvErr(e)));
  }

  VideoInfo vi;
  vi.container = fmt->iformat->name;
  vi.codec = codec->name;
  vi.width = par->width;
  vi.height = par->height;
  AVRational rate = stream->avg_frame_rate;
  if (rate.num == 0 || rate.den == 0) rate = stream->r_frame_rate;
  vi.fps = rate.den != 0 ? av_q2d(rate) : 0;
  VideoReport rep;
  if (!(vi.fps > 0) || !std::isfinite(vi.fps)) {
    vi.fps = 25;
    rep.warnings.emplace_back("frame rate unknown: 25 fps assumed for timestamps and sampling");
  }
  if (fmt->duration > 0) vi.duration_s = static_cast<double>(fmt->duration) / AV_TIME_BASE;
  if (const uint8_t* m = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, nullptr)) {
    const double ccw = av_display_rotation_get(reinterpret_cast<const int32_t*>(m));
    if (std::isfinite(ccw))
      vi.rotation = ((static_cast<int>(std::lround(-ccw / 90.0)) * 90) % 360 + 360) % 360;
  }
  if (info != nullptr) *info = vi;

  Converter conv(o);
  std::unique_ptr<AVPacket, PacketFreer> pkt(av_packet_alloc());
  std::unique_ptr<AVFrame, FrameFreer> frame(av_frame_alloc());
  int64_t n = 0;
  bool stop = false;
  Status conversion_error;
  // A frame's time (VideoOptions::stream_time; StreamClock), or number / fps.
  const double tb = av_q2d(stream->time_base);
  const bool timed = tb > 0 && std::isfinite(tb);
  StreamClock clock(vi.fps);
  auto time_of = [&](const AVFrame& f, int64_t number) {
    if (!o.stream_time) return static_cast<double>(number) / vi.fps;
    const double none = std::numeric_limits<double>::quiet_NaN();
    const double t =
        clock.Next(timed && f.best_effort_timestamp != AV_NOPTS_VALUE
                       ? static_cast<double>(f.best_effort_timestamp) * tb
                       : none,
                   timed && f.pkt_duration > 0 ? static_cast<double>(f.pkt_duration) * tb : none);
    rep.end_seconds = clock.end();
    return t;
  };
  auto drain = [&]() {
    for (;;) {
      const int e = avcodec_receive_frame(ctx.get(), frame.get());
      if (e == AVERROR(EAGAIN) || e == AVERROR_EOF) return;
      if (e < 0) {
        ++rep.corrupt_packets;
        return;
      }
      if ((frame->flags & AV_FRAME_FLAG_CORRUPT) != 0 || frame->decode_error_flags != 0)
        ++rep.corrupt_packets;
      const int64_t number = n++;
      const double seconds = time_of(*frame, number);
      if (want(o.stream_time ? StreamPlace(seconds) : number)) {
        auto img = conv.Convert(*frame);
        if (!img.ok()) {
          conversion_error = img.status();
          stop = true;
          return;
        }
        Image upright = o.apply_rotation ? RotateImage(*img, vi.rotation) : std::move(img).value();
        on_frame({number, seconds, &upright});
      }
      av_frame_unref(frame.get());
      if (static_cast<uint64_t>(n) >= o.max_frames) {
        rep.truncated_by_limit = true;
        rep.warnings.push_back(fmt::format("stopped after {} frames (frame limit)", n));
        stop = true;
        return;
      }
    }
  };
  if (o.keyframes_only) {
    // Fast mode: keyframe packets only, one per interval, each decoded alone.
    int64_t first_ts = AV_NOPTS_VALUE;
    double next_time = 0;
    int64_t keyframes = 0;
    while (!stop && av_read_frame(fmt.get(), pkt.get()) >= 0) {
      const bool key = pkt->stream_index == si && (pkt->flags & AV_PKT_FLAG_KEY) != 0;
      int64_t ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
      if (key && ts != AV_NOPTS_VALUE && first_ts == AV_NOPTS_VALUE) first_ts = ts;
      const double t = (ts == AV_NOPTS_VALUE || first_ts == AV_NOPTS_VALUE)
                           ? keyframes * o.keyframe_interval
                           : (ts - first_ts) * tb;
      if (key && t + 1e-9 >= next_time) {
        ++keyframes;
        next_time = t + o.keyframe_interval;
        avcodec_flush_buffers(ctx.get());
        if (avcodec_send_packet(ctx.get(), pkt.get()) < 0) ++rep.corrupt_packets;
        avcodec_send_packet(ctx.get(), nullptr);
        while (avcodec_receive_frame(ctx.get(), frame.get()) == 0) {
          auto img = conv.Convert(*frame);
          if (!img.ok()) return img.status();
          const int64_t number = std::llround(t * vi.fps);
          Image upright =
              o.apply_rotation ? RotateImage(*img, vi.rotation) : std::move(img).value();
          on_frame({number, static_cast<double>(number) / vi.fps, &upright});
          av_frame_unref(frame.get());
          ++n;
          rep.end_seconds = std::max(rep.end_seconds, t + o.keyframe_interval);
        }
        avcodec_flush_buffers(ctx.get());
      }
      av_packet_unref(pkt.get());
      if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >
          o.max_wall_seconds) {
        rep.truncated_by_limit = true;
        rep.warnings.push_back(
            fmt::format("stopped after {:.0f} s (time limit)", o.max_wall_seconds));
        stop = true;
      }
    }
    rep.frames = n;
    if (report != nullptr) *report = rep;
    if (n == 0) return DataLoss("no keyframe could be decoded (truncated or corrupt)");
    return Status::Ok();
  }
  while (!stop && av_read_frame(fmt.get(), pkt.get()) >= 0) {
    if (pkt->stream_index == si) {
      const int e = avcodec_send_packet(ctx.get(), pkt.get());
      if (e < 0 && e != AVERROR(EAGAIN)) ++rep.corrupt_packets;
      drain();
    }
    av_packet_unref(pkt.get());
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >
        o.max_wall_seconds) {
      rep.truncated_by_limit = true;
      rep.warnings.push_back(
          fmt::format("stopped after {:.0f} s (time limit) at frame {}", o.max_wall_seconds, n));
      stop = true;
    }
  }
  if (!stop) {
    avcodec_send_packet(ctx.get(), nullptr);  // flush
    drain();
  }
  if (!conversion_error.ok()) return conversion_error;
  rep.frames = n;
  if (!o.stream_time) rep.end_seconds = static_cast<double>(n) / vi.fps;
  if (rep.corrupt_packets > 0) {
    rep.warnings.push_back(fmt::format("{} corrupt packets or frames skipped; hashed what decoded",
                                       rep.corrupt_packets));
  }
  if (report != nullptr) *report = rep;
  if (n == 0) return DataLoss("no frame could be decoded (truncated or corrupt)");
  return Status::Ok();
}
}  // namespace

bool LooksLikeVideo(const std::string& path) {
  if (IsAnimatedWebp(path)) return true;
  AVFormatContext* raw = nullptr;
  av_log_set_level(AV_LOG_QUIET);
  if (avformat_open_input(&raw, path.c_str(), nullptr, nullptr) != 0) return false;
  std::unique_ptr<AVFormatContext, FormatCloser> fmt(raw);
  const std::string_view name = fmt->iformat->name;
  if (IsStillImageDemuxer(name)) return false;
  for (unsigned i = 0; i < fmt->nb_streams; ++i) {
    if (fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO) return true;
  }
  return name != "gif" && name != "apng";  // audio-only and such: let the video path say why
}

bool LooksLikeVideoBytes(std::span<const uint8_t> bytes) {
  if (IsAnimatedWebpHead(bytes.first(std::min<size_t>(bytes.size(), 64)))) return true;
  if (bytes.empty()) return false;
  av_log_set_level(AV_LOG_QUIET);
  av::MemoryInput input(bytes);
  AVFormatContext* raw = input.NewFormatContext(0);
  if (raw == nullptr || avformat_open_input(&raw, nullptr, nullptr, nullptr) != 0) return false;
  std::unique_ptr<AVFormatContext, FormatCloser> fmt(raw);
  const std::string_view name = fmt->iformat->name;
  if (IsStillImageDemuxer(name)) return false;
  for (unsigned i = 0; i < fmt->nb_streams; ++i) {
    if (fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO) return true;
  }
  return name != "gif" && name != "apng";
}

Status DecodeVideo(const std::string& path, const VideoOptions& o,
                   const std::function<bool(int64_t)>& want,
                   const std::function<void(const VideoFrame&)>& on_frame, VideoInfo* info,
                   VideoReport* report) {
  av_log_set_level(AV_LOG_QUIET);
  const auto start = std::chrono::steady_clock::now();
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return NotFound(fmt::format("cannot open: {}", std::strerror(errno)));
  if (S_ISDIR(st.st_mode)) return InvalidArgument("is a directory");
  if (!S_ISREG(st.st_mode)) return InvalidArgument("not a regular file");
  if (st.st_size == 0) return InvalidArgument("empty file");
  if (static_cast<uint64_t>(st.st_size) > o.limits.max_file_bytes) {
    return ResourceExhausted(fmt::format("file is {} bytes, over the limit of {} bytes", st.st_size,
                                         o.limits.max_file_bytes));
  }
  if (IsAnimatedWebp(path)) return DecodeAnimatedWebp(path, o, want, on_frame, info, report);
  AVFormatContext* raw = nullptr;
  if (int e = avformat_open_input(&raw, path.c_str(), nullptr, nullptr); e != 0) {
    return Unsupported(fmt::format("not a recognised video ({})", AvErr(e)));
  }
  std::unique_ptr<AVFormatContext, FormatCloser> fmt(raw);
  return DecodeOpened(std::move(fmt), start, o, want, on_frame, info, report);
}

Status DecodeVideoBytes(std::span<const uint8_t> bytes, const VideoOptions& o,
                        const std::function<bool(int64_t)>& want,
                        const std::function<void(const VideoFrame&)>& on_frame, VideoInfo* info,
                        VideoReport* report) {
  av_log_set_level(AV_LOG_QUIET);
  const auto start = std::chrono::steady_clock::now();
  if (bytes.empty()) return InvalidArgument("empty file");
  if (bytes.size() > o.limits.max_file_bytes) {
    return ResourceExhausted(fmt::format("file is {} bytes, over the limit of {} bytes",
                                         bytes.size(), o.limits.max_file_bytes));
  }
  if (IsAnimatedWebpHead(bytes.first(std::min<size_t>(bytes.size(), 64))))
    return DecodeAnimatedWebpBytes(bytes, o, want, on_frame, info, report);
  av::MemoryInput input(bytes);
  AVFormatContext* raw = input.NewFormatContext(0);
  if (raw == nullptr) return ResourceExhausted("out of memory");
  if (int e = avformat_open_input(&raw, nullptr, nullptr, nullptr); e != 0) {
    return Unsupported(fmt::format("not a recognised video ({})", AvErr(e)));
  }
  return DecodeOpened(std::unique_ptr<AVFormatContext, FormatCloser>(raw), start, o, want, on_frame,
                      info, report);
}

StreamClock::StreamClock(double fps)
    : interval_(std::clamp(std::isfinite(fps) && fps > 0 ? 1 / fps : 1.0, 1e-3, 1.0)) {}

double StreamClock::Next(double ts, double duration) {
  double t = last_ < 0 ? 0 : last_ + interval_;  // no usable timestamp: a frame interval on
  if (std::isfinite(ts)) {
    if (!anchored_) {
      anchor_ = ts - t;
      anchored_ = true;
    }
    const double r = ts - anchor_;
    if (last_ < 0 || (r > last_ && r <= last_ + kMaxFrameGap)) {
      t = std::max(r, 0.0);  // advancing
      stuck_ = 0;
    } else if (r <= last_ && r >= last_ - kMaxStepBack) {
      // Not advancing (reordering jitter, a clock that stopped): the frame stays with the one
      // before, for a few frames; then frames step on by the interval until the timestamps pass
      // them again.
      if (++stuck_ <= kMaxStuck) t = last_;
    } else {
      anchor_ = ts - t;  // a discontinuity: far back or far ahead
      stuck_ = 0;
    }
  }
  t = std::min(t, kMaxSeconds);
  last_ = t;
  const double d =
      std::isfinite(duration) && duration > 0 ? std::min(duration, kMaxFrameGap) : interval_;
  end_ = std::min(t + d, kMaxSeconds);
  return t;
}

}  // namespace takedown::media
