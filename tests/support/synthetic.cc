#include "support/synthetic.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
}
#include <jpeglib.h>
#include <stdlib.h>
#include <unistd.h>
#include <webp/encode.h>
#include <webp/mux.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <stdexcept>

namespace takedown::testing {

media::Image SyntheticPhoto(int width, int height, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  struct Blob {
    float x, y, r, c[3];
  };
  std::vector<Blob> blobs(14);
  for (auto& b : blobs) {
    b = {u(rng) * width,
         u(rng) * height,
         (0.05f + 0.3f * u(rng)) * std::max(width, height),
         {u(rng) * 255 - 128, u(rng) * 255 - 128, u(rng) * 255 - 128}};
  }
  struct Rect {
    float x0, y0, x1, y1, c[3];
  };
  // Hard-edged shapes: real photos have edges, and PDQ's low frequencies need structure.
  std::vector<Rect> rects(10);
  for (auto& r : rects) {
    const float cx = u(rng) * width, cy = u(rng) * height;
    const float hw = (0.05f + 0.2f * u(rng)) * width, hh = (0.05f + 0.2f * u(rng)) * height;
    r = {cx - hw,
         cy - hh,
         cx + hw,
         cy + hh,
         {u(rng) * 200 - 100, u(rng) * 200 - 100, u(rng) * 200 - 100}};
  }
  const float gx = u(rng) * 80 - 40, gy = u(rng) * 80 - 40;
  std::normal_distribution<float> noise(0.0f, 3.0f);
  media::Image img = media::Image::Allocate(width, height, media::PixelFormat::kRgb8);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      float v[3] = {128 + gx * x / width + gy * y / height, 120 + gy * x / width,
                    110 + gx * y / height};
      for (const auto& b : blobs) {
        const float dx = x - b.x, dy = y - b.y;
        const float w = std::exp(-(dx * dx + dy * dy) / (2 * b.r * b.r));
        for (int c = 0; c < 3; ++c) v[c] += w * b.c[c];
      }
      for (const auto& r : rects) {
        if (x >= r.x0 && x < r.x1 && y >= r.y0 && y < r.y1) {
          for (int c = 0; c < 3; ++c) v[c] += r.c[c];
        }
      }
      for (int c = 0; c < 3; ++c) {
        const float p = v[c] + noise(rng);
        img.row(y)[3 * x + c] = static_cast<uint8_t>(p < 0 ? 0 : p > 255 ? 255 : p);
      }
    }
  }
  return img;
}

media::Image QuantizeTo332(const media::Image& rgb) {
  media::Image out = rgb;
  for (size_t i = 0; i < out.pixels.size(); i += 3) {
    const uint8_t r = out.pixels[i] >> 5, g = out.pixels[i + 1] >> 5, b = out.pixels[i + 2] >> 6;
    out.pixels[i] = static_cast<uint8_t>(r * 255 / 7);
    out.pixels[i + 1] = static_cast<uint8_t>(g * 255 / 7);
    out.pixels[i + 2] = static_cast<uint8_t>(b * 255 / 3);
  }
  return out;
}

media::Image DetailedPhoto(int width, int height, uint32_t seed) {
  media::Image img = SyntheticPhoto(width, height, seed);
  std::mt19937 rng(seed ^ 0x9e3779b9u);
  std::uniform_int_distribution<int> ux(0, width - 1), uy(0, height - 1),
      size(3, std::max(4, width / 12));
  std::uniform_int_distribution<int> colour(0, 255);
  for (int k = 0; k < 160; ++k) {
    const int x0 = ux(rng), y0 = uy(rng), w = size(rng), h = size(rng);
    const uint8_t c[3] = {static_cast<uint8_t>(colour(rng)), static_cast<uint8_t>(colour(rng)),
                          static_cast<uint8_t>(colour(rng))};
    for (int y = y0; y < std::min(height, y0 + h); ++y) {
      for (int x = x0; x < std::min(width, x0 + w); ++x) std::copy_n(c, 3, img.row(y) + 3 * x);
    }
  }
  return img;
}

