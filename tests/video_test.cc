// Video decoding and vPDQ on generated videos, and the bad input of the video issue: truncated,
// corrupt mid-stream, zero-length, audio-only, no video stream, dimensions over the limit,
// too long (frame and time limits), non-monotonic timestamps. Run under ASan+UBSan.
#include "media/video.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <random>

#include "hash/pdq.h"
#include "hash/vpdq.h"
#include "match/video_match.h"
#include "support/synthetic.h"

namespace takedown {
namespace {

class VideoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir();
    video_ = dir_ + "/clip.avi";
    testing::WriteVideo(video_, 192, 144, 60, 30, 7);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::vector<uint8_t> Bytes(const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
  }
  Result<hash::VideoSignals> Hash(const std::string& p, double sph = 0, hash::VpdqOptions o = {}) {
    o.seconds_per_hash = sph;
    return hash::HashVideoFile(p, o);
  }
  // A bank of panning w x h videos at 25 fps, one per seed (item k from seeds[k]), built.
  void BankOf(const std::vector<int>& seeds, int w, int h, int frames, match::VideoMatcher* bank) {
    match::VideoHashOptions bo;
    bo.bank = true;
    for (const int seed : seeds) {
      const std::string path = fmt::format("{}/bank{}.avi", dir_, seed);
      testing::WriteVideoFrames(path, testing::PanFrames(w, h, 0, frames, seed), 25);
      auto item = match::HashVideoForMatching(path, bo);
      ASSERT_TRUE(item.ok()) << item.status().ToString();
      ASSERT_EQ(item->frames[0].norm_crops.size(), std::size(match::kVideoCrops));
      bank->Add(*item);
    }
    bank->Build();
  }
  std::string dir_, video_;
};

TEST_F(VideoTest, EveryFrameNumberedAndTimedFromZero) {
  auto v = Hash(video_);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->report.frames, 60);
  ASSERT_EQ(v->frames.size(), 60u);
  for (size_t i = 0; i < v->frames.size(); ++i) {
    EXPECT_EQ(v->frames[i].number, static_cast<int64_t>(i));
    EXPECT_NEAR(v->frames[i].seconds, i / 30.0, 1e-9);
  }
  EXPECT_EQ(v->info.width, 192);
  EXPECT_NEAR(v->info.fps, 30, 1e-6);
  EXPECT_EQ(v->md5.size(), 32u);
  // Panning by 2 px a frame: neighbours match (<= 31), the ends of the pan do not.
  EXPECT_LE(hash::Distance(v->frames[0].hash, v->frames[1].hash), 31);
  EXPECT_GT(hash::Distance(v->frames[0].hash, v->frames[59].hash), 31);
}

TEST_F(VideoTest, SamplingBySecondsPerHash) {
  auto v = Hash(video_, 1.0);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->frame_mod, 30);
  ASSERT_EQ(v->frames.size(), 2u);
  EXPECT_EQ(v->frames[1].number, 30);
  auto half = Hash(video_, 0.5);
  ASSERT_TRUE(half.ok());
  EXPECT_EQ(half->frames.size(), 4u);
  const std::string text = hash::VpdqText(*v);
  EXPECT_EQ(
      text.substr(0, 6),
      "0," + std::to_string(v->frames[0].quality).substr(0, 4).substr(0, 0) + text.substr(2, 4));
  auto parsed = hash::ParseVpdqText(text);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ((*parsed)[1].hash, v->frames[1].hash);
  EXPECT_NEAR((*parsed)[1].seconds, 1.0, 1e-9);
  // Hash lists come from outside: every number whole, or the line named and refused.
  const std::string h = v->frames[0].hash.ToHex();
  for (const std::string& bad :
       {"1e3,100," + h + ",0.000", "0,100x," + h + ",0.000", "0,101," + h + ",0.000",
        "-1,100," + h + ",0.000", "0,100," + h + ",1e3", "0,100," + h + ",nan",
        "0,100," + h + ",0.0,", "0,100," + h + ",", std::string("0,100"),
        "0,100," + h.substr(1) + ",0.0"}) {
    auto r = hash::ParseVpdqText("0,90," + h + ",0.000\n" + bad + "\n");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("line 2"), std::string::npos) << r.status().message();
  }
}

TEST_F(VideoTest, FastModeStaysCloseToConformant) {
  hash::VpdqOptions fast;
  fast.fast = true;
  auto a = Hash(video_);
  auto b = Hash(video_, 0, fast);
  ASSERT_TRUE(a.ok() && b.ok());
  // Fast mode decodes keyframes only (every 12th frame here): fewer frames, at the same numbers
  // and times as the conformant ones, with close hashes.
  ASSERT_EQ(b->frames.size(), 5u);
  for (const auto& f : b->frames) {
    EXPECT_EQ(f.number % 12, 0);
    const auto& c = a->frames.at(static_cast<size_t>(f.number));
    EXPECT_NEAR(f.seconds, c.seconds, 1e-6);
    EXPECT_LE(hash::Distance(f.hash, c.hash), 16) << f.number;
  }
}

