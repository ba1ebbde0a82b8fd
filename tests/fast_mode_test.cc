// Fast mode stays close to reference mode (foundation issue: on ../shared/media/photos of
// quality >= 80, median distance <= 6 and 95th percentile <= 10).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "hash/image_signals.h"
#include "support/shared_data.h"

namespace takedown {
namespace {

TEST(FastMode, DistanceToReferenceModeOnSharedPhotos) {
  TD_REQUIRE_SHARED("fast-mode distance bound on ../shared/media/photos");
  const auto photos = testing::ListFiles(testing::SharedDir() + "/media/photos");
  ASSERT_GE(photos.size(), 100u);
  hash::ImageHasher hasher;
  hash::ImageHashOptions fast, ref;
  fast.digests = ref.digests = false;
  ref.mode = hash::HashMode::kReference;
  std::vector<int> d;
  for (const auto& p : photos) {
    auto a = hasher.HashFile(p, ref);
    auto b = hasher.HashFile(p, fast);
    ASSERT_TRUE(a.ok() && b.ok()) << p;
    if (a->pdq.quality >= 80) d.push_back(hash::Distance(a->pdq.hash, b->pdq.hash));
  }
  std::sort(d.begin(), d.end());
  const int median = d[d.size() / 2];
  const int p95 = d[static_cast<size_t>(0.95 * static_cast<double>(d.size() - 1))];
  std::printf("fast vs reference on %zu photos (quality >= 80): median %d, p95 %d, max %d\n",
              d.size(), median, p95, d.back());
  EXPECT_LE(median, 6);
  EXPECT_LE(p95, 10);
}

}  // namespace
}  // namespace takedown