namespace {

AVFrame* FrameFromImage(const media::Image& rgb, AVPixelFormat fmt) {
  AVFrame* frame = av_frame_alloc();
  frame->format = fmt;
  frame->width = rgb.width;
  frame->height = rgb.height;
  if (av_frame_get_buffer(frame, 32) < 0) throw std::runtime_error("av_frame_get_buffer");
  if (fmt == AV_PIX_FMT_PAL8) {
    // 3-3-2 indices with a matching palette, computed exactly (see QuantizeTo332).
    for (int y = 0; y < rgb.height; ++y) {
      for (int x = 0; x < rgb.width; ++x) {
        const uint8_t* p = rgb.row(y) + 3 * x;
        frame->data[0][y * frame->linesize[0] + x] =
            static_cast<uint8_t>((p[0] >> 5) << 5 | (p[1] >> 5) << 2 | (p[2] >> 6));
      }
    }
    auto* pal = reinterpret_cast<uint32_t*>(frame->data[1]);
    for (uint32_t i = 0; i < 256; ++i) {
      const uint32_t r = ((i >> 5) & 7) * 255 / 7, g = ((i >> 2) & 7) * 255 / 7,
                     b = (i & 3) * 255 / 3;
      pal[i] = 0xFF000000u | (r << 16) | (g << 8) | b;
    }
    return frame;
  }
  SwsContext* sws = sws_getContext(rgb.width, rgb.height, AV_PIX_FMT_RGB24, rgb.width, rgb.height,
                                   fmt, SWS_POINT, nullptr, nullptr, nullptr);
  const uint8_t* src[4] = {rgb.pixels.data(), nullptr, nullptr, nullptr};
  int src_stride[4] = {static_cast<int>(rgb.row_bytes()), 0, 0, 0};
  sws_scale(sws, src, src_stride, 0, rgb.height, frame->data, frame->linesize);
  sws_freeContext(sws);
  // A visible alpha pattern where the format has alpha: the decoder must ignore it.
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(fmt);
  if ((d->flags & AV_PIX_FMT_FLAG_ALPHA) != 0 && fmt == AV_PIX_FMT_RGBA) {
    for (int y = 0; y < rgb.height; ++y) {
      for (int x = 0; x < rgb.width; ++x)
        frame->data[0][y * frame->linesize[0] + 4 * x + 3] =
            static_cast<uint8_t>((x * 7 + y * 3) & 0xFF);
    }
  }
  return frame;
}

std::vector<uint8_t> EncodeOneFrame(AVCodecID id, AVFrame* frame) {
  const AVCodec* codec = avcodec_find_encoder(id);
  AVCodecContext* ctx = avcodec_alloc_context3(codec);
  ctx->width = frame->width;
  ctx->height = frame->height;
  ctx->pix_fmt = static_cast<AVPixelFormat>(frame->format);
  ctx->time_base = {1, 25};
  if (avcodec_open2(ctx, codec, nullptr) < 0) throw std::runtime_error("avcodec_open2 (encoder)");
  AVPacket* pkt = av_packet_alloc();
  std::vector<uint8_t> out;
  avcodec_send_frame(ctx, frame);
  avcodec_send_frame(ctx, nullptr);
  while (avcodec_receive_packet(ctx, pkt) == 0) {
    out.insert(out.end(), pkt->data, pkt->data + pkt->size);
    av_packet_unref(pkt);
  }
  av_packet_free(&pkt);
  avcodec_free_context(&ctx);
  return out;
}

}  // namespace

std::vector<uint8_t> EncodePng(const media::Image& rgb, const std::string& pix_fmt) {
  const AVPixelFormat fmt = av_get_pix_fmt(pix_fmt.c_str());
  if (fmt == AV_PIX_FMT_NONE) throw std::runtime_error("unknown pixel format " + pix_fmt);
  AVFrame* frame = FrameFromImage(rgb, fmt);
  auto out = EncodeOneFrame(AV_CODEC_ID_PNG, frame);
  av_frame_free(&frame);
  return out;
}

