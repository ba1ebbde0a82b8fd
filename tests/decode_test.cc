// Bad and unusual input for the image decoders and hasher: every case gives a clear error or a
// correct hash, never a crash, hang or allocation beyond the limits (run under ASan+UBSan).
#include "media/decode.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "hash/digest.h"
#include "hash/image_signals.h"
#include "support/synthetic.h"

namespace takedown {
namespace {

using hash::HashMode;
using hash::ImageHasher;
using hash::ImageHashOptions;
using media::DecodeImage;
using media::DecodeOptions;
using testing::SyntheticPhoto;

std::vector<uint8_t> Jpeg(const media::Image& img, int q = 90) {
  auto r = media::EncodeJpeg(img, q);
  EXPECT_TRUE(r.ok());
  return std::move(r).value();
}

Result<hash::ImageSignals> HashBytes(const std::vector<uint8_t>& bytes,
                                     HashMode mode = HashMode::kFast) {
  ImageHasher hasher;
  ImageHashOptions opts;
  opts.mode = mode;
  return hasher.HashBytes(bytes, opts);
}

bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

uint32_t Crc32(const uint8_t* p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return c ^ 0xFFFFFFFFu;
}

void PutBe32(std::vector<uint8_t>& v, uint32_t x) {
  for (int s = 24; s >= 0; s -= 8) v.push_back(static_cast<uint8_t>(x >> s));
}

void PngChunk(std::vector<uint8_t>& png, const char* type, const std::vector<uint8_t>& data) {
  PutBe32(png, static_cast<uint32_t>(data.size()));
  std::vector<uint8_t> body(type, type + 4);
  body.insert(body.end(), data.begin(), data.end());
  png.insert(png.end(), body.begin(), body.end());
  PutBe32(png, Crc32(body.data(), body.size()));
}

TEST(BadInput, EmptyFileIsAnError) {
  auto r = HashBytes({});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "empty file");
}

TEST(BadInput, TruncatedJpegHashesWhatDecodedWithAWarning) {
  const media::Image img = SyntheticPhoto(400, 300, 1);
  auto jpeg = Jpeg(img);
  auto full = HashBytes(jpeg, HashMode::kReference);
  ASSERT_TRUE(full.ok());
  EXPECT_TRUE(full->warnings.empty());
  jpeg.resize(jpeg.size() * 3 / 4);
  for (HashMode mode : {HashMode::kReference, HashMode::kFast}) {
    auto r = HashBytes(jpeg, mode);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_FALSE(r->warnings.empty());
    EXPECT_TRUE(Contains(r->warnings[0], "Premature end")) << r->warnings[0];
  }
}

TEST(BadInput, JpegCutInsideItsHeaderIsDataLoss) {
  auto jpeg = Jpeg(SyntheticPhoto(64, 64, 2));
  jpeg.resize(40);
  auto r = HashBytes(jpeg);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_TRUE(Contains(r.status().message(), "JPEG")) << r.status().message();
}

TEST(BadInput, TruncatedPngIsDataLoss) {
  auto png = testing::EncodePng(SyntheticPhoto(300, 200, 3), "rgb24");
  png.resize(png.size() / 2);
  auto r = HashBytes(png);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status().ToString();
  EXPECT_TRUE(Contains(r.status().message(), "png")) << r.status().message();
}

TEST(BadInput, RandomBytesAreNotAnImage) {
  std::mt19937 rng(42);
  std::vector<uint8_t> junk(10000);
  for (auto& b : junk) b = static_cast<uint8_t>(rng());
  junk[0] = 0x13;  // not a magic number we know
  auto r = HashBytes(junk);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported) << r.status().ToString();
  // Random bytes behind a real JPEG marker: the JPEG decoder names the damage.
  junk[0] = 0xFF;
  junk[1] = 0xD8;
  junk[2] = 0xFF;
  r = HashBytes(junk);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status().ToString();
}

TEST(BadInput, PngDeclaring100000SquaredPixelsIsRefusedBeforeAllocating) {
  std::vector<uint8_t> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  std::vector<uint8_t> ihdr;
  PutBe32(ihdr, 100000);
  PutBe32(ihdr, 100000);
  ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});  // 8-bit RGB
  PngChunk(png, "IHDR", ihdr);
  PngChunk(png, "IDAT", {0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01});
  PngChunk(png, "IEND", {});
  auto r = HashBytes(png);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted) << r.status().ToString();
  EXPECT_TRUE(Contains(r.status().message(), "100000000")) << r.status().message();
}

