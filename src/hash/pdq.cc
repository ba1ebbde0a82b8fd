#include "hash/pdq.h"

#include <algorithm>
#include <chrono>

namespace takedown::hash {
namespace {

using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Luma of one source pixel.
inline float PixelLuma(const uint8_t* p, int channels) {
  return channels == 1 ? static_cast<float>(p[0]) : pdq::LumaOfRgbPixel(p);
}

}  // namespace

float* PdqHasher::LumaBuffer(size_t n) {
  if (luma_.size() < n) luma_.resize(n);
  return luma_.data();
}

PdqHash PdqHasher::HashImage(const media::Image& image, int resize_to, DihedralHashes* dihedral,
                             PdqStageTimes* times) {
  const auto t0 = Clock::now();
  const int channels = image.channels();
  int rows = image.height;
  int cols = image.width;
  if (resize_to > 0 && (rows > resize_to || cols > resize_to)) {
    // Nearest-neighbour resize fused with the luma conversion (luma is per pixel).
    float* out = LumaBuffer(static_cast<size_t>(resize_to) * resize_to);
    std::vector<int> src_col(static_cast<size_t>(resize_to));
    for (int x = 0; x < resize_to; ++x) {
      src_col[x] = static_cast<int>(static_cast<int64_t>(x) * cols / resize_to);
    }
    for (int y = 0; y < resize_to; ++y) {
      const uint8_t* row = image.row(static_cast<int>(static_cast<int64_t>(y) * rows / resize_to));
      for (int x = 0; x < resize_to; ++x) {
        out[y * resize_to + x] = PixelLuma(row + src_col[x] * channels, channels);
      }
    }
    rows = cols = resize_to;
  } else {
    const size_t n = static_cast<size_t>(rows) * cols;
    float* out = LumaBuffer(n);
    if (channels == 1)
      pdq::LumaFromGray(image.pixels.data(), n, out);
    else
      pdq::LumaFromRgb(image.pixels.data(), n, out);
  }
  if (times != nullptr) times->luma += Since(t0);
  return HashLuma(rows, cols, dihedral, times);
}

PdqHash PdqHasher::HashLuma(int rows, int cols, DihedralHashes* dihedral, PdqStageTimes* times) {
  PdqHash result;
  if (rows < pdq::kMinDim || cols < pdq::kMinDim) {
    if (dihedral != nullptr) dihedral->fill(Hash256{});
    return result;  // all-zero hash, quality 0
  }
  auto t0 = Clock::now();
  pdq::Buffer64 block;
  float* luma = LumaBuffer(static_cast<size_t>(rows) * cols);
  if (rows == pdq::kBlock && cols == pdq::kBlock) {
    std::copy(luma, luma + block.size(), block.begin());
  } else {
    const size_t n = pdq::JaroszDecimateTmpSize(rows, cols);
    if (tmp_.size() < n) tmp_.resize(n);
    const size_t scratch = 32 * static_cast<size_t>(std::max(rows, cols)) + 64;
    if (scratch_.size() < scratch) scratch_.resize(scratch);
    pdq::JaroszDecimate64(luma, tmp_.data(), rows, cols, scratch_.data(), block);
  }
  if (times != nullptr) {
    times->filter += Since(t0);
    t0 = Clock::now();
  }
  result.quality = pdq::Quality64(block);
  pdq::Buffer16 dct;
  pdq::Dct64To16(block, dct);
  result.hash = pdq::BitsFromDct(dct);
  if (dihedral != nullptr) {
    pdq::Buffer16 variant;
    for (int v = 0; v < pdq::kDihedralCount; ++v) {
      pdq::DihedralDct(dct, static_cast<pdq::Dihedral>(v), variant);
      (*dihedral)[v] = pdq::BitsFromDct(variant);
    }
  }
  if (times != nullptr) times->dct += Since(t0);
  return result;
}

}  // namespace takedown::hash
