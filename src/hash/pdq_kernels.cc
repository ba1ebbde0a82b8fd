#include "hash/pdq_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

// x86-64 builds carry AVX-512 and AVX2 copies of the vector loops, picked at load time; other
// targets (the WebAssembly build of the victims' form) compile the one version they have.
#if defined(__x86_64__)
#define TD_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TD_VECTOR_CLONES
#endif

namespace takedown::hash::pdq {
namespace {

// Rows handled side by side when filtering along rows: they are transposed into a strip so that
// each original row becomes a column and the column kernel runs them as vector lanes.
constexpr int kStrip = 16;

constexpr float kLumaR = 0.299f;
constexpr float kLumaG = 0.587f;
constexpr float kLumaB = 0.114f;

// kLumaX * v for every byte v: the same float products the formula computes, looked up instead
// of multiplied (three loads and two adds a pixel, in the same order: (R + G) + B).
struct LumaTables {
  float r[256], g[256], b[256];
  LumaTables() {
    for (int v = 0; v < 256; ++v) {
      r[v] = kLumaR * static_cast<float>(v);
      g[v] = kLumaG * static_cast<float>(v);
      b[v] = kLumaB * static_cast<float>(v);
    }
  }
};
const LumaTables& Luma() {
  static const LumaTables t;
  return t;
}

bool IsPowerOfTwo(int n) { return n > 0 && (n & (n - 1)) == 0; }

// Box filter down the columns of a rows x cols matrix (row strides in floats), all columns at
// once. For each column the float operations are exactly those of the reference's 1-D box
// filter: a running sum that first grows to the window (phase 1: no output; phase 2: output with
// a growing window), then slides (phase 3: add the entering value, then subtract the leaving
// one), then shrinks (phase 4). The window is off-centre for even sizes: half = (w + 2) / 2.
// kLanes > 0 fixes the column count at compile time (the row-pass strips), so the running sums
// stay in vector registers. The callers below are compiled for AVX-512 and AVX2 as well as the
// baseline, chosen at load time; every lane performs the same IEEE operations in every version,
// so all give the same bits.
template <int kLanes>
__attribute__((always_inline)) inline void BoxDown(const float* __restrict in, size_t in_stride,
                                                   float* __restrict out, size_t out_stride,
                                                   int rows, int runtime_cols, int window,
                                                   float* __restrict sums) {
  const int cols = kLanes > 0 ? kLanes : runtime_cols;
  const int half = (window + 2) / 2;
  const int phase1 = half - 1;
  const int phase2 = window - half + 1;
  const int phase3 = rows - window;
  const int phase4 = half - 1;
  float local[kLanes > 0 ? kLanes : 1];
  float* __restrict acc = kLanes > 0 ? local : sums;
  std::fill(acc, acc + cols, 0.0f);
  int ri = 0, li = 0, oi = 0, n = 0;
  for (int s = 0; s < phase1; ++s, ++ri, ++n) {
    const float* a = in + ri * in_stride;
    for (int c = 0; c < cols; ++c) acc[c] += a[c];
  }
  for (int s = 0; s < phase2; ++s, ++ri, ++oi) {
    const float* a = in + ri * in_stride;
    float* o = out + oi * out_stride;
    const auto size = static_cast<float>(++n);
    for (int c = 0; c < cols; ++c) {
      acc[c] += a[c];
      o[c] = acc[c] / size;
    }
  }
  const auto full = static_cast<float>(n);
  // x / n == x * (1 / n) exactly when n is a power of two (the reciprocal is exact), as for the
  // window of 4 that a 512-pixel side gets.
  const bool exact_reciprocal = IsPowerOfTwo(n);
  const float inv = 1.0f / full;
  for (int s = 0; s < phase3; ++s, ++ri, ++li, ++oi) {
    const float* a = in + ri * in_stride;
    const float* r = in + li * in_stride;
    float* o = out + oi * out_stride;
    if (exact_reciprocal) {
      for (int c = 0; c < cols; ++c) {
        acc[c] += a[c];
        acc[c] -= r[c];
        o[c] = acc[c] * inv;
      }
    } else {
      for (int c = 0; c < cols; ++c) {
        acc[c] += a[c];
        acc[c] -= r[c];
        o[c] = acc[c] / full;
      }
    }
  }
  for (int s = 0; s < phase4; ++s, ++li, ++oi) {
    const float* r = in + li * in_stride;
    float* o = out + oi * out_stride;
    const auto size = static_cast<float>(--n);
    for (int c = 0; c < cols; ++c) {
      acc[c] -= r[c];
      o[c] = acc[c] / size;
    }
  }
}

TD_VECTOR_CLONES void BoxDownColumns(const float* in, size_t in_stride, float* out,
                                     size_t out_stride, int rows, int cols, int window,
                                     float* sums) {
  BoxDown<0>(in, in_stride, out, out_stride, rows, cols, window, sums);
}

// A strip of kStrip lanes (rows of the image, transposed); lanes beyond the real ones hold zeros.
TD_VECTOR_CLONES void BoxDownStrip(const float* in, float* out, int steps, int window) {
  BoxDown<kStrip>(in, kStrip, out, kStrip, steps, kStrip, window, nullptr);
}

}  // namespace

TD_VECTOR_CLONES void LumaFromRgb(const uint8_t* rgb, size_t count, float* out) {
  for (size_t i = 0; i < count; ++i) {
    out[i] = kLumaR * static_cast<float>(rgb[3 * i]) + kLumaG * static_cast<float>(rgb[3 * i + 1]) +
             kLumaB * static_cast<float>(rgb[3 * i + 2]);
  }
}

float LumaOfRgbPixel(const uint8_t* p) {
  const LumaTables& t = Luma();
  return t.r[p[0]] + t.g[p[1]] + t.b[p[2]];
}

void LumaFromGray(const uint8_t* gray, size_t count, float* out) {
  for (size_t i = 0; i < count; ++i) out[i] = static_cast<float>(gray[i]);
}

void BoxAlongCols(const float* in, float* out, int rows, int cols, int window, float* scratch) {
  BoxDownColumns(in, static_cast<size_t>(cols), out, static_cast<size_t>(cols), rows, cols, window,
                 scratch);
}

namespace {

// dst[c * dst_stride + l] = src[l * src_stride + c] for l < lanes, c < cols. Copies are exact, so
// the SSE2 4x4 blocks (x86-64 baseline) change speed only.
void TransposeStrip(const float* src, size_t src_stride, float* dst, size_t dst_stride, int lanes,
                    int cols) {
  int l0 = 0;
#if defined(__SSE2__)
  for (; l0 + 4 <= lanes; l0 += 4) {
    int c = 0;
    for (; c + 4 <= cols; c += 4) {
      __m128 r0 = _mm_loadu_ps(src + (l0 + 0) * src_stride + c);
      __m128 r1 = _mm_loadu_ps(src + (l0 + 1) * src_stride + c);
      __m128 r2 = _mm_loadu_ps(src + (l0 + 2) * src_stride + c);
      __m128 r3 = _mm_loadu_ps(src + (l0 + 3) * src_stride + c);
      _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
      _mm_storeu_ps(dst + (c + 0) * dst_stride + l0, r0);
      _mm_storeu_ps(dst + (c + 1) * dst_stride + l0, r1);
      _mm_storeu_ps(dst + (c + 2) * dst_stride + l0, r2);
      _mm_storeu_ps(dst + (c + 3) * dst_stride + l0, r3);
    }
    for (; c < cols; ++c) {
      for (int l = l0; l < l0 + 4; ++l) dst[c * dst_stride + l] = src[l * src_stride + c];
    }
  }
#endif
  for (; l0 < lanes; ++l0) {
    for (int c = 0; c < cols; ++c) dst[c * dst_stride + l0] = src[l0 * src_stride + c];
  }
}

// Transposes `lanes` rows of `cols` floats into strip[c][0..kStrip), zeroing unused lanes (zeros
// keep the padding lanes' arithmetic cheap; their results are never read).
void LoadStrip(const float* rows_in, int cols, int lanes, float* strip) {
  if (lanes < kStrip) std::fill(strip, strip + static_cast<size_t>(cols) * kStrip, 0.0f);
  TransposeStrip(rows_in, static_cast<size_t>(cols), strip, kStrip, lanes, cols);
}

}  // namespace

void BoxAlongRows(const float* in, float* out, int rows, int cols, int window, float* scratch) {
  // Rows are filtered kStrip at a time: transposed into a strip where each row is a column, run
  // through the column kernel as vector lanes, and transposed back.
  // scratch layout: strip_in [cols][kStrip], strip_out [cols][kStrip].
  float* strip_in = scratch;
  float* strip_out = scratch + static_cast<size_t>(cols) * kStrip;
  for (int r0 = 0; r0 < rows; r0 += kStrip) {
    const int lanes = std::min(kStrip, rows - r0);
    LoadStrip(in + static_cast<size_t>(r0) * cols, cols, lanes, strip_in);
    BoxDownStrip(strip_in, strip_out, cols, window);
    // Back: strip_out is cols x kStrip; out rows r0.. are its transpose.
    for (int c0 = 0; c0 < cols; c0 += 4096) {
      const int n = std::min(4096, cols - c0);
      TransposeStrip(strip_out + static_cast<size_t>(c0) * kStrip, kStrip,
                     out + static_cast<size_t>(r0) * cols + c0, static_cast<size_t>(cols), n,
                     lanes);
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

namespace {
// The row (or column) that output index i of 64 samples: floor((i + 0.5) * dim / 64).
int SampleIndex(int i, int dim) { return static_cast<int>(((i + 0.5) * dim) / kBlock); }
}  // namespace

void JaroszDecimate64(float* buf, float* tmp, int rows, int cols, float* scratch, Buffer64& out) {
  const int along_rows = JaroszWindow(cols);
  const int along_cols = JaroszWindow(rows);
  BoxAlongRows(buf, tmp, rows, cols, along_rows, scratch);
  BoxAlongCols(tmp, buf, rows, cols, along_cols, scratch);
  // Second rep. Each row's running sum is independent of the others, and so is each column's,
  // so computing only what decimation reads changes no bit: the row pass runs in full but only
  // the 64 sampled columns are kept (in tmp, rows x 64), then the column pass runs on those.
  int col_index[kBlock];
  for (int j = 0; j < kBlock; ++j) col_index[j] = SampleIndex(j, cols);
  float* strip_in = scratch;
  float* strip_out = scratch + static_cast<size_t>(cols) * kStrip;
  float* sums = strip_out + static_cast<size_t>(cols) * kStrip;
  for (int r0 = 0; r0 < rows; r0 += kStrip) {
    const int lanes = std::min(kStrip, rows - r0);
    LoadStrip(buf + static_cast<size_t>(r0) * cols, cols, lanes, strip_in);
    BoxDownStrip(strip_in, strip_out, cols, along_rows);
    for (int l = 0; l < lanes; ++l) {
      float* dst = tmp + static_cast<size_t>(r0 + l) * kBlock;
      for (int j = 0; j < kBlock; ++j) dst[j] = strip_out[col_index[j] * kStrip + l];
    }
  }
  float* filtered = tmp + static_cast<size_t>(rows) * kBlock;
  BoxDownColumns(tmp, kBlock, filtered, kBlock, rows, kBlock, along_cols, sums);
  for (int i = 0; i < kBlock; ++i) {
    std::copy_n(filtered + static_cast<size_t>(SampleIndex(i, rows)) * kBlock, kBlock,
                &out[i * kBlock]);
  }
}

void Decimate64(const float* in, int rows, int cols, Buffer64& out) {
  int col_index[kBlock];
  for (int j = 0; j < kBlock; ++j) col_index[j] = SampleIndex(j, cols);
  for (int i = 0; i < kBlock; ++i) {
    const float* row = in + static_cast<size_t>(SampleIndex(i, rows)) * cols;
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
        d[i][k] =
            static_cast<float>(scale * std::cos((kPi / 2.0 / kBlock) * (i + 1) * (2 * k + 1)));
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
    case Dihedral::kOriginal:
      break;
    case Dihedral::kRotate90:
      transpose = true;
      negate_even_j = true;
      break;
    case Dihedral::kRotate180:
      negate_even_i = negate_even_j = true;
      break;
    case Dihedral::kRotate270:
      transpose = true;
      negate_even_i = true;
      break;
    case Dihedral::kFlipX:
      negate_even_i = true;
      break;
    case Dihedral::kFlipY:
      negate_even_j = true;
      break;
    case Dihedral::kFlipPlus1:
      transpose = true;
      break;
    case Dihedral::kFlipMinus1:
      transpose = true;
      negate_even_i = negate_even_j = true;
      break;
  }
  for (int i = 0; i < kDctSize; ++i) {
    for (int j = 0; j < kDctSize; ++j) {
      const bool negate = ((i % 2 == 0) && negate_even_i) != ((j % 2 == 0) && negate_even_j);
      const float v = negate ? -a[i * kDctSize + j] : a[i * kDctSize + j];
      if (transpose)
        out[j * kDctSize + i] = v;
      else
        out[i * kDctSize + j] = v;
    }
  }
}

}  // namespace takedown::hash::pdq
