// Everything `takedown hash` computes for one image file: PDQ (and optionally its dihedral
// variants), MD5 and SHA-256 of the bytes, and what the decoder saw.
//
// Two decode modes:
//  - kReference: full decode to RGB (or grey), then the reference CLI's 512 x 512
//    nearest-neighbour resize; hashes are bit-identical to the reference's.
//  - kFast: JPEG (and lossy WebP) decoded as luma only, JPEG at a reduced DCT scale chosen from
//    the image size, a progressive JPEG read only as far as that scale needs; then the same
//    512 x 512 nearest-neighbour rule on the decoded image. Hashes stay within a few bits of
//    reference mode (see tests/fast_mode_test.cc).
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "hash/pdq.h"
#include "media/decode.h"

namespace takedown::hash {

enum class HashMode { kFast, kReference };

std::string_view HashModeName(HashMode mode);

// Fast mode decodes a JPEG at a reduced DCT scale only while both sides stay at or above this
// many pixels: within 12.5% of the 512 grid the reference samples. Going further below it moves
// hashes by 15-20 bits on large photos (measured: see tests/fast_mode_test.cc and the README).
constexpr int kFastMinSide = 448;
// Fast mode reads a progressive JPEG only until the coefficients it uses are known to within
// their last bit (skipping the final refinement scans): 3.4x faster on progressive files, hashes
// within 12 bits of reference mode on the corpora measured (see README).
constexpr int kFastJpegMissingBits = 1;
// The reference CLI's resize target.
constexpr int kReferenceResize = 512;

struct ImageHashOptions {
  HashMode mode = HashMode::kFast;
  bool dihedral = false;
  bool digests = true;  // MD5 and SHA-256 of the file bytes
  media::DecodeLimits limits;
};

struct ImageSignals {
  std::string format;  // "jpeg", "png", ...
  int width = 0;       // as stored in the file
  int height = 0;
  int hashed_width = 0;  // the luma plane PDQ was computed on
  int hashed_height = 0;
  HashMode mode = HashMode::kFast;
  PdqHash pdq;
  std::optional<DihedralHashes> dihedral;
  std::string md5;
  std::string sha256;
  std::vector<std::string> warnings;  // damage the decoder worked around
};

// Seconds per stage, added to by each call (for the benchmark).
struct ImageStageTimes {
  double read = 0;
  double digest = 0;
  double decode = 0;
  PdqStageTimes pdq;
  int images = 0;
};

// Decode options for a mode, given the file (JPEG header read for the fast-mode scale).
media::DecodeOptions DecodeOptionsFor(HashMode mode, std::span<const uint8_t> bytes,
                                      const media::DecodeLimits& limits);

// Not thread-safe (owns a PdqHasher's buffers): one per thread.
class ImageHasher {
 public:
  // on_decoded, when given, sees the decoded image (for signals computed elsewhere) before it
  // is released.
  Result<ImageSignals> HashBytes(
      std::span<const uint8_t> bytes, const ImageHashOptions& options,
      ImageStageTimes* times = nullptr,
      const std::function<void(const media::DecodedImage&)>& on_decoded = {});
  Result<ImageSignals> HashFile(const std::string& path, const ImageHashOptions& options,
                                ImageStageTimes* times = nullptr);
  // Pixels decoded elsewhere (the browser's decoder, for formats the WebAssembly build has no
  // decoder for): the same steps after decoding. No digests (there are no bytes).
  ImageSignals HashDecoded(media::DecodedImage decoded, const ImageHashOptions& options,
                           ImageStageTimes* times = nullptr,
                           const std::function<void(const media::DecodedImage&)>& on_decoded = {});

 private:
  PdqHasher pdq_;
};

}  // namespace takedown::hash