TEST_F(VideoTest, ZeroLengthFileIsAnError) {
  testing::WriteFile(dir_ + "/empty.mp4", {});
  auto v = Hash(dir_ + "/empty.mp4");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message(), "empty file");
}

TEST_F(VideoTest, TruncatedFileHashesWhatDecoded) {
  auto bytes = Bytes(video_);
  bytes.resize(bytes.size() * 6 / 10);
  testing::WriteFile(dir_ + "/cut.avi", bytes);
  auto v = Hash(dir_ + "/cut.avi");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_GT(v->report.frames, 10);
  EXPECT_LT(v->report.frames, 60);
}

TEST_F(VideoTest, CorruptPacketsMidStreamAreSkippedAndReported) {
  auto bytes = Bytes(video_);
  std::mt19937 rng(3);
  for (size_t i = bytes.size() / 3; i < bytes.size() / 3 + 4000 && i < bytes.size(); ++i)
    bytes[i] = static_cast<uint8_t>(rng());
  testing::WriteFile(dir_ + "/corrupt.avi", bytes);
  auto v = Hash(dir_ + "/corrupt.avi");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_GT(v->report.frames, 30);
  EXPECT_FALSE(v->report.warnings.empty());
}

TEST_F(VideoTest, AudioOnlyAndNoVideoStreamAreClearErrors) {
  testing::WriteAudioOnly(dir_ + "/tone.wav");
  auto a = Hash(dir_ + "/tone.wav");
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().message(), "no video stream (audio only)");
  testing::WriteSubtitlesOnly(dir_ + "/subs.mkv");
  auto s = Hash(dir_ + "/subs.mkv");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "no video stream");
  testing::WriteFile(dir_ + "/text.mp4", {'h', 'e', 'l', 'l', 'o', '\n'});
  auto t = Hash(dir_ + "/text.mp4");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kUnsupported) << t.status().ToString();
}

TEST_F(VideoTest, DimensionsOverTheLimitAreRefusedBeforeDecoding) {
  hash::VpdqOptions o;
  o.video.limits.max_pixels = 100 * 100;
  auto v = Hash(video_, 0, o);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(v.status().message().find("192x144"), std::string::npos) << v.status().message();
}

TEST_F(VideoTest, FrameAndTimeLimitsCutLongVideosShortAndSaySo) {
  hash::VpdqOptions o;
  o.video.max_frames = 25;
  auto v = Hash(video_, 0, o);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->report.truncated_by_limit);
  EXPECT_EQ(v->report.frames, 25);
  EXPECT_NE(v->report.warnings.at(0).find("frame limit"), std::string::npos);
  hash::VpdqOptions t;
  t.video.max_wall_seconds = 0;  // stops at the first check
  auto w = Hash(video_, 0, t);
  ASSERT_TRUE(w.ok() || w.status().code() == StatusCode::kDataLoss) << w.status().ToString();
  if (w.ok()) {
    EXPECT_TRUE(w->report.truncated_by_limit);
  }
}

TEST_F(VideoTest, NonMonotonicTimestampsDoNotReorderOrLoseFrames) {
  testing::WriteVideo(dir_ + "/scrambled.mkv", 160, 120, 40, 25, 9, /*scramble_pts=*/true);
  auto v = Hash(dir_ + "/scrambled.mkv");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_GE(v->report.frames, 30);
  for (size_t i = 0; i < v->frames.size(); ++i)
    EXPECT_EQ(v->frames[i].number, static_cast<int64_t>(i));
}

TEST_F(VideoTest, DirectoryAndMissingFile) {
  EXPECT_EQ(Hash(dir_).status().message(), "is a directory");
  EXPECT_EQ(Hash(dir_ + "/nope.mp4").status().code(), StatusCode::kNotFound);
}

TEST_F(VideoTest, AnimatedWebpAndGifAreVideos) {
  const media::Image first = testing::DetailedPhoto(160, 120, 5);
  testing::WriteFile(dir_ + "/anim.webp", testing::EncodeAnimatedWebp(first, 3));
  testing::WriteFile(dir_ + "/anim.gif", testing::EncodeAnimatedGif(first, 4));
  EXPECT_TRUE(media::LooksLikeVideo(dir_ + "/anim.webp"));
  EXPECT_TRUE(media::LooksLikeVideo(dir_ + "/anim.gif"));
  auto w = Hash(dir_ + "/anim.webp");
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_EQ(w->frames.size(), 3u);
  hash::PdqHasher pdq;
  EXPECT_EQ(w->frames[0].hash, pdq.HashImage(first, 0).hash);  // lossless: exactly the first frame
  EXPECT_GT(hash::Distance(w->frames[0].hash, w->frames[1].hash), 31);
  auto g = Hash(dir_ + "/anim.gif");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->frames.size(), 4u);
}

TEST_F(VideoTest, LooksLikeVideoSeparatesStillsFromVideos) {
  EXPECT_TRUE(media::LooksLikeVideo(video_));
  testing::WriteFile(dir_ + "/still.png",
                     testing::EncodePng(testing::SyntheticPhoto(32, 32, 1), "rgb24"));
  EXPECT_FALSE(media::LooksLikeVideo(dir_ + "/still.png"));
}

