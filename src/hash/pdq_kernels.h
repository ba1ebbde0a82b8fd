// The steps of PDQ (Meta's perceptual image hash), each a separate kernel so that the hasher can
// compose them and the benchmark can time them. Algorithm: "The PDQ and TMK+PDQF algorithms",
// https://github.com/facebook/ThreatExchange/blob/main/hashing/hashing.pdf, restated in
// ../shared/docs/PDQ.md. Every kernel performs the reference's float operations in the
// reference's order, so hashes are bit-identical to it; vectorisation only runs independent rows
// or columns side by side. Buffers are caller-provided; nothing here allocates except where said.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

#include "hash/hash256.h"

namespace takedown::hash::pdq {

constexpr int kMinDim = 5;    // smaller sides give an all-zero hash, quality 0
constexpr int kBlock = 64;    // the decimated image is 64 x 64
constexpr int kDctSize = 16;  // 16 x 16 low-frequency DCT coefficients, DC excluded

using Buffer64 = std::array<float, kBlock * kBlock>;
using Buffer16 = std::array<float, kDctSize * kDctSize>;

// luma = 0.299 R + 0.587 G + 0.114 B in float. rgb: 3 * count bytes; out: count floats.
void LumaFromRgb(const uint8_t* rgb, size_t count, float* out);
void LumaFromGray(const uint8_t* gray, size_t count, float* out);
float LumaOfRgbPixel(const uint8_t* rgb);

// Jarosz filter window for a side of `dim` pixels: (dim + 127) / 128.
inline int JaroszWindow(int dim) { return (dim + 2 * kBlock - 1) / (2 * kBlock); }

// One box-filter pass. in, out: rows x cols floats (distinct buffers). scratch: at least
// 32 * max(rows, cols) floats.
void BoxAlongRows(const float* in, float* out, int rows, int cols, int window, float* scratch);
void BoxAlongCols(const float* in, float* out, int rows, int cols, int window, float* scratch);

// Two passes of rows-then-columns box filters (a tent), windows from JaroszWindow. The result is
// left in buf. tmp: rows * cols floats; scratch as for BoxAlongRows.
void JaroszFilter(float* buf, float* tmp, int rows, int cols, float* scratch);

// JaroszFilter followed by Decimate64, bit-identical to them, computing in the second filter
// repetition only what decimation reads. Overwrites buf and tmp; tmp holds at least
// JaroszDecimateTmpSize(rows, cols) floats.
inline size_t JaroszDecimateTmpSize(int rows, int cols) {
  const size_t r = static_cast<size_t>(rows);
  return std::max(r * static_cast<size_t>(cols), 2 * r * kBlock);
}
void JaroszDecimate64(float* buf, float* tmp, int rows, int cols, float* scratch, Buffer64& out);

// Samples the 64 x 64 pixel centres: out[i][j] = in[(i + 0.5) * rows / 64][(j + 0.5) * cols / 64].
void Decimate64(const float* in, int rows, int cols, Buffer64& out);

// Gradient-based quality, 0..100 (PDQ's heuristic).
int Quality64(const Buffer64& in);

// Coefficients (1..16) x (1..16) of the 2-D DCT-II of the 64 x 64 block: D * A * D^T.
void Dct64To16(const Buffer64& in, Buffer16& out);

// Bit k = i * 16 + j is set when out[i][j] is above the median (the 128th smallest value).
Hash256 BitsFromDct(const Buffer16& dct);

// The eight dihedral variants, derived from the DCT by sign flips and transposes, in the
// reference's order.
enum class Dihedral {
  kOriginal,
  kRotate90,
  kRotate180,
  kRotate270,
  kFlipX,
  kFlipY,
  kFlipPlus1,
  kFlipMinus1
};
constexpr int kDihedralCount = 8;
void DihedralDct(const Buffer16& in, Dihedral which, Buffer16& out);

}  // namespace takedown::hash::pdq
