// vPDQ against the reference hasher's output with this machine's FFmpeg 5.1
// (../shared/reference/vpdq/ffmpeg-5.1): every frame (and again with frames forced to 128x128)
// must have the reference's frame numbers and timestamps, and >= 99% of per-frame hashes must be
// within distance 4. The older upstream files (made with another FFmpeg) are compared and
// reported, not required.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "hash/vpdq.h"
#include "support/shared_data.h"

namespace takedown {
namespace {

std::string ReadText(const std::string& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct Agreement {
  int64_t frames = 0, exact = 0, within4 = 0, missing = 0, timestamps_equal = 0;
};

Agreement Compare(const std::vector<hash::VpdqFrame>& got,
                  const std::vector<hash::VpdqFrame>& want) {
  Agreement a;
  std::map<int64_t, const hash::VpdqFrame*> by_number;
  for (const auto& f : got) by_number[f.number] = &f;
  for (const auto& w : want) {
    ++a.frames;
    auto it = by_number.find(w.number);
    if (it == by_number.end()) {
      ++a.missing;
      continue;
    }
    const int d = hash::Distance(it->second->hash, w.hash);
    a.exact += d == 0;
    a.within4 += d <= 4;
    a.timestamps_equal += std::fabs(it->second->seconds - w.seconds) < 0.0006;
  }
  return a;
}

TEST(VpdqConformance, EveryReferenceVideoEveryFrame) {
  TD_REQUIRE_SHARED("vPDQ conformance (../shared/reference/vpdq)");
  const std::string dir = testing::SharedDir() + "/reference/vpdq/";
  Agreement total51, total_up;
  int videos = 0;
  for (const auto& video : testing::ListFiles(dir + "videos")) {
    const std::string stem = std::filesystem::path(video).stem().string();
    for (const int size : {0, 128}) {
      const std::string suffix = size == 0 ? ".txt" : "-128x128.txt";
      const std::string ref51 = dir + "ffmpeg-5.1/" + stem + suffix;
      if (!std::filesystem::exists(ref51)) continue;
      hash::VpdqOptions o;
      o.seconds_per_hash = 0;
      o.frame_size = size;
      o.digests = false;
      auto v = hash::HashVideoFile(video, o);
      ASSERT_TRUE(v.ok()) << video << ": " << v.status().ToString();
      auto want = hash::ParseVpdqText(ReadText(ref51));
      ASSERT_TRUE(want.ok()) << ref51;
      const Agreement a = Compare(v->frames, *want);
      EXPECT_EQ(v->frames.size(), want->size()) << stem << suffix << ": frame count";
      EXPECT_EQ(a.missing, 0) << stem << suffix;
      EXPECT_EQ(a.timestamps_equal, a.frames) << stem << suffix;
      EXPECT_GE(a.within4, 0.99 * static_cast<double>(a.frames)) << stem << suffix;
      total51.frames += a.frames;
      total51.exact += a.exact;
      total51.within4 += a.within4;
      const std::string upstream = dir + stem + suffix;
      if (std::filesystem::exists(upstream)) {
        auto up = hash::ParseVpdqText(ReadText(upstream));
        if (up.ok()) {
          const Agreement b = Compare(v->frames, *up);
          total_up.frames += b.frames;
          total_up.exact += b.exact;
          total_up.within4 += b.within4;
        }
      }
      ++videos;
    }
  }
  ASSERT_GE(videos, 20);
  std::printf(
      "vPDQ vs reference on FFmpeg 5.1: %ld frames in %d runs, %.2f%% exactly equal, %.2f%% within "
      "4\n",
      static_cast<long>(total51.frames), videos, 100.0 * total51.exact / total51.frames,
      100.0 * total51.within4 / total51.frames);
  std::printf(
      "vPDQ vs the upstream files (older FFmpeg): %ld frames, %.2f%% exactly equal, %.2f%% within "
      "4\n",
      static_cast<long>(total_up.frames),
      100.0 * total_up.exact / std::max<int64_t>(1, total_up.frames),
      100.0 * total_up.within4 / std::max<int64_t>(1, total_up.frames));
}

}  // namespace
}  // namespace takedown