TEST_F(VideoTest, MatchingFindsTrimmedAndInsertedCopiesWithTheirTimeRanges) {
  // Bank: two unrelated 4-second videos at 25 fps.
  match::VideoMatcher bank(match::VideoMatchOptions{});
  ASSERT_NO_FATAL_FAILURE(BankOf({11, 12}, 192, 144, 100, &bank));
  auto query = [&](const std::vector<media::Image>& frames) {
    testing::WriteVideoFrames(dir_ + "/q.avi", frames, 25);
    auto q = match::HashVideoForMatching(dir_ + "/q.avi", {});
    EXPECT_TRUE(q.ok());
    return bank.Match(*q);
  };
  // The middle half of a: every query frame matches (query% 100), half of a is covered.
  auto trimmed = query(testing::PanFrames(192, 144, 25, 50, 11));
  ASSERT_FALSE(trimmed.empty());
  EXPECT_EQ(trimmed[0].item, 0u);
  EXPECT_TRUE(trimmed[0].match);
  EXPECT_GE(trimmed[0].query_percent, 99.0);
  EXPECT_NEAR(trimmed[0].bank_from, 1.0, 0.6);
  // All of a inside 4 s of another picture: a is fully covered (compared%), found in the middle.
  auto frames = testing::PanFrames(192, 144, 0, 50, 99);
  for (auto& f : testing::PanFrames(192, 144, 0, 100, 11)) frames.push_back(std::move(f));
  for (auto& f : testing::PanFrames(192, 144, 50, 50, 99)) frames.push_back(std::move(f));
  auto inserted = query(frames);
  ASSERT_FALSE(inserted.empty());
  EXPECT_EQ(inserted[0].item, 0u);
  EXPECT_TRUE(inserted[0].match);
  EXPECT_GE(inserted[0].compared_percent, 80.0);
  EXPECT_LT(inserted[0].query_percent, 80.0);
  EXPECT_NEAR(inserted[0].query_from, 2.0, 0.6);
  EXPECT_NEAR(inserted[0].query_to, 6.0, 1.1);
  // An unrelated video matches nothing.
  for (const auto& m : query(testing::PanFrames(192, 144, 0, 100, 77))) EXPECT_FALSE(m.match);
}

// A clip of a bank video, a few seconds of it between two stretches of another video: neither
// percentage comes near 80% (most of the query is something else, most of the bank video is not in
// it), so the clip rule finds it, with where it lies in the query and in the bank video. It holds
// at 1.25x speed; a clip shorter than the rule's 5 s, and the unrelated video alone, match nothing.
TEST_F(VideoTest, MatchingFindsAClipOfFiveSecondsInsideAnotherVideo) {
  match::VideoMatcher bank(match::VideoMatchOptions{});
  ASSERT_NO_FATAL_FAILURE(BankOf({41, 42}, 160, 120, 300, &bank));  // 12 s each
  auto query = [&](const std::vector<media::Image>& clip) {
    auto frames = testing::PanFrames(160, 120, 0, 250, 99);  // 10 s of another video
    for (const auto& f : clip) frames.push_back(f);
    for (auto& f : testing::PanFrames(160, 120, 250, 250, 99)) frames.push_back(std::move(f));
    testing::WriteVideoFrames(dir_ + "/q.avi", frames, 25);
    auto q = match::HashVideoForMatching(dir_ + "/q.avi", {});
    EXPECT_TRUE(q.ok());
    return bank.Match(*q);
  };
  auto of = [](const std::vector<match::VideoMatch>& ms, uint64_t item) {
    for (const auto& m : ms) {
      if (m.item == item) return m;
    }
    return match::VideoMatch{};
  };
  // Seconds 4-9 of video 0 (frames 100-224) at 10-15 s of the query.
  const auto five = query(testing::PanFrames(160, 120, 100, 125, 41));
  const auto m = of(five, 0);
  EXPECT_TRUE(m.match);
  EXPECT_LT(m.query_percent, 80.0);
  EXPECT_LT(m.compared_percent, 80.0);
  EXPECT_GE(m.clip_seconds, 4.5);
  EXPECT_NEAR(m.clip_from, 10.0, 0.6);
  EXPECT_NEAR(m.clip_to, 15.0, 0.6);
  EXPECT_NEAR(m.clip_bank_from, 4.0, 0.6);
  EXPECT_FALSE(of(five, 1).match);
  // The same five seconds at 1.25x speed (every 5th frame of each 4 dropped: 4 s of the query).
  // Six seconds are needed for 5 s of query time at that speed.
  std::vector<media::Image> fast;
  const auto six = testing::PanFrames(160, 120, 100, 188, 41);
  for (size_t k = 0; k < six.size(); ++k) {
    if (k % 5 != 4) fast.push_back(six[k]);
  }
  const auto sped = of(query(fast), 0);
  EXPECT_TRUE(sped.match) << "clip at 1.25x speed";
  EXPECT_GE(sped.clip_seconds, 4.5);
  // Three seconds of it: below the rule.
  const auto three = of(query(testing::PanFrames(160, 120, 100, 75, 41)), 0);
  EXPECT_FALSE(three.match) << "a 3 s clip passed a 5 s rule";
  EXPECT_EQ(three.clip_seconds, 0.0);
  // The other video alone, with a stretch of a third one in the middle: nothing.
  for (const auto& x : query(testing::PanFrames(160, 120, 0, 125, 98))) {
    EXPECT_FALSE(x.match) << "an unrelated video matched bank video " << x.item;
  }
}

