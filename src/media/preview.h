// Previews of reported media for reviewers, who should see as little of it as possible: by
// default greyscale and blurred beyond recognition of detail (the picture's layout stays visible),
// at most max_side pixels; the clear picture only when asked (the caller audits that).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/status.h"
#include "media/image.h"

namespace takedown::media {

// A JPEG preview of an image file's bytes. Blurred: grey, averaged down to 16 pixels on the long
// side, then smoothly scaled up to max_side. Reveal: the colour picture scaled to fit max_side.
Result<std::vector<uint8_t>> ReviewerPreview(std::span<const uint8_t> bytes, bool reveal,
                                             int max_side = 480);

// A video's keyframe as the same JPEG preview: the keyframes are taken at most one every
// duration_s / frames seconds (duration_s <= 0: one a second), and `frame` (0-based) picks one of
// them. Only keyframes are decoded (fast, and never the whole stream); the video is never played.
// NotFound names how many there are when `frame` is beyond them.
Result<std::vector<uint8_t>> ReviewerVideoPreview(std::span<const uint8_t> bytes, bool reveal,
                                                  int frame, int frames, double duration_s,
                                                  int max_side = 480);

// One look a reviewer asks for: a picture, or one keyframe of a video (of `frames` spread over
// duration_s); blurred, or clear with reveal. What the sandboxed decoder workers are given to make
// a preview, so that the reported media is decoded outside the service like every other upload.
struct PreviewRequest {
  bool video = false;
  bool reveal = false;
  int frame = 0;
  int frames = 1;
  double duration_s = 0;
};
// ReviewerPreview or ReviewerVideoPreview as `r` says.
Result<std::vector<uint8_t>> PreviewOf(std::span<const uint8_t> bytes, const PreviewRequest& r);

// The blurred preview's pixels (exposed for tests): grey, long side `max_side`.
Image BlurredGrey(const Image& in, int max_side);

}  // namespace takedown::media
