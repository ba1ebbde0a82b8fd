// One sampled video frame's matching signals, and their JSON: what the native video hashing
// (video_match.cc) and the victims' form's WebAssembly module (wasm/hash_api.cc, a frame the
// browser decoded) both compute, so a video hashed in the browser is matched as one hashed by
// the server. No decoding, no FFmpeg.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "core/status.h"
#include "hash/pdq.h"
#include "match/plane.h"
#include "media/image.h"

namespace takedown::match {

struct VideoFrameSignals {
  double seconds = 0;
  hash::PdqHash pdq;
  hash::PdqHash norm;
  // Norm of the frame mirrored left-right. The bank's is indexed (a mirrored upload meets it);
  // an upload's is probed, so a mirrored copy of a video known by its frames' PDQs alone (a vPDQ
  // list) meets them too.
  hash::Hash256 norm_mirror;
  // Bank side only: norm of the frame's centre crops (kVideoCrops: a cropped copy).
  std::vector<hash::PdqHash> norm_crops;
  // Upload side only: norm of the frame's centre crops kVideoProbeCrops, so a copy cropped between
  // the bank's steps meets one of them (probed, never indexed).
  std::vector<hash::PdqHash> probes;
  std::optional<hash::PdqHash> box;
  // Upload side only: norm of the region of the frame that moves across the video's first
  // samples (MotionBox), when it is a part of the frame: a video played inside a screen
  // recording, under a player's static controls and an app's bars. Probed, never indexed.
  std::optional<hash::PdqHash> motion;
};

// The share of the frame's width and height each bank-side centre crop keeps.
inline constexpr double kVideoCrops[] = {0.95, 0.90, 0.85, 0.80, 0.75,
                                         0.70, 0.65, 0.60, 0.55, 0.50};
// The share each upload-side probe keeps. PDQ holds a copy within about 1% of a stored crop's
// scale; the bank's crops are 5-10% apart, so a copy cropped between two of them (18% a side
// keeps 0.64) is cropped a little further on the upload side to meet the next smaller one
// (0.64 x 0.94 = 0.60): probes 2% apart down to 0.92 close the widest gap (0.55 to 0.50).
inline constexpr double kVideoProbeCrops[] = {0.98, 0.96, 0.94, 0.92};

// The signals of one decoded frame at `seconds`: its PDQ, the 64 x 64 area average ("norm") and
// its mirror, its content box, and with `bank` the centre crops, else the upload's probes. With
// `plane`, the frame's working plane (at most 256 px a side) is left there.
VideoFrameSignals HashVideoFrame(const media::Image& frame, double seconds, bool bank,
                                 hash::PdqHasher& pdq, LumaPlane* plane = nullptr);

// The region of a video's frames that is the video, in a screen recording: seeded by the rows and
// columns where at least kMotionShare of the pixels changed (by more than kMotionLevel of 255)
// between two pairs of consecutive samples or more (a progress bar or a clock changes in one),
// then grown over the rows and columns next to it that are not flat in the samples' mean (the
// still parts of the video: a wall, a table), up to the flat margin an app's bars, text and
// controls lie beyond (a patterned wallpaper around the video needs a bubble's margin between
// them). When one side reached the frame's edge, the opposite one goes to its edge too over lines
// flat all the way there (the video as wide as the screen, with a flat sky at one side). nullopt
// unless there are at least kMotionMinFrames planes of one size and
// the region leaves out at least a tenth of the frame's height or width while keeping a fifth of
// its area.
inline constexpr int kMotionFrames = 8;  // the upload's first samples (one a second) it is found on
inline constexpr int kMotionMinFrames = 4;
inline constexpr float kMotionLevel = 12;
inline constexpr double kMotionShare = 0.03;
inline constexpr double kMotionFlat = 1.5;  // mean step between neighbours, of 255
std::optional<Rect> MotionBox(const std::vector<LumaPlane>& planes);
// The norm of a rectangle of a frame's working plane.
hash::PdqHash HashPlaneRect(const LumaPlane& plane, const Rect& rect);

// A frame as stored and exchanged: {"t", "pdq": [hex, quality], "norm", "mirror"?, "crops"?,
// "probes"?, "box"?}; FrameFromJson (service::VideoFromJson) reads it back.
nlohmann::json FrameToJson(const VideoFrameSignals& f);
nlohmann::json PdqPairJson(const hash::PdqHash& h);

}  // namespace takedown::match
