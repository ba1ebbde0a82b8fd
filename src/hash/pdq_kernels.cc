#include "hash/pdq_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace takedown::hash::pdq {
namespace {

// Rows handled side by side when filtering along rows: they are transposed into a strip so that
// each original row becomes a column and the column kernel runs them as vector lanes.
constexpr int kStrip = 16;

constexpr float kLumaR = 0.299f;
constexpr float kLumaG = 0.587f;
constexpr float kLumaB = 0.114f;

// Box filter down the columns of a rows x cols matrix (row strides in floats), all columns at
// once. For each column the float operations are exactly those of the reference's 1-D box
// filter: a running sum that first grows to the window (phase 1: no output; phase 2: output with
// a growing window), then slides (phase 3: add the entering value, then subtract the leaving
// one), then shrinks (phase 4). The window is off-centre for even sizes: half = (w + 2) / 2.
void BoxDownColumns(const float* in, size_t in_stride, float* out, size_t out_stride, int rows,
                    int cols, int window, float* sums) {
  const int half = (window + 2) / 2;
  const int phase1 = half - 1;
  const int phase2 = window - half + 1;
  const int phase3 = rows - window;
  const int phase4 = half - 1;
  std::fill(sums, sums + cols, 0.0f);
  int ri = 0, li = 0, oi = 0, n = 0;
  for (int s = 0; s < phase1; ++s, ++ri, ++n) {
    const float* a = in + ri * in_stride;
    for (int c = 0; c < cols; ++c) sums[c] += a[c];
  }
  for (int s = 0; s < phase2; ++s, ++ri, ++oi) {
    const float* a = in + ri * in_stride;
    float* o = out + oi * out_stride;
    const auto size = static_cast<float>(++n);
    for (int c = 0; c < cols; ++c) {
      sums[c] += a[c];
      o[c] = sums[c] / size;
    }
  }
  const auto full = static_cast<float>(n);
  for (int s = 0; s < phase3; ++s, ++ri, ++li, ++oi) {
    const float* a = in + ri * in_stride;
    const float* r = in + li * in_stride;
    float* o = out + oi * out_stride;
    for (int c = 0; c < cols; ++c) {
      sums[c] += a[c];
      sums[c] -= r[c];
      o[c] = sums[c] / full;
    }
  }
  for (int s = 0; s < phase4; ++s, ++li, ++oi) {
    const float* r = in + li * in_stride;
    float* o = out + oi * out_stride;
    const auto size = static_cast<float>(--n);
    for (int c = 0; c < cols; ++c) {
      sums[c] -= r[c];
      o[c] = sums[c] / size;
    }
  }
}

}  // namespace

void LumaFromRgb(const uint8_t* rgb, size_t count, float* out) {
  for (size_t i = 0; i < count; ++i) {
    out[i] = kLumaR * static_cast<float>(rgb[3 * i]) + kLumaG * static_cast<float>(rgb[3 * i + 1]) +
             kLumaB * static_cast<float>(rgb[3 * i + 2]);
  }
}

void LumaFromGray(const uint8_t* gray, size_t count, float* out) {
  for (size_t i = 0; i < count; ++i) out[i] = static_cast<float>(gray[i]);
}

void BoxAlongCols(const float* in, float* out, int rows, int cols, int window, float* scratch) {
  BoxDownColumns(in, static_cast<size_t>(cols), out, static_cast<size_t>(cols), rows, cols, window,
                 scratch);
}

void BoxAlongRows(const float* in, float* out, int rows, int cols, int window, float* scratch) {
  // scratch layout: strip_in [cols][kStrip], strip_out [cols][kStrip], sums [kStrip].
  float* strip_in = scratch;
  float* strip_out = scratch + static_cast<size_t>(cols) * kStrip;
  float* sums = strip_out + static_cast<size_t>(cols) * kStrip;
  for (int r0 = 0; r0 < rows; r0 += kStrip) {
    const int lanes = std::min(kStrip, rows - r0);
    for (int l = 0; l < lanes; ++l) {
      const float* src = in + static_cast<size_t>(r0 + l) * cols;
      for (int c = 0; c < cols; ++c) strip_in[c * kStrip + l] = src[c];
    }
    BoxDownColumns(strip_in, kStrip, strip_out, kStrip, cols, lanes, window, sums);
    for (int l = 0; l < lanes; ++l) {
      float* dst = out + static_cast<size_t>(r0 + l) * cols;
      for (int c = 0; c < cols; ++c) dst[c] = strip_out[c * kStrip + l];
    }
  }
}

void JaroszFilter(float* buf, float* tmp, int rows, int cols, float* scratch) {
  const int along_rows = JaroszWindow(cols);
  const int along_cols = JaroszWindow(rows);
  for (int rep = 0; rep < 2; ++rep) {
    BoxAlongRows(buf, tmp, rows, cols, along_rows, scratch);
    BoxAlongCols(tmp, buf, rows, cols, along_cols, scratch);
  }
}