TEST(BadInput, JpegDeclaringHugeDimensionsIsRefused) {
  auto jpeg = Jpeg(SyntheticPhoto(32, 32, 4));
  // Patch the SOF0 frame header's height and width to 60000 x 60000.
  for (size_t i = 2; i + 8 < jpeg.size(); ++i) {
    if (jpeg[i] == 0xFF && jpeg[i + 1] == 0xC0) {
      jpeg[i + 5] = 0xEA;
      jpeg[i + 6] = 0x60;  // height 60000
      jpeg[i + 7] = 0xEA;
      jpeg[i + 8] = 0x60;  // width 60000
      break;
    }
  }
  auto r = HashBytes(jpeg);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted) << r.status().ToString();
}

TEST(BadInput, FileOverTheSizeLimitIsRefused) {
  ImageHasher hasher;
  ImageHashOptions opts;
  opts.limits.max_file_bytes = 100;
  auto r = hasher.HashBytes(Jpeg(SyntheticPhoto(64, 64, 5)), opts);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
}

TEST(BadInput, ImageUnderFivePixelsGivesZeroHashQualityZero) {
  for (auto [w, h] : {std::pair{4, 4}, std::pair{3, 200}, std::pair{1, 1}}) {
    auto r = HashBytes(testing::EncodePng(SyntheticPhoto(w, h, 6), "rgb24"));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(r->pdq.hash.is_zero());
    EXPECT_EQ(r->pdq.quality, 0);
    EXPECT_EQ(r->width, w);
  }
}

TEST(BadInput, SixteenBitPngIsReadAsSixteenBit) {
  const media::Image img = SyntheticPhoto(320, 240, 7);
  auto eight = HashBytes(testing::EncodePng(img, "rgb24"), HashMode::kReference);
  auto sixteen = HashBytes(testing::EncodePng(img, "rgb48be"), HashMode::kReference);
  ASSERT_TRUE(eight.ok() && sixteen.ok());
  EXPECT_LE(hash::Distance(eight->pdq.hash, sixteen->pdq.hash), 4);
  auto grey8 = HashBytes(testing::EncodePng(img, "gray"), HashMode::kReference);
  auto grey16 = HashBytes(testing::EncodePng(img, "gray16be"), HashMode::kReference);
  ASSERT_TRUE(grey8.ok() && grey16.ok());
  EXPECT_LE(hash::Distance(grey8->pdq.hash, grey16->pdq.hash), 4);
}

TEST(BadInput, CmykJpegMatchesItsRgbOriginal) {
  const media::Image img = SyntheticPhoto(320, 240, 8);
  auto rgb = HashBytes(Jpeg(img, 95), HashMode::kReference);
  auto cmyk = HashBytes(testing::EncodeCmykJpeg(img, 95), HashMode::kReference);
  ASSERT_TRUE(rgb.ok() && cmyk.ok()) << cmyk.status().ToString();
  EXPECT_LE(hash::Distance(rgb->pdq.hash, cmyk->pdq.hash), 8);
  auto cmyk_fast = HashBytes(testing::EncodeCmykJpeg(img, 95), HashMode::kFast);
  ASSERT_TRUE(cmyk_fast.ok());
  EXPECT_LE(hash::Distance(rgb->pdq.hash, cmyk_fast->pdq.hash), 8);
}

TEST(BadInput, AlphaIsIgnoredInRgbaAndGreyAlphaPngs) {
  const media::Image img = SyntheticPhoto(300, 200, 9);
  auto rgb = HashBytes(testing::EncodePng(img, "rgb24"), HashMode::kReference);
  auto rgba = HashBytes(testing::EncodePng(img, "rgba"), HashMode::kReference);
  ASSERT_TRUE(rgb.ok() && rgba.ok());
  EXPECT_EQ(rgb->pdq.hash, rgba->pdq.hash);
  auto grey = HashBytes(testing::EncodePng(img, "gray"), HashMode::kReference);
  auto grey_alpha = HashBytes(testing::EncodePng(img, "ya8"), HashMode::kReference);
  ASSERT_TRUE(grey.ok() && grey_alpha.ok()) << grey_alpha.status().ToString();
  EXPECT_EQ(grey->pdq.hash, grey_alpha->pdq.hash);
}

TEST(BadInput, PalettedPngDecodesToItsPaletteColours) {
  const media::Image img = SyntheticPhoto(200, 150, 10);
  auto d = DecodeImage(testing::EncodePng(img, "pal8"), DecodeOptions{});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->image.pixels, testing::QuantizeTo332(img).pixels);
}

