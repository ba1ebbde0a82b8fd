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

// Pixel-level helpers, exposed for tests of the edits themselves.
media::Image ApplyEditPixels(const std::string& name, const media::Image& rgb);

}  // namespace takedown::testing
