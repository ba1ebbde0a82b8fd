// vPDQ: PDQ of a video's frames, sampled by frame count (Meta's video hash; ../shared/docs/PDQ.md).
//
// Conformant mode decodes every frame, converts the sampled ones to RGB24 with swscale's area
// filter at native size (or forced to frame_size x frame_size) and hashes them with PDQ (full
// filter, no 512 cap), as the reference hasher does. Fast mode decodes only keyframes (at most
// one per seconds_per_hash) and hashes their luma plane directly (no colour conversion): frames
// are fewer and at keyframe times, hashes within a few bits of conformant ones; for sweeping
// volumes (the benchmark measures both).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "hash/hash256.h"
#include "media/video.h"

namespace takedown::hash {

struct VpdqFrame {
  int64_t number = 0;
  int quality = 0;
  Hash256 hash;
  double seconds = 0;  // number / fps
};

struct VpdqOptions {
  double seconds_per_hash = 1.0;  // 0: every frame
  int frame_size = 0;             // 0: native size
  bool fast = false;
  media::VideoOptions video;  // limits, threads
  bool digests = true;
};

struct VideoSignals {
  media::VideoInfo info;
  media::VideoReport report;
  int64_t frame_mod = 1;
  std::vector<VpdqFrame> frames;
  std::string md5, sha256;
};

Result<VideoSignals> HashVideoFile(const std::string& path, const VpdqOptions& options);
// The same for a video in memory (`takedown hash --sandbox`: a worker may not open files).
Result<VideoSignals> HashVideoBytes(std::span<const uint8_t> bytes, const VpdqOptions& options);

// The reference text format: "frameNumber,quality,pdqhex,timestamp\n" per frame (timestamp with
// 3 decimals).
std::string VpdqText(const VideoSignals& v);
// One frame as a `takedown hash --format jsonl` video line's "vpdq" list holds it (and the bank
// export writes it): "pdqhex,quality,seconds", seconds to the millisecond
// (match::VideoItemFromHashLine reads it back).
std::string VpdqListFrame(const Hash256& hash, int quality, double seconds);

// Parses that format (line numbers in errors). fps is not needed: timestamps are read as given.
// Every number is read whole (frame number >= 0, quality 0..100, timestamp 0..kMaxVpdqSeconds
// with no exponent), or the line is refused.
inline constexpr double kMaxVpdqSeconds = 7 * 24 * 3600;  // a week
Result<std::vector<VpdqFrame>> ParseVpdqText(const std::string& text);

}  // namespace takedown::hash