// A variable-frame-rate video (a phone's in low light, a screen recording, an AVI that skips
// frames) keeps its real timeline for matching: frame times come from timestamps, not from
// frame number / fps. The bank video shows 20 s with 300 frames at a nominal 25 fps (every frame
// for a second, then one in five); a constant-rate copy of its seconds 10-15 inside another video
// is a clip at bank time 10 s. Counted by frame number, the bank video was 12 s long, and the
// clip's bank times did not advance with the copy's.
TEST_F(VideoTest, AVariableFrameRateVideoKeepsItsTimelineForMatching) {
  const auto all = testing::PanFrames(160, 120, 0, 500, 51);  // 20 s at 25 fps
  std::vector<media::Image> kept;
  std::vector<int64_t> pts;
  for (int i = 0; i < 500; ++i) {
    if (i % 5 == 0 || (i / 25) % 2 == 0) {
      kept.push_back(all[static_cast<size_t>(i)]);
      pts.push_back(i);
    }
  }
  ASSERT_EQ(kept.size(), 300u);
  testing::WriteVideoFrames(dir_ + "/vfr.mkv", kept, 25, false, pts);
  match::VideoHashOptions bo;
  bo.bank = true;
  auto bank = match::HashVideoForMatching(dir_ + "/vfr.mkv", bo);
  ASSERT_TRUE(bank.ok()) << bank.status().ToString();
  EXPECT_NEAR(bank->duration, 20.0, 0.3);
  ASSERT_FALSE(bank->frames.empty());
  EXPECT_NEAR(bank->frames.back().seconds, 19.8, 0.3);
  for (size_t i = 1; i < bank->frames.size(); ++i)
    ASSERT_GE(bank->frames[i].seconds, bank->frames[i - 1].seconds) << i;
  // Uploads are sampled a frame a second by time: about 20 frames, not 12.
  auto sparse = match::HashVideoForMatching(dir_ + "/vfr.mkv", match::VideoHashOptions{});
  ASSERT_TRUE(sparse.ok()) << sparse.status().ToString();
  EXPECT_GE(sparse->frames.size(), 19u);
  EXPECT_LE(sparse->frames.size(), 21u);
  // The conformant vPDQ still counts frames (the reference's timeline).
  hash::VpdqOptions vo;
  vo.seconds_per_hash = 0;
  auto conformant = hash::HashVideoFile(dir_ + "/vfr.mkv", vo);
  ASSERT_TRUE(conformant.ok()) << conformant.status().ToString();
  EXPECT_NEAR(conformant->frames.back().seconds, 299.0 / 25, 0.05);

  std::vector<media::Image> upload = testing::PanFrames(160, 120, 0, 125, 97);
  for (int i = 250; i < 375; ++i) upload.push_back(all[static_cast<size_t>(i)]);
  for (auto& f : testing::PanFrames(160, 120, 0, 125, 96)) upload.push_back(std::move(f));
  testing::WriteVideoFrames(dir_ + "/copy.mkv", upload, 25);
  auto q = match::HashVideoForMatching(dir_ + "/copy.mkv", match::VideoHashOptions{});
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  match::VideoMatcher m(match::VideoMatchOptions{});
  m.Add(*bank);
  m.Build();
  const auto ms = m.Match(*q);
  ASSERT_FALSE(ms.empty());
  EXPECT_TRUE(ms[0].match);
  EXPECT_GE(ms[0].clip_seconds, 4.0);
  EXPECT_NEAR(ms[0].clip_from, 5.0, 1.1);
  EXPECT_NEAR(ms[0].clip_bank_from, 10.0, 1.1);
}

// Timestamps that jump (streams joined end to end whose timestamps restart, one corrupt far-future
// timestamp) are discontinuities, not hours of nothing: the second half of a video whose
// timestamps jump by 4,000 s after 10 s comes right after the first, and is sampled like it.
TEST_F(VideoTest, AJumpInTimestampsIsADiscontinuityNotAGap) {
  const auto frames = testing::PanFrames(160, 120, 0, 500, 52);  // 20 s at 25 fps
  std::vector<int64_t> pts;
  for (int64_t i = 0; i < 500; ++i) pts.push_back(i < 250 ? i : i + 100000);
  testing::WriteVideoFrames(dir_ + "/jump.mkv", frames, 25, false, pts);
  auto v = match::HashVideoForMatching(dir_ + "/jump.mkv", match::VideoHashOptions{});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_NEAR(v->duration, 20.0, 0.3);
  EXPECT_GE(v->frames.size(), 19u);
  EXPECT_LE(v->frames.size(), 21u);
  for (size_t i = 1; i < v->frames.size(); ++i) {
    EXPECT_GT(v->frames[i].seconds, v->frames[i - 1].seconds) << i;
    EXPECT_LT(v->frames[i].seconds - v->frames[i - 1].seconds, 1.5) << i;
  }
}