void Decimate64(const float* in, int rows, int cols, Buffer64& out) {
  int col_index[kBlock];
  for (int j = 0; j < kBlock; ++j) col_index[j] = static_cast<int>(((j + 0.5) * cols) / kBlock);
  for (int i = 0; i < kBlock; ++i) {
    const int r = static_cast<int>(((i + 0.5) * rows) / kBlock);
    const float* row = in + static_cast<size_t>(r) * cols;
    for (int j = 0; j < kBlock; ++j) out[i * kBlock + j] = row[col_index[j]];
  }
}

int Quality64(const Buffer64& a) {
  int sum = 0;
  auto step = [&sum](float u, float v) {
    const int d = static_cast<int>(((u - v) * 100) / 255);
    sum += d < 0 ? -d : d;
  };
  for (int i = 0; i + 1 < kBlock; ++i) {
    for (int j = 0; j < kBlock; ++j) step(a[i * kBlock + j], a[(i + 1) * kBlock + j]);
  }
  for (int i = 0; i < kBlock; ++i) {
    for (int j = 0; j + 1 < kBlock; ++j) step(a[i * kBlock + j], a[i * kBlock + j + 1]);
  }
  return std::min(sum / 90, 100);
}

namespace {

// D[i][k] = sqrt(2/64) * cos(pi/128 * (i+1) * (2k+1)): the scale is rounded to float first and
// each entry computed in double, then stored as float (as the reference does). Dt is D^T.
struct DctMatrices {
  float d[kDctSize][kBlock];
  float dt[kBlock][kDctSize];
  DctMatrices() {
    constexpr double kPi = 3.14159265358979323846;
    const float scale = static_cast<float>(std::sqrt(2.0 / kBlock));
    for (int i = 0; i < kDctSize; ++i) {
      for (int k = 0; k < kBlock; ++k) {
        d[i][k] = static_cast<float>(scale * std::cos((kPi / 2.0 / kBlock) * (i + 1) * (2 * k + 1)));
        dt[k][i] = d[i][k];
      }
    }
  }
};

const DctMatrices& Matrices() {
  static const DctMatrices m;
  return m;
}

}  // namespace

void Dct64To16(const Buffer64& a, Buffer16& out) {
  const DctMatrices& m = Matrices();
  // T = D * A, accumulated over k in ascending order per element (vectorised across j).
  alignas(64) float t[kDctSize][kBlock];
  for (int i = 0; i < kDctSize; ++i) {
    float acc[kBlock] = {};
    for (int k = 0; k < kBlock; ++k) {
      const float dik = m.d[i][k];
      const float* ak = &a[k * kBlock];
      for (int j = 0; j < kBlock; ++j) acc[j] += dik * ak[j];
    }
    std::memcpy(t[i], acc, sizeof(acc));
  }
  // B = T * D^T, likewise.
  for (int i = 0; i < kDctSize; ++i) {
    float acc[kDctSize] = {};
    for (int k = 0; k < kBlock; ++k) {
      const float tik = t[i][k];
      for (int j = 0; j < kDctSize; ++j) acc[j] += tik * m.dt[k][j];
    }
    std::memcpy(&out[i * kDctSize], acc, sizeof(acc));
  }
}

Hash256 BitsFromDct(const Buffer16& dct) {
  Buffer16 sorted = dct;
  auto mid = sorted.begin() + (sorted.size() / 2 - 1);
  std::nth_element(sorted.begin(), mid, sorted.end());
  const float median = *mid;
  Hash256 h;
  for (int k = 0; k < kDctSize * kDctSize; ++k) {
    if (dct[k] > median) h.set_bit(k);
  }
  return h;
}

void DihedralDct(const Buffer16& a, Dihedral which, Buffer16& out) {
  // Reflecting an axis multiplies the coefficient of frequency u along it by (-1)^u. Index i
  // holds frequency i + 1, so even indices change sign. Rotations add a transpose.
  bool transpose = false;
  bool negate_even_i = false;
  bool negate_even_j = false;
  switch (which) {
    case Dihedral::kOriginal: break;
    case Dihedral::kRotate90: transpose = true; negate_even_j = true; break;
    case Dihedral::kRotate180: negate_even_i = negate_even_j = true; break;
    case Dihedral::kRotate270: transpose = true; negate_even_i = true; break;
    case Dihedral::kFlipX: negate_even_i = true; break;
    case Dihedral::kFlipY: negate_even_j = true; break;
    case Dihedral::kFlipPlus1: transpose = true; break;
    case Dihedral::kFlipMinus1: transpose = true; negate_even_i = negate_even_j = true; break;
  }
  for (int i = 0; i < kDctSize; ++i) {
    for (int j = 0; j < kDctSize; ++j) {
      const bool negate = ((i % 2 == 0) && negate_even_i) != ((j % 2 == 0) && negate_even_j);
      const float v = negate ? -a[i * kDctSize + j] : a[i * kDctSize + j];
      if (transpose) out[j * kDctSize + i] = v;
      else out[i * kDctSize + j] = v;
    }
  }
}

}  // namespace takedown::hash::pdq