void ExpectFirstFrame(const std::vector<uint8_t>& anim, const media::Image& first) {
  auto d = DecodeImage(anim, DecodeOptions{});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_EQ(d->image.width, first.width);
  ASSERT_EQ(d->image.format, media::PixelFormat::kRgb8);
  EXPECT_EQ(d->image.pixels, first.pixels);
  auto r = HashBytes(anim, HashMode::kFast);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  hash::PdqHasher pdq;
  EXPECT_EQ(r->pdq.hash, pdq.HashImage(first, 512).hash);
}

TEST(BadInput, AnimatedGifGivesFirstFrame) {
  const media::Image first = SyntheticPhoto(160, 120, 11);
  ExpectFirstFrame(testing::EncodeAnimatedGif(first, 3), testing::QuantizeTo332(first));
}

TEST(BadInput, AnimatedWebpGivesFirstFrame) {
  const media::Image first = SyntheticPhoto(160, 120, 12);
  const auto anim = testing::EncodeAnimatedWebp(first, 3);
  ExpectFirstFrame(anim, first);  // lossless: exactly the first frame
  auto d = DecodeImage(anim, DecodeOptions{});
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->animated);
}

TEST(BadInput, DirectoryFifoAndMissingPathAreClearErrors) {
  ImageHasher hasher;
  const std::string dir = testing::MakeTempDir();
  auto r = hasher.HashFile(dir, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "is a directory");
  r = hasher.HashFile(dir + "/missing.jpg", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  const std::string fifo = dir + "/fifo.jpg";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  r = hasher.HashFile(fifo, {});  // must not block waiting for a writer
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "not a regular file");
  std::filesystem::remove_all(dir);
}

TEST(BadInput, VideoContainerIsNotTakenForAStillImage) {
  // A GIF is fine, but an MPEG-TS or similar stream must not be hashed as one frame here.
  std::vector<uint8_t> ts(188 * 20, 0);
  for (size_t i = 0; i < ts.size(); i += 188) ts[i] = 0x47;
  auto r = HashBytes(ts);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported) << r.status().ToString();
}

TEST(Decode, FastModeScalesLargeJpegsAndKeepsLuma) {
  const media::Image img = SyntheticPhoto(2000, 1200, 13);
  const auto jpeg = Jpeg(img);
  const auto opts = hash::DecodeOptionsFor(HashMode::kFast, jpeg, {});
  EXPECT_EQ(opts.jpeg_scale_denom, 2);  // 1000x600 keeps both sides >= 448
  auto d = DecodeImage(jpeg, opts);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->image.width, 1000);
  EXPECT_EQ(d->image.format, media::PixelFormat::kGray8);
  EXPECT_TRUE(d->is_luma);
  EXPECT_EQ(d->source_width, 2000);
  // And the hash stays close to reference mode.
  auto fast = HashBytes(jpeg, HashMode::kFast);
  auto ref = HashBytes(jpeg, HashMode::kReference);
  ASSERT_TRUE(fast.ok() && ref.ok());
  EXPECT_LE(hash::Distance(fast->pdq.hash, ref->pdq.hash), 10);
}

TEST(Decode, ChooseJpegScaleKeepsBothSidesAboveTheMinimum) {
  EXPECT_EQ(media::ChooseJpegScale(4032, 3024, 448), 4);
  EXPECT_EQ(media::ChooseJpegScale(1600, 1004, 448), 2);
  EXPECT_EQ(media::ChooseJpegScale(800, 600, 448), 1);
  EXPECT_EQ(media::ChooseJpegScale(8000, 8000, 448), 8);
  EXPECT_EQ(media::ChooseJpegScale(8000, 8000, 0), 1);
}

TEST(Digest, Md5AndSha256OfKnownBytes) {
  const std::vector<uint8_t> abc = {'a', 'b', 'c'};
  EXPECT_EQ(hash::Md5Hex(abc), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(hash::Sha256Hex(abc),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hash::Sha256Hex({}),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const auto png = testing::EncodePng(SyntheticPhoto(8, 8, 1), "rgb24");
  ImageHasher hasher;
  auto r = hasher.HashBytes(png, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->md5, hash::Md5Hex(png));
  EXPECT_EQ(r->sha256, hash::Sha256Hex(png));
}

}  // namespace
}  // namespace takedown