// The stream clock, case by case: timestamps that restart, one corrupt far-future timestamp,
// reordering jitter, a clock that stops, no timestamps, an absurd frame rate, and the week's cap.
TEST_F(VideoTest, TheStreamClockTreatsBrokenTimestampsAsDiscontinuities) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto times = [&](double fps, const std::vector<double>& ts) {
    media::StreamClock c(fps);
    std::vector<double> out;
    for (double t : ts) out.push_back(c.Next(t, nan));
    return out;
  };
  auto near = [](const std::vector<double>& got, const std::vector<double>& want) {
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-9) << "frame " << i;
  };
  // Joined streams: the second starts a frame interval after the first, with its own spacing.
  near(times(25, {100, 100.04, 100.08, 3, 3.04, 3.08}), {0, .04, .08, .12, .16, .20});
  // One corrupt timestamp costs one interval; the next is back on the anchor.
  near(times(25, {0, .04, .08, 1e9, .16, .20}), {0, .04, .08, .12, .16, .20});
  // Reordering jitter: a frame behind the one before stays with it; the length is kept.
  near(times(25, {0, .08, .04, .12, .20, .16, .24}), {0, .08, .08, .12, .20, .20, .24});
  // A clock that stops: frames stay together for 8, then step on by the interval.
  const auto stuck = times(25, std::vector<double>(20, 5.0));
  EXPECT_EQ(stuck[8], 0.0);
  EXPECT_NEAR(stuck[19], 11 * 0.04, 1e-9);
  // No timestamps: the interval.
  near(times(10, {nan, nan, nan}), {0, .1, .2});
  // A frame rate of 1e-5 (frames 1e5 s apart): each is a jump, an interval of at most 1 s on, so
  // the week's cap is not reached in a few frames (and sampling does not stop).
  std::vector<double> far;
  for (int i = 0; i < 100; ++i) far.push_back(1e5 * i);
  EXPECT_NEAR(times(1e-5, far).back(), 99.0, 1e-9);
  // Times and ends stay within a week however far the timestamps go.
  media::StreamClock week(25);
  double t = 0;
  for (int i = 0; i < 30000; ++i) t = week.Next(29.0 * i, 1e12);
  EXPECT_EQ(t, media::StreamClock::kMaxSeconds);
  EXPECT_EQ(week.end(), media::StreamClock::kMaxSeconds);
}

// A hash list's frames may come in any order: coverage is counted in time order. One matching
// frame listed first (at 10 s) of an 11 s bank video does not cover it.
TEST_F(VideoTest, CoverageOfAHashListInAnyOrderIsCountedInTimeOrder) {
  std::mt19937_64 rng(5);
  auto random_hash = [&] {
    hash::Hash256 h;
    for (auto& w : h.words) w = rng();
    return h;
  };
  std::vector<hash::VpdqFrame> bank;
  const auto shared = random_hash();
  bank.push_back({10, 100, shared, 10.0});
  for (int i = 0; i < 10; ++i) bank.push_back({i, 100, random_hash(), static_cast<double>(i)});
  std::vector<hash::VpdqFrame> query;
  for (int i = 0; i < 60; ++i)
    query.push_back({i, 100, i == 30 ? shared : random_hash(), static_cast<double>(i)});
  match::VideoMatcher m(match::VideoMatchOptions{});
  m.Add(match::VideoItemFromVpdq(bank, 1, 11));
  m.Build();
  const auto ms = m.Match(match::VideoItemFromVpdq(query, 1, 60));
  ASSERT_EQ(ms.size(), 1u);
  EXPECT_FALSE(ms[0].match) << "compared " << ms[0].compared_percent;
  EXPECT_LT(ms[0].compared_percent, 20.0);
}