std::vector<uint8_t> EncodeCmykJpeg(const media::Image& rgb, int quality) {
  jpeg_compress_struct cinfo{};
  jpeg_error_mgr err{};
  cinfo.err = jpeg_std_error(&err);
  jpeg_create_compress(&cinfo);
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&cinfo, &buf, &size);
  cinfo.image_width = static_cast<JDIMENSION>(rgb.width);
  cinfo.image_height = static_cast<JDIMENSION>(rgb.height);
  cinfo.input_components = 4;
  cinfo.in_color_space = JCS_CMYK;
  jpeg_set_defaults(&cinfo);  // writes an Adobe marker for CMYK
  jpeg_set_quality(&cinfo, quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  std::vector<uint8_t> row(static_cast<size_t>(rgb.width) * 4);
  while (cinfo.next_scanline < cinfo.image_height) {
    const uint8_t* p = rgb.row(static_cast<int>(cinfo.next_scanline));
    for (int x = 0; x < rgb.width; ++x) {
      const int r = p[3 * x], g = p[3 * x + 1], b = p[3 * x + 2];
      const int mx = std::max({r, g, b});
      // Adobe CMYK is stored inverted: stored = 255 - ink.
      int ink[4] = {0, 0, 0, 255 - mx};
      if (mx > 0) {
        ink[0] = (mx - r) * 255 / mx;
        ink[1] = (mx - g) * 255 / mx;
        ink[2] = (mx - b) * 255 / mx;
      }
      for (int c = 0; c < 4; ++c) row[4 * x + c] = static_cast<uint8_t>(255 - ink[c]);
    }
    JSAMPROW rp = row.data();
    jpeg_write_scanlines(&cinfo, &rp, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::vector<uint8_t> out(buf, buf + size);
  free(buf);
  return out;
}

namespace {
media::Image OtherFrame(const media::Image& first, int i) {
  return SyntheticPhoto(first.width, first.height, 1000u + static_cast<uint32_t>(i));
}
}  // namespace

std::vector<uint8_t> EncodeAnimatedGif(const media::Image& first, int frames) {
  AVFormatContext* fmt = nullptr;
  avformat_alloc_output_context2(&fmt, nullptr, "gif", nullptr);
  if (fmt == nullptr) throw std::runtime_error("gif muxer");
  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_GIF);
  AVStream* st = avformat_new_stream(fmt, nullptr);
  AVCodecContext* ctx = avcodec_alloc_context3(codec);
  ctx->width = first.width;
  ctx->height = first.height;
  ctx->pix_fmt = AV_PIX_FMT_PAL8;
  ctx->time_base = {1, 10};
  if (avcodec_open2(ctx, codec, nullptr) < 0) throw std::runtime_error("gif encoder");
  avcodec_parameters_from_context(st->codecpar, ctx);
  st->time_base = ctx->time_base;
  if (avio_open_dyn_buf(&fmt->pb) < 0) throw std::runtime_error("dyn buf");
  if (avformat_write_header(fmt, nullptr) < 0) throw std::runtime_error("gif header");
  AVPacket* pkt = av_packet_alloc();
  auto drain = [&] {
    while (avcodec_receive_packet(ctx, pkt) == 0) {
      av_packet_rescale_ts(pkt, ctx->time_base, st->time_base);
      pkt->stream_index = st->index;
      av_interleaved_write_frame(fmt, pkt);
    }
  };
  for (int i = 0; i < frames; ++i) {
    AVFrame* f = FrameFromImage(i == 0 ? first : OtherFrame(first, i), AV_PIX_FMT_PAL8);
    f->pts = i;
    avcodec_send_frame(ctx, f);
    av_frame_free(&f);
    drain();
  }
  avcodec_send_frame(ctx, nullptr);
  drain();
  av_write_trailer(fmt);
  uint8_t* buf = nullptr;
  const int size = avio_close_dyn_buf(fmt->pb, &buf);
  std::vector<uint8_t> out(buf, buf + size);
  av_free(buf);
  av_packet_free(&pkt);
  avcodec_free_context(&ctx);
  avformat_free_context(fmt);
  return out;
}

std::vector<uint8_t> EncodeAnimatedWebp(const media::Image& first, int frames) {
  WebPAnimEncoderOptions opts;
  WebPAnimEncoderOptionsInit(&opts);
  WebPAnimEncoder* enc = WebPAnimEncoderNew(first.width, first.height, &opts);
  WebPConfig config;
  WebPConfigInit(&config);
  config.lossless = 1;
  for (int i = 0; i < frames; ++i) {
    const media::Image img = i == 0 ? first : OtherFrame(first, i);
    WebPPicture pic;
    WebPPictureInit(&pic);
    pic.width = img.width;
    pic.height = img.height;
    pic.use_argb = 1;
    WebPPictureImportRGB(&pic, img.pixels.data(), static_cast<int>(img.row_bytes()));
    if (!WebPAnimEncoderAdd(enc, &pic, i * 100, &config)) throw std::runtime_error("webp anim add");
    WebPPictureFree(&pic);
  }
  WebPAnimEncoderAdd(enc, nullptr, frames * 100, nullptr);
  WebPData data;
  WebPDataInit(&data);
  if (!WebPAnimEncoderAssemble(enc, &data)) throw std::runtime_error("webp anim assemble");
  std::vector<uint8_t> out(data.bytes, data.bytes + data.size);
  WebPDataClear(&data);
  WebPAnimEncoderDelete(enc);
  return out;
}

std::vector<media::Image> PanFrames(int width, int height, int first, int count, uint32_t seed) {
  const media::Image base = DetailedPhoto(width + 800, height, seed);
  std::vector<media::Image> out;
  for (int i = first; i < first + count; ++i) {
    media::Image f = media::Image::Allocate(width, height, media::PixelFormat::kRgb8);
    const int x0 = (2 * i) % 800;
    for (int y = 0; y < height; ++y) std::copy_n(base.row(y) + 3 * x0, f.row_bytes(), f.row(y));
    out.push_back(std::move(f));
  }
  return out;
}

void WriteVideo(const std::string& path, int width, int height, int frames, int fps, uint32_t seed,
                bool scramble_pts) {
  WriteVideoFrames(path, PanFrames(width, height, 0, frames, seed), fps, scramble_pts);
}

void WriteVideoFrames(const std::string& path, const std::vector<media::Image>& images, int fps,
                      bool scramble_pts, const std::vector<int64_t>& pts) {
  if (images.empty()) throw std::runtime_error("no frames");
  if (!pts.empty() && pts.size() != images.size()) throw std::runtime_error("a pts per frame");
  const int width = images[0].width, height = images[0].height;
  AVFormatContext* fmt = nullptr;
  avformat_alloc_output_context2(&fmt, nullptr, nullptr, path.c_str());
  if (fmt == nullptr) throw std::runtime_error("no muxer for " + path);
  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_MPEG4);
  AVStream* st = avformat_new_stream(fmt, nullptr);
  AVCodecContext* ctx = avcodec_alloc_context3(codec);
  ctx->width = width;
  ctx->height = height;
  ctx->pix_fmt = AV_PIX_FMT_YUV420P;
  ctx->time_base = {1, fps};
  ctx->framerate = {fps, 1};
  ctx->gop_size = 12;
  ctx->max_b_frames = scramble_pts ? 2 : 0;
  ctx->bit_rate = 2'000'000;
  if (fmt->oformat->flags & AVFMT_GLOBALHEADER) ctx->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  if (avcodec_open2(ctx, codec, nullptr) < 0) throw std::runtime_error("mpeg4 encoder");
  avcodec_parameters_from_context(st->codecpar, ctx);
  st->time_base = ctx->time_base;
  st->avg_frame_rate = {fps, 1};
  if (avio_open(&fmt->pb, path.c_str(), AVIO_FLAG_WRITE) < 0)
    throw std::runtime_error("open " + path);
  if (avformat_write_header(fmt, nullptr) < 0) throw std::runtime_error("header " + path);
  SwsContext* sws = sws_getContext(width, height, AV_PIX_FMT_RGB24, width, height,
                                   AV_PIX_FMT_YUV420P, SWS_BILINEAR, nullptr, nullptr, nullptr);
  AVPacket* pkt = av_packet_alloc();
  std::mt19937 rng(7);
  auto drain = [&] {
    while (avcodec_receive_packet(ctx, pkt) == 0) {
      av_packet_rescale_ts(pkt, ctx->time_base, st->time_base);
      if (scramble_pts) {
        // Presentation times jump about (decode times stay increasing, or the muxer would
        // refuse the packets).
        pkt->pts = pkt->dts + static_cast<int64_t>(rng() % 40);  // never before its dts
      }
      pkt->stream_index = st->index;
      av_write_frame(fmt, pkt);
      av_packet_unref(pkt);
    }
  };
  for (size_t i = 0; i < images.size(); ++i) {
    AVFrame* f = av_frame_alloc();
    f->format = AV_PIX_FMT_YUV420P;
    f->width = width;
    f->height = height;
    av_frame_get_buffer(f, 32);
    // swscale's SIMD reads whole blocks past the end of a row: rows padded to 64 bytes and a
    // spare row after the last, or a width that is not a multiple of 16 reads past the buffer.
    const size_t row = images[i].row_bytes(), padded_row = (row + 63) / 64 * 64;
    std::vector<uint8_t> padded(padded_row * (static_cast<size_t>(height) + 1));
    for (int y = 0; y < height; ++y)
      std::copy_n(images[i].row(y), row, padded.data() + padded_row * static_cast<size_t>(y));
    const uint8_t* src[4] = {padded.data(), nullptr, nullptr, nullptr};
    int stride[4] = {static_cast<int>(padded_row), 0, 0, 0};
    sws_scale(sws, src, stride, 0, height, f->data, f->linesize);
    f->pts = pts.empty() ? static_cast<int64_t>(i) : pts[i];
    avcodec_send_frame(ctx, f);
    av_frame_free(&f);
    drain();
  }
  avcodec_send_frame(ctx, nullptr);
  drain();
  av_write_trailer(fmt);
  avio_closep(&fmt->pb);
  sws_freeContext(sws);
  av_packet_free(&pkt);
  avcodec_free_context(&ctx);
  avformat_free_context(fmt);
}

