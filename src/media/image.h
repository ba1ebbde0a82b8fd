// Decoded pixels. An Image owns a tightly packed, row-major 8-bit buffer: one byte per pixel
// for kGray8, three (R, G, B) for kRgb8. Grey sources stay grey so that their luma is the pixel
// value itself, as in the PDQ reference. Value type; thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace takedown::media {

enum class PixelFormat { kGray8, kRgb8 };

inline int ChannelCount(PixelFormat f) { return f == PixelFormat::kGray8 ? 1 : 3; }

struct Image {
  int width = 0;
  int height = 0;
  PixelFormat format = PixelFormat::kRgb8;
  std::vector<uint8_t> pixels;  // height * width * channels() bytes

  int channels() const { return ChannelCount(format); }
  size_t row_bytes() const { return static_cast<size_t>(width) * channels(); }
  const uint8_t* row(int y) const { return pixels.data() + static_cast<size_t>(y) * row_bytes(); }
  uint8_t* row(int y) { return pixels.data() + static_cast<size_t>(y) * row_bytes(); }

  // Allocates width * height * channels bytes; callers check limits first.
  static Image Allocate(int width, int height, PixelFormat format) {
    Image img;
    img.width = width;
    img.height = height;
    img.format = format;
    img.pixels.resize(static_cast<size_t>(width) * height * ChannelCount(format));
    return img;
  }
};

}  // namespace takedown::media