// A channel's intro or a platform's end card: unrelated videos that open (or close) with the same
// six seconds. The clip rule would make each a copy of a bank video that carries them; a clip at
// the same edge of both videos, shorter than video.edge_clip_seconds, is set aside instead
// (reported as edge_clip_seconds). The same six seconds in the middle of an upload still count, and
// with the exception off (0) or shorter than the intro, the edge clip counts as before.
TEST_F(VideoTest, AnIntroOrEndCardSharedByUnrelatedVideosIsNotACopy) {
  auto concat = [](std::vector<std::vector<media::Image>> parts) {
    std::vector<media::Image> out;
    for (auto& p : parts) {
      for (auto& f : p) out.push_back(std::move(f));
    }
    return out;
  };
  const auto intro = [] { return testing::PanFrames(160, 120, 0, 150, 41); };  // 6 s at 25 fps
  const auto outro = [] { return testing::PanFrames(160, 120, 0, 150, 43); };
  auto hash = [&](const std::string& name, const std::vector<media::Image>& frames, bool bank) {
    const std::string path = dir_ + "/" + name + ".avi";
    testing::WriteVideoFrames(path, frames, 25);
    match::VideoHashOptions o;
    o.bank = bank;
    auto item = match::HashVideoForMatching(path, o);
    EXPECT_TRUE(item.ok()) << item.status().ToString();
    return item.ok() ? *item : match::VideoItem{};
  };
  // Bank: 0 opens with the intro, 1 closes with the end card; 10 s of their own content each.
  const auto b0 = hash("b0", concat({intro(), testing::PanFrames(160, 120, 0, 250, 51)}), true);
  const auto b1 = hash("b1", concat({testing::PanFrames(160, 120, 0, 250, 52), outro()}), true);
  auto with = [&](double edge_clip_seconds) {
    match::VideoMatchOptions o;
    o.edge_clip_seconds = edge_clip_seconds;
    auto m = std::make_unique<match::VideoMatcher>(o);
    m->Add(b0);
    m->Add(b1);
    m->Build();
    return m;
  };
  auto of = [](const std::vector<match::VideoMatch>& ms, uint64_t item) {
    for (const auto& m : ms) {
      if (m.item == item) return m;
    }
    return match::VideoMatch{};
  };
  const auto opens = hash("q0", concat({intro(), testing::PanFrames(160, 120, 0, 250, 99)}), false);
  const auto closes =
      hash("q1", concat({testing::PanFrames(160, 120, 0, 250, 98), outro()}), false);
  const auto middle = hash("q2",
                           concat({testing::PanFrames(160, 120, 0, 250, 97), intro(),
                                   testing::PanFrames(160, 120, 0, 100, 96)}),
                           false);
  const auto rule = with(15);
  const auto a = of(rule->Match(opens), 0);
  EXPECT_FALSE(a.match) << "a shared intro made an unrelated video a copy";
  EXPECT_EQ(a.clip_seconds, 0.0);
  EXPECT_GE(a.edge_clip_seconds, 4.5);
  EXPECT_LT(a.query_percent, 80.0);
  // Where the set-aside stretch is (the gate's review hint): the first 6 s of each.
  EXPECT_NEAR(a.edge_clip_from, 0.0, 1.1);
  EXPECT_NEAR(a.edge_clip_to, 6.0, 1.1);
  EXPECT_NEAR(a.edge_clip_bank_from, 0.0, 1.1);
  const auto b = of(rule->Match(closes), 1);
  EXPECT_FALSE(b.match) << "a shared end card made an unrelated video a copy";
  EXPECT_GE(b.edge_clip_seconds, 4.5);
  EXPECT_NEAR(b.edge_clip_from, 10.0, 1.1);  // the last 6 s of each
  EXPECT_NEAR(b.edge_clip_to, 16.0, 1.1);
  EXPECT_NEAR(b.edge_clip_bank_from, 10.0, 1.1);
  // The intro inside another video is a clip of bank video 0 (its first six seconds).
  const auto c = of(rule->Match(middle), 0);
  EXPECT_TRUE(c.match);
  EXPECT_GE(c.clip_seconds, 4.5);
  EXPECT_NEAR(c.clip_from, 10.0, 0.6);
  EXPECT_NEAR(c.clip_bank_from, 0.0, 0.6);
  EXPECT_EQ(c.edge_clip_seconds, 0.0);
  // Bank video 0's own seconds 10-18 at the start of an upload (the middle of the bank video), and
  // right after the shared intro: both are copies; the intro alone is set aside.
  const auto starts = of(rule->Match(hash("q3",
                                          concat({testing::PanFrames(160, 120, 100, 200, 51),
                                                  testing::PanFrames(160, 120, 0, 250, 95)}),
                                          false)),
                         0);
  EXPECT_TRUE(starts.match) << "a copy at the upload's start, from the bank video's middle";
  EXPECT_NEAR(starts.clip_bank_from, 10.0, 0.6);
  const auto after =
      of(rule->Match(hash("q4",
                          concat({intro(), testing::PanFrames(160, 120, 100, 200, 51),
                                  testing::PanFrames(160, 120, 0, 250, 94)}),
                          false)),
         0);
  EXPECT_TRUE(after.match) << "a copy right after the shared intro was set aside with it";
  EXPECT_NEAR(after.clip_from, 6.0, 0.6);
  EXPECT_NEAR(after.clip_bank_from, 10.0, 0.6);
  EXPECT_GE(after.clip_seconds, 7.0);
  EXPECT_GE(after.edge_clip_seconds, 4.5);
  // The exception off, or shorter than the shared stretch: the edge clip counts.
  for (const double seconds : {0.0, 5.0}) {
    const auto off = with(seconds);
    const auto x = of(off->Match(opens), 0);
    EXPECT_TRUE(x.match) << "edge_clip_seconds " << seconds;
    EXPECT_GE(x.clip_seconds, 4.5);
    EXPECT_EQ(x.edge_clip_seconds, 0.0);
    EXPECT_TRUE(of(off->Match(closes), 1).match) << "edge_clip_seconds " << seconds;
  }
}

