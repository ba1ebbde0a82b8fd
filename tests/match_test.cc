// Robust signals and the matching rule: content boxes on framed pictures, region votes, bank
// variants, thresholds.
#include <gtest/gtest.h>

#include "match/matcher.h"
#include "match/plane.h"
#include "support/edits.h"
#include "support/synthetic.h"

namespace takedown::match {
namespace {

media::Image Framed(const media::Image& img, int top, int bottom, int left, int right, uint8_t v) {
  media::Image out = media::Image::Allocate(img.width + left + right, img.height + top + bottom,
                                            media::PixelFormat::kRgb8);
  std::fill(out.pixels.begin(), out.pixels.end(), v);
  for (int y = 0; y < img.height; ++y) {
    std::copy_n(img.row(y), img.row_bytes(), out.row(y + top) + 3 * left);
  }
  return out;
}

TEST(ContentBox, FindsThePictureInsideBordersAndBars) {
  const media::Image img = testing::SyntheticPhoto(200, 150, 3);
  struct Case {
    int top, bottom, left, right;
    uint8_t v;
  };
  for (const Case& c : {Case{20, 20, 30, 30, 0}, Case{0, 0, 120, 120, 0}, Case{60, 0, 0, 0, 255},
                        Case{15, 40, 0, 0, 18}}) {
    const LumaPlane p = WorkingPlane(Framed(img, c.top, c.bottom, c.left, c.right, c.v));
    const auto box = DetectContentBox(p);
    ASSERT_TRUE(box.has_value()) << c.top << " " << c.left;
    EXPECT_NEAR(box->x, c.left, 2);
    EXPECT_NEAR(box->y, c.top, 2);
    EXPECT_NEAR(box->w, 200, 3);
    EXPECT_NEAR(box->h, 150, 3);
  }
  EXPECT_FALSE(DetectContentBox(WorkingPlane(img)).has_value());  // nothing to trim
}

TEST(ContentBox, CaptionAndScreenshotEditsGiveTheSameBoxAsTheOriginal) {
  const media::Image img = testing::SyntheticPhoto(320, 240, 4);
  for (const char* edit : {"caption", "screenshot", "letterbox_16_9", "border_10"}) {
    const media::Image e = testing::ApplyEditPixels(edit, img);
    const LumaPlane p = WorkingPlane(e);
    const auto box = DetectContentBox(p);
    ASSERT_TRUE(box.has_value()) << edit;
    // The picture's size in the edited frame (the screenshot scales it).
    const double scale = box->w / img.width;
    EXPECT_NEAR(box->h / scale, img.height, 0.04 * img.height) << edit;
  }
}

TEST(AreaResample, ConstantStaysConstantAndHalvesAverage) {
  LumaPlane p{128, 64, std::vector<float>(128 * 64, 100.0f)};
  hash::pdq::Buffer64 out;
  AreaResample64(p, {0, 0, 128, 64}, out);
  for (float v : out) EXPECT_NEAR(v, 100.0f, 1e-3);
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 128; ++x) p.px[y * 128 + x] = static_cast<float>(x % 2 ? 200 : 0);
  AreaResample64(p, {0, 0, 128, 64}, out);
  for (float v : out) EXPECT_NEAR(v, 100.0f, 1e-3);  // two columns per output
}

TEST(Rotate, ZeroDegreesKeepsTheInteriorAndCornersGoBlack) {
  const LumaPlane p = WorkingPlane(testing::SyntheticPhoto(100, 80, 5));
  const LumaPlane same = Rotate(p, 0);
  for (int y = 1; y < 78; ++y)
    for (int x = 1; x < 98; ++x) EXPECT_NEAR(same.at(x, y), p.at(x, y), 1e-3);
  const LumaPlane r = Rotate(p, 10);
  EXPECT_EQ(r.at(0, 0), 0.0f);
  EXPECT_EQ(r.at(99, 79), 0.0f);
}

}  // namespace
}  // namespace takedown::match
