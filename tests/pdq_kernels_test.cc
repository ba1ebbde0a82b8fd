// The vectorised PDQ kernels against plain scalar transcriptions of the published algorithm:
// results must be bit-identical, since reference conformance depends on it.
#include "hash/pdq_kernels.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "hash/pdq.h"
#include "support/synthetic.h"

namespace takedown::hash::pdq {
namespace {

// One box-filter pass along a strided vector, scalar, as PDQ.md step 4 describes it.
void ScalarBox1D(const float* in, float* out, int length, int stride, int window) {
  const int half = (window + 2) / 2;
  float sum = 0.0f;
  int n = 0, li = 0, ri = 0, oi = 0;
  for (int i = 0; i < half - 1; ++i, ri += stride, ++n) sum += in[ri];
  for (int i = 0; i < window - half + 1; ++i, ri += stride, oi += stride) {
    sum += in[ri];
    ++n;
    out[oi] = sum / n;
  }
  for (int i = 0; i < length - window; ++i, li += stride, ri += stride, oi += stride) {
    sum += in[ri];
    sum -= in[li];
    out[oi] = sum / n;
  }
  for (int i = 0; i < half - 1; ++i, li += stride, oi += stride) {
    sum -= in[li];
    --n;
    out[oi] = sum / n;
  }
}

std::vector<float> RandomPlane(int rows, int cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 255.0f);
  std::vector<float> v(static_cast<size_t>(rows) * cols);
  for (auto& x : v) x = u(rng);
  return v;
}

class BoxTest : public ::testing::TestWithParam<std::tuple<int, int, int>> {};

TEST_P(BoxTest, RowsAndColumnsMatchScalarBitForBit) {
  const auto [rows, cols, window] = GetParam();
  const auto in = RandomPlane(rows, cols, static_cast<uint32_t>(rows * 131 + cols * 7 + window));
  std::vector<float> got(in.size()), want(in.size());
  std::vector<float> scratch(32 * static_cast<size_t>(std::max(rows, cols)) + 64);

  BoxAlongRows(in.data(), got.data(), rows, cols, window, scratch.data());
  for (int r = 0; r < rows; ++r) ScalarBox1D(&in[r * cols], &want[r * cols], cols, 1, window);
  EXPECT_EQ(0, std::memcmp(got.data(), want.data(), got.size() * sizeof(float)));

  BoxAlongCols(in.data(), got.data(), rows, cols, window, scratch.data());
  for (int c = 0; c < cols; ++c) ScalarBox1D(&in[c], &want[c], rows, cols, window);
  EXPECT_EQ(0, std::memcmp(got.data(), want.data(), got.size() * sizeof(float)));
}

INSTANTIATE_TEST_SUITE_P(Sizes, BoxTest,
                         ::testing::Values(std::make_tuple(5, 5, 1), std::make_tuple(7, 33, 2),
                                           std::make_tuple(512, 512, 4),
                                           std::make_tuple(37, 300, 3),
                                           std::make_tuple(1004, 17, 8),
                                           std::make_tuple(129, 130, 5)));

TEST(JaroszDecimate, EqualsFullFilterThenDecimateBitForBit) {
  for (auto [rows, cols] : {std::pair{512, 512}, std::pair{5, 5}, std::pair{40, 700},
                            std::pair{333, 17}, std::pair{64, 64}, std::pair{1004, 1600}}) {
    const auto in = RandomPlane(rows, cols, static_cast<uint32_t>(rows + cols));
    std::vector<float> a = in, b = in, tmp(JaroszDecimateTmpSize(rows, cols));
    std::vector<float> scratch(32 * static_cast<size_t>(std::max(rows, cols)) + 64);
    Buffer64 want, got;
    JaroszFilter(a.data(), tmp.data(), rows, cols, scratch.data());
    Decimate64(a.data(), rows, cols, want);
    JaroszDecimate64(b.data(), tmp.data(), rows, cols, scratch.data(), got);
    EXPECT_EQ(0, std::memcmp(want.data(), got.data(), sizeof(want))) << rows << "x" << cols;
  }
}

TEST(Dct, MatchesScalarMatrixProductBitForBit) {
  const auto plane = RandomPlane(64, 64, 7);
  Buffer64 a;
  std::copy(plane.begin(), plane.end(), a.begin());
  Buffer16 got;
  Dct64To16(a, got);

  const double kPi = 3.14159265358979323846;
  const float scale = static_cast<float>(std::sqrt(2.0 / 64));
  float d[16][64];
  for (int i = 0; i < 16; ++i) {
    for (int k = 0; k < 64; ++k)
      d[i][k] = static_cast<float>(scale * std::cos((kPi / 2.0 / 64) * (i + 1) * (2 * k + 1)));
  }
  float t[16][64];
  for (int i = 0; i < 16; ++i) {
    for (int j = 0; j < 64; ++j) {
      float s = 0.0f;
      for (int k = 0; k < 64; ++k) s += d[i][k] * a[k * 64 + j];
      t[i][j] = s;
    }
  }
  for (int i = 0; i < 16; ++i) {
    for (int j = 0; j < 16; ++j) {
      float s = 0.0f;
      for (int k = 0; k < 64; ++k) s += t[i][k] * d[j][k];
      EXPECT_EQ(s, got[i * 16 + j]) << i << "," << j;
    }
  }
}

TEST(Bits, HalfTheBitsAreSetForDistinctCoefficients) {
  Buffer16 dct;
  for (int k = 0; k < 256; ++k) dct[k] = static_cast<float>((k * 37) % 256);
  const Hash256 h = BitsFromDct(dct);
  EXPECT_EQ(h.popcount(), 128);  // strictly above the 128th smallest
  for (int k = 0; k < 256; ++k) EXPECT_EQ(h.bit(k), dct[k] > 127.0f);
}

TEST(Quality, FlatImageHasQualityZeroAndDetailedImageHigh) {
  Buffer64 flat;
  flat.fill(128.0f);
  EXPECT_EQ(Quality64(flat), 0);
  Buffer64 checker;
  for (int i = 0; i < 64; ++i) {
    for (int j = 0; j < 64; ++j) checker[i * 64 + j] = ((i + j) % 2) ? 255.0f : 0.0f;
  }
  EXPECT_EQ(Quality64(checker), 100);
}

TEST(PdqHasher, TinyImagesGiveZeroHashAndQualityZero) {
  PdqHasher hasher;
  for (auto [w, h] : {std::pair{4, 100}, std::pair{100, 4}, std::pair{1, 1}}) {
    media::Image img = media::Image::Allocate(w, h, media::PixelFormat::kRgb8);
    std::fill(img.pixels.begin(), img.pixels.end(), 200);
    DihedralHashes dih;
    const PdqHash r = hasher.HashImage(img, 0, &dih);
    EXPECT_TRUE(r.hash.is_zero());
    EXPECT_EQ(r.quality, 0);
    for (const auto& d : dih) EXPECT_TRUE(d.is_zero());
  }
  media::Image five = testing::SyntheticPhoto(5, 5, 3);
  EXPECT_FALSE(hasher.HashImage(five).hash.is_zero());
}

media::Image Rotate90Clockwise(const media::Image& in) {
  media::Image out = media::Image::Allocate(in.height, in.width, in.format);
  for (int y = 0; y < in.height; ++y) {
    for (int x = 0; x < in.width; ++x) {
      // (x, y) -> (H - 1 - y, x)
      std::copy_n(in.row(y) + 3 * x, 3, out.row(x) + 3 * (in.height - 1 - y));
    }
  }
  return out;
}

media::Image MirrorHorizontal(const media::Image& in) {
  media::Image out = media::Image::Allocate(in.width, in.height, in.format);
  for (int y = 0; y < in.height; ++y) {
    for (int x = 0; x < in.width; ++x)
      std::copy_n(in.row(y) + 3 * x, 3, out.row(y) + 3 * (in.width - 1 - x));
  }
  return out;
}

TEST(PdqHasher, DihedralVariantsPredictTransformedImages) {
  PdqHasher hasher;
  const media::Image img = testing::SyntheticPhoto(320, 240, 11);
  DihedralHashes dih;
  const PdqHash orig = hasher.HashImage(img, 0, &dih);
  EXPECT_EQ(dih[0], orig.hash);
  // A 90-degree turn and a mirror each land on one of the variants, and far from the original.
  for (const media::Image& t : {Rotate90Clockwise(img), MirrorHorizontal(img)}) {
    const PdqHash th = hasher.HashImage(t);
    int best = 256;
    for (const auto& d : dih) best = std::min(best, Distance(d, th.hash));
    EXPECT_LE(best, 31);  // "close to, not exactly" (PDQ.md step 10)
    EXPECT_GT(Distance(orig.hash, th.hash), 64);
  }
}

TEST(PdqHasher, ReusedHasherGivesSameResultAsFreshOne) {
  const media::Image big = testing::SyntheticPhoto(700, 300, 5);
  const media::Image small = testing::SyntheticPhoto(90, 120, 6);
  PdqHasher reused;
  reused.HashImage(big, 512);
  const PdqHash a = reused.HashImage(small, 512);
  PdqHasher fresh;
  EXPECT_EQ(a.hash, fresh.HashImage(small, 512).hash);
}

}  // namespace
}  // namespace takedown::hash::pdq