// Screen recordings: the video played inside an app, whose surroundings do not move. (1) In a chat
// bubble (a flat margin) on a patterned wallpaper, with a header and a progress bar that grows;
// (2) a still camera (only a patch moves: the rest of the video is still too) under a player's
// bars, text and controls. The region that moves, grown over the still parts of the video up to
// the flat margin around it, is the video, and its probe finds it; in the bubble, nothing else
// does. An unrelated video recorded the same way matches nothing, and a video that fills its frame
// gets no such probe.
TEST_F(VideoTest, MatchingFindsScreenRecordingsByTheRegionThatMoves) {
  // Bank: a panning video and a still-camera one (a picture with a patch crossing it), 8 s each.
  auto still_camera = [](uint32_t seed) {
    const media::Image scene = testing::DetailedPhoto(160, 120, seed);
    const media::Image patch = testing::DetailedPhoto(32, 32, seed + 100);
    std::vector<media::Image> frames;
    for (int k = 0; k < 200; ++k) {
      media::Image f = scene;
      const int px = (k * 3) % 128, py = 40 + (k % 50) / 2;
      for (int y = 0; y < 32; ++y) std::copy_n(patch.row(y), 32 * 3, f.row(py + y) + 3 * px);
      frames.push_back(std::move(f));
    }
    return frames;
  };
  match::VideoMatcher bank(match::VideoMatchOptions{});
  match::VideoHashOptions bo;
  bo.bank = true;
  const std::vector<std::vector<media::Image>> videos = {testing::PanFrames(160, 120, 0, 200, 51),
                                                         still_camera(61)};
  for (size_t i = 0; i < videos.size(); ++i) {
    testing::WriteVideoFrames(fmt::format("{}/bank{}.avi", dir_, i), videos[i], 25);
    auto item = match::HashVideoForMatching(fmt::format("{}/bank{}.avi", dir_, i), bo);
    ASSERT_TRUE(item.ok()) << item.status().ToString();
    bank.Add(*item);
  }
  bank.Build();
  std::mt19937 rng(5);
  std::vector<uint8_t> wallpaper(200 * 400);
  for (auto& v : wallpaper) v = static_cast<uint8_t>(60 + rng() % 120);
  // The frames drawn at (20, 140) of a 200 x 400 screen: in a bubble on the wallpaper, or on a
  // dark player with text blocks and controls.
  auto recorded = [&](const std::vector<media::Image>& frames, bool bubble) {
    std::vector<media::Image> out;
    for (size_t k = 0; k < frames.size(); ++k) {
      media::Image c = media::Image::Allocate(200, 400, media::PixelFormat::kRgb8);
      for (int y = 0; y < 400; ++y) {
        for (int x = 0; x < 200; ++x)
          std::fill_n(c.row(y) + 3 * x, 3, bubble ? wallpaper[y * 200 + x] : 16);
      }
      for (int y = 0; y < 24; ++y) std::fill_n(c.row(y), c.row_bytes(), 40);  // header
      if (bubble) {
        for (int y = 132; y < 268; ++y) std::fill_n(c.row(y) + 3 * 12, 3 * 176, 235);
      } else {
        for (int y = 40; y < 60; ++y) {  // a title: text-like blocks
          for (int x = 10; x < 190; ++x) c.row(y)[3 * x] = ((x / 6) % 3 == 0) ? 220 : 16;
        }
        for (int y = 300; y < 304; ++y) {  // the progress bar's track, grey
          for (int x = 10; x < 190; ++x) std::fill_n(c.row(y) + 3 * x, 3, 110);
        }
        for (int y = 312; y < 322; ++y) {  // the times
          for (int x = 10; x < 80; ++x) std::fill_n(c.row(y) + 3 * x, 3, (x / 5) % 2 ? 200 : 16);
        }
      }
      const int bar = static_cast<int>(180 * k / frames.size());  // progress, red
      for (int y = 300; y < 304; ++y) {
        for (int x = 10; x < 10 + bar; ++x) {
          c.row(y)[3 * x] = 250;
          c.row(y)[3 * x + 1] = c.row(y)[3 * x + 2] = 40;
        }
      }
      for (int y = 0; y < 120; ++y) std::copy_n(frames[k].row(y), 160 * 3, c.row(140 + y) + 3 * 20);
      out.push_back(std::move(c));
    }
    testing::WriteVideoFrames(dir_ + "/rec.avi", out, 25);
    auto q = match::HashVideoForMatching(dir_ + "/rec.avi", {});
    EXPECT_TRUE(q.ok());
    return *q;
  };
  auto found = [&](const match::VideoItem& q, uint64_t item) {
    bool hit = false;
    for (const auto& m : bank.Match(q)) hit |= m.item == item && m.match;
    return hit;
  };
  for (const bool bubble : {true, false}) {
    for (size_t i = 0; i < videos.size(); ++i) {
      SCOPED_TRACE(fmt::format("video {} {}", i, bubble ? "in a bubble" : "on a player"));
      auto q = recorded(videos[i], bubble);
      size_t with_probe = 0;
      for (const auto& f : q.frames) with_probe += f.motion ? 1 : 0;
      EXPECT_EQ(with_probe, q.frames.size());
      EXPECT_TRUE(found(q, i));
      EXPECT_FALSE(found(q, 1 - i));
      // In the bubble nothing else finds it (the content box cannot trim a wallpaper); the
      // player's flat surroundings the content box may trim as well.
      for (auto& f : q.frames) f.motion.reset();
      if (bubble) {
        EXPECT_FALSE(found(q, i)) << "found without the moving region's probe";
      }
    }
    auto other = recorded(testing::PanFrames(160, 120, 0, 200, 77), bubble);
    EXPECT_FALSE(found(other, 0));
    EXPECT_FALSE(found(other, 1));
  }
  // A video that fills its frame has no moving region apart from it: no probe.
  testing::WriteVideoFrames(dir_ + "/plain.avi", still_camera(61), 25);
  auto plain = match::HashVideoForMatching(dir_ + "/plain.avi", {});
  ASSERT_TRUE(plain.ok());
  for (const auto& f : plain->frames) EXPECT_FALSE(f.motion.has_value());
}

