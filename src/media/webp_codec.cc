// WebP through libwebp (FFmpeg 5.1 cannot decode animated WebP; libwebp is the canonical decoder).
#include <fmt/format.h>
#include <webp/decode.h>
#include <webp/demux.h>

#include <memory>

#include "media/decoders.h"

namespace takedown::media {
namespace {

// libwebp's Y is studio range (16..235, ITU-R BT.601); PDQ luma is full range.
uint8_t FullRangeLuma(uint8_t y) {
  int v = (static_cast<int>(y) - 16) * 255;
  v = (v + (v >= 0 ? 109 : -109)) / 219;
  return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

Result<DecodedImage> DecodeAnimatedFirstFrame(std::span<const uint8_t> bytes, DecodedImage result) {
  WebPData data{bytes.data(), bytes.size()};
  WebPAnimDecoderOptions opts;
  if (!WebPAnimDecoderOptionsInit(&opts)) return Internal("libwebp version mismatch");
  opts.color_mode = MODE_RGBA;
  opts.use_threads = 0;
  std::unique_ptr<WebPAnimDecoder, decltype(&WebPAnimDecoderDelete)> dec(
      WebPAnimDecoderNew(&data, &opts), &WebPAnimDecoderDelete);
  if (!dec) return DataLoss("corrupt animated WebP: cannot parse its frames");
  WebPAnimInfo info;
  if (!WebPAnimDecoderGetInfo(dec.get(), &info)) return DataLoss("corrupt animated WebP");
  if (static_cast<int>(info.canvas_width) != result.source_width ||
      static_cast<int>(info.canvas_height) != result.source_height) {
    return DataLoss("animated WebP canvas does not match its header");
  }
  uint8_t* rgba = nullptr;
  int timestamp = 0;
  if (!WebPAnimDecoderGetNext(dec.get(), &rgba, &timestamp) || rgba == nullptr) {
    return DataLoss("corrupt animated WebP: first frame does not decode");
  }
  Image img = Image::Allocate(result.source_width, result.source_height, PixelFormat::kRgb8);
  const size_t n = static_cast<size_t>(img.width) * img.height;
  for (size_t i = 0; i < n; ++i) {
    img.pixels[3 * i] = rgba[4 * i];
    img.pixels[3 * i + 1] = rgba[4 * i + 1];
    img.pixels[3 * i + 2] = rgba[4 * i + 2];
  }
  result.image = std::move(img);
  result.animated = info.frame_count > 1;
  return result;
}

}  // namespace

Result<DecodedImage> DecodeWebp(std::span<const uint8_t> bytes, const DecodeOptions& options) {
  WebPBitstreamFeatures features;
  VP8StatusCode st = WebPGetFeatures(bytes.data(), bytes.size(), &features);
  if (st == VP8_STATUS_NOT_ENOUGH_DATA) return DataLoss("truncated WebP header");
  if (st != VP8_STATUS_OK)
    return DataLoss(fmt::format("bad WebP header (libwebp status {})", static_cast<int>(st)));
  const uint64_t pixels = uint64_t(features.width) * uint64_t(features.height);
  if (pixels > options.limits.max_pixels) {
    return ResourceExhausted(fmt::format("WebP declares {}x{} pixels, over the limit of {}",
                                         features.width, features.height,
                                         options.limits.max_pixels));
  }
  DecodedImage result;
  result.format = ImageFormat::kWebp;
  result.source_width = features.width;
  result.source_height = features.height;
  if (features.has_animation) return DecodeAnimatedFirstFrame(bytes, std::move(result));

  WebPDecoderConfig config;
  if (!WebPInitDecoderConfig(&config)) return Internal("libwebp version mismatch");
  const bool luma = options.prefer_luma && features.format != 2;  // 2: lossless (stored as RGB)
  Image img = Image::Allocate(features.width, features.height,
                              luma ? PixelFormat::kGray8 : PixelFormat::kRgb8);
  std::vector<uint8_t> u, v;
  config.output.is_external_memory = 1;
  if (luma) {
    const int cw = (features.width + 1) / 2, ch = (features.height + 1) / 2;
    u.resize(size_t(cw) * ch);
    v.resize(size_t(cw) * ch);
    config.output.colorspace = MODE_YUV;
    config.output.u.YUVA.y = img.pixels.data();
    config.output.u.YUVA.y_stride = img.width;
    config.output.u.YUVA.y_size = img.pixels.size();
    config.output.u.YUVA.u = u.data();
    config.output.u.YUVA.u_stride = cw;
    config.output.u.YUVA.u_size = u.size();
    config.output.u.YUVA.v = v.data();
    config.output.u.YUVA.v_stride = cw;
    config.output.u.YUVA.v_size = v.size();
  } else {
    config.output.colorspace = MODE_RGB;
    config.output.u.RGBA.rgba = img.pixels.data();
    config.output.u.RGBA.stride = static_cast<int>(img.row_bytes());
    config.output.u.RGBA.size = img.pixels.size();
  }
  st = WebPDecode(bytes.data(), bytes.size(), &config);
  WebPFreeDecBuffer(&config.output);
  if (st == VP8_STATUS_NOT_ENOUGH_DATA) return DataLoss("truncated WebP data");
  if (st != VP8_STATUS_OK)
    return DataLoss(fmt::format("corrupt WebP (libwebp status {})", static_cast<int>(st)));
  if (luma) {
    for (auto& p : img.pixels) p = FullRangeLuma(p);
    result.is_luma = true;
  }
  result.image = std::move(img);
  return result;
}

}  // namespace takedown::media