void WriteAudioOnly(const std::string& path) {
  std::vector<uint8_t> wav;
  auto put32 = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i) wav.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  auto put16 = [&](uint16_t v) {
    wav.push_back(static_cast<uint8_t>(v));
    wav.push_back(static_cast<uint8_t>(v >> 8));
  };
  const uint32_t rate = 8000, samples = 8000;
  wav.insert(wav.end(), {'R', 'I', 'F', 'F'});
  put32(36 + samples * 2);
  wav.insert(wav.end(), {'W', 'A', 'V', 'E', 'f', 'm', 't', ' '});
  put32(16);
  put16(1);
  put16(1);
  put32(rate);
  put32(rate * 2);
  put16(2);
  put16(16);
  wav.insert(wav.end(), {'d', 'a', 't', 'a'});
  put32(samples * 2);
  for (uint32_t i = 0; i < samples; ++i)
    put16(static_cast<uint16_t>(static_cast<int16_t>(8000 * std::sin(i * 0.3))));
  WriteFile(path, wav);
}

void WriteSubtitlesOnly(const std::string& path) {
  AVFormatContext* fmt = nullptr;
  avformat_alloc_output_context2(&fmt, nullptr, "matroska", path.c_str());
  AVStream* st = avformat_new_stream(fmt, nullptr);
  st->codecpar->codec_type = AVMEDIA_TYPE_SUBTITLE;
  st->codecpar->codec_id = AV_CODEC_ID_TEXT;
  st->time_base = {1, 1000};
  if (avio_open(&fmt->pb, path.c_str(), AVIO_FLAG_WRITE) < 0)
    throw std::runtime_error("open " + path);
  if (avformat_write_header(fmt, nullptr) < 0) throw std::runtime_error("header " + path);
  AVPacket* pkt = av_packet_alloc();
  const char text[] = "hello";
  av_new_packet(pkt, sizeof(text) - 1);
  std::memcpy(pkt->data, text, sizeof(text) - 1);
  pkt->pts = pkt->dts = 0;
  pkt->duration = 1000;
  pkt->stream_index = 0;
  av_write_frame(fmt, pkt);
  av_write_trailer(fmt);
  avio_closep(&fmt->pb);
  av_packet_free(&pkt);
  avformat_free_context(fmt);
}

void WriteFile(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!f) throw std::runtime_error("cannot write " + path);
}

std::string MakeTempDir() {
  char tmpl[] = "/tmp/takedown-test-XXXXXX";
  const char* dir = mkdtemp(tmpl);
  if (dir == nullptr) throw std::runtime_error("mkdtemp");
  return dir;
}

std::string Base64(const std::vector<uint8_t>& b) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < b.size(); i += 3) {
    uint32_t v = b[i] << 16;
    if (i + 1 < b.size()) v |= b[i + 1] << 8;
    if (i + 2 < b.size()) v |= b[i + 2];
    out += t[(v >> 18) & 63];
    out += t[(v >> 12) & 63];
    out += i + 1 < b.size() ? t[(v >> 6) & 63] : '=';
    out += i + 2 < b.size() ? t[v & 63] : '=';
  }
  return out;
}

}  // namespace takedown::testing
