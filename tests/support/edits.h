// The re-share edits of the robustness table (issue: foundation; reused by robust matching):
// what people and apps do to an image before posting it again. Each edit takes decoded RGB and
// returns the bytes of the file that would be posted. Edits other than the two JPEG-quality ones
// are saved as JPEG quality 90, as a messaging app would. Deterministic: the same input gives the
// same output. Parameters are stated beside each edit in edits.cc and in the README.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "media/image.h"

namespace takedown::testing {

struct Edit {
  std::string name;
  std::function<std::vector<uint8_t>(const media::Image&)> apply;
};

// The 20 edits, in table order.
const std::vector<Edit>& ReshareEdits();

// Parameter sweeps of one kind of edit over its range (issue 20: fix the kind, not the sample),
// each saved as JPEG quality 90. Names are "<family>/<mode>/<parameter>".
//   "rotate": angles -15..15 degrees in 1-degree steps (0 left out), counter-clockwise for
//     positive angles, in five modes -- "keep-black" and "keep-white" (the canvas keeps its size,
//     corners filled), "expand-white" and "expand-colour" (the canvas grows to keep the whole
//     picture, corners filled with white or with a red-brown), "straighten" (rotated, then cropped
//     to the largest upright rectangle of the picture's shape: no fill left).
//   "crop": 2..25% off each side, "centre" (the same off every side) and "offcentre" (1.5x the
//     amount off the left and the bottom, 0.5x off the right and the top).
//   "caption": a white bar of 10..26% of the picture's height (4% steps), "top" or "bottom", with
//     black text whose line box (ascent and descent) is 30, 45 or 60% of the bar high (three
//     texts in turn, with and without descenders and capitals), the line box centred in the bar;
//     named "caption/top/18-45".
std::vector<Edit> SweepEdits(const std::string& family);
// The families SweepEdits knows.
std::vector<std::string> SweepFamilies();

// Pixel-level helpers, exposed for tests of the edits themselves.
media::Image ApplyEditPixels(const std::string& name, const media::Image& rgb);

}  // namespace takedown::testing