// A copy cropped to its centre by any whole percent from 2 to 25 a side (every frame) is found:
// the bank frames' centre crops are 5% apart, and the upload's probes crop it a little further
// to meet one (the depths between the steps were missed before the probes: 18% a side on a
// shared video); nothing else matches it.
TEST_F(VideoTest, MatchingFindsCentreCropsOfEveryDepth) {
  match::VideoMatcher bank(match::VideoMatchOptions{});
  ASSERT_NO_FATAL_FAILURE(BankOf({21, 22}, 320, 240, 75, &bank));
  for (int pct = 2; pct <= 25; ++pct) {
    std::vector<media::Image> frames;
    for (const auto& f : testing::PanFrames(320, 240, 0, 75, 21)) {
      const int x0 = 2 * (f.width * pct / 200), y0 = 2 * (f.height * pct / 200);
      media::Image c =
          media::Image::Allocate(f.width - 2 * x0, f.height - 2 * y0, media::PixelFormat::kRgb8);
      for (int y = 0; y < c.height; ++y)
        std::copy_n(f.row(y + y0) + 3 * x0, c.row_bytes(), c.row(y));
      frames.push_back(std::move(c));
    }
    testing::WriteVideoFrames(dir_ + "/q.avi", frames, 25);
    auto q = match::HashVideoForMatching(dir_ + "/q.avi", {});
    ASSERT_TRUE(q.ok());
    bool found = false;
    for (const auto& m : bank.Match(*q)) {
      if (m.item == 0) found = m.match;
      if (m.item == 1) {
        EXPECT_FALSE(m.match) << pct << "% a side matched another video";
      }
    }
    EXPECT_TRUE(found) << pct << "% a side";
  }
}

// A video known by its vPDQ alone (a hash list: one plain PDQ a second, no mirror, crops or box)
// is still met by a mirrored copy, through the upload's own mirrored norm, and by a letterboxed
// one, through the upload's content box; an unrelated video, mirrored or not, matches nothing.
TEST_F(VideoTest, AVideoKnownByItsVpdqAloneFindsMirroredAndLetterboxedCopies) {
  match::VideoMatcher bank(match::VideoMatchOptions{});
  for (const int seed : {31, 32}) {
    const std::string path = fmt::format("{}/list{}.avi", dir_, seed);
    testing::WriteVideoFrames(path, testing::PanFrames(320, 240, 0, 100, seed), 25);
    hash::VpdqOptions vo;
    auto v = hash::HashVideoFile(path, vo);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    bank.Add(match::VideoItemFromVpdq(v->frames, v->info.fps, 0));
  }
  bank.Build();
  auto found = [&](const std::vector<media::Image>& frames, uint64_t item) {
    testing::WriteVideoFrames(dir_ + "/q.avi", frames, 25);
    auto q = match::HashVideoForMatching(dir_ + "/q.avi", {});
    EXPECT_TRUE(q.ok());
    bool hit = false;
    for (const auto& m : bank.Match(*q)) {
      if (m.item == item) hit = m.match;
      if (m.item != item) {
        EXPECT_FALSE(m.match) << "another video matched";
      }
    }
    return hit;
  };
  auto mirrored = [](std::vector<media::Image> frames) {
    for (auto& f : frames) {
      media::Image m = f;
      for (int y = 0; y < f.height; ++y) {
        for (int x = 0; x < f.width; ++x)
          std::copy_n(f.row(y) + 3 * (f.width - 1 - x), 3, m.row(y) + 3 * x);
      }
      f = std::move(m);
    }
    return frames;
  };
  auto letterboxed = [](const std::vector<media::Image>& frames) {
    std::vector<media::Image> out;
    for (const auto& f : frames) {
      media::Image b = media::Image::Allocate(f.width, f.height + 80, media::PixelFormat::kRgb8);
      for (int y = 0; y < f.height; ++y) std::copy_n(f.row(y), f.row_bytes(), b.row(y + 40));
      out.push_back(std::move(b));
    }
    return out;
  };
  const auto original = testing::PanFrames(320, 240, 0, 100, 31);
  EXPECT_TRUE(found(original, 0)) << "a re-encoded copy";
  EXPECT_TRUE(found(mirrored(original), 0)) << "a mirrored copy";
  EXPECT_TRUE(found(letterboxed(original), 0)) << "a letterboxed copy";
  const auto other = testing::PanFrames(320, 240, 0, 100, 77);
  EXPECT_FALSE(found(other, 0));
  EXPECT_FALSE(found(mirrored(other), 0));
}

}  // namespace
}  // namespace takedown
