// Image decoding: bytes -> 8-bit grey or RGB pixels, within limits checked before allocating.
//
// JPEG goes through libjpeg-turbo (with its DCT scaling and luma-only output available to
// callers), WebP through libwebp (animated WebP: first frame), everything else FFmpeg decodes as
// a still image through libavformat/libavcodec (PNG, GIF first frame, BMP, TIFF, ...).
// Alpha is ignored (the underlying colour is kept, as the PDQ reference does); EXIF orientation
// is ignored. All functions are thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "media/format.h"
#include "media/image.h"

namespace takedown::media {

struct DecodeLimits {
  uint64_t max_pixels = 100'000'000;       // width * height of the stored image
  uint64_t max_file_bytes = 256ull << 20;  // size of the encoded file
};

struct DecodeOptions {
  DecodeLimits limits;
  // JPEG only: decode at 1/jpeg_scale_denom (1, 2, 4 or 8) of full size with libjpeg-turbo's
  // scaled inverse DCT. The caller picks it from the header (see ChooseJpegScale).
  int jpeg_scale_denom = 1;
  // JPEG only: when scaled, stop reading a progressive file once every coefficient that the
  // chosen scale uses is final (at 1/8 that is the DC scans alone).
  bool jpeg_stop_after_needed_scans = false;
  // With jpeg_stop_after_needed_scans: also stop once those coefficients are known to within this
  // many low bits (successive approximation), skipping the last refinement scans. 1 halves the
  // precision of the last coefficients, like a lower JPEG quality; 0 reads them exactly.
  int jpeg_max_missing_bits = 0;
  // Return a kGray8 image holding luma (JFIF Y) where the source is stored as YCbCr and that is
  // cheaper than RGB (JPEG, lossy WebP). Otherwise the decoder returns RGB or grey as stored.
  bool prefer_luma = false;
};

struct DecodedImage {
  Image image;
  ImageFormat format = ImageFormat::kUnknown;
  int source_width = 0;  // full-size dimensions as stored in the file
  int source_height = 0;
  int scale_denom = 1;    // image is 1/scale_denom of the source (JPEG DCT scaling)
  bool is_luma = false;   // image is kGray8 holding the luma of a colour source
  bool animated = false;  // the source has more frames; image is the first
  // Recoverable damage the decoder worked around (e.g. "premature end of JPEG data"): the
  // image is what could be decoded.
  std::vector<std::string> warnings;
};

// What a cheap header read tells: format and full-size dimensions.
struct ImageHeader {
  ImageFormat format = ImageFormat::kUnknown;
  int width = 0;
  int height = 0;
};

// Decodes a whole image. Errors name what was wrong: empty input, unrecognised format, over a
// limit, truncated or corrupt beyond recovery.
Result<DecodedImage> DecodeImage(std::span<const uint8_t> bytes, const DecodeOptions& options);

// Reads the file under limits.max_file_bytes, then DecodeImage.
Result<DecodedImage> DecodeImageFile(const std::string& path, const DecodeOptions& options);

// Header only, for JPEG (used to choose a DCT scale before decoding).
Result<ImageHeader> ReadJpegHeader(std::span<const uint8_t> bytes);

// The largest of 1, 2, 4, 8 that keeps both sides of a width x height image at or above
// min_side pixels (1 when min_side <= 0).
int ChooseJpegScale(int width, int height, int min_side);

// Encodes RGB or grey pixels as a baseline JPEG (for previews, tests and benchmarks).
Result<std::vector<uint8_t>> EncodeJpeg(const Image& image, int quality);

}  // namespace takedown::media
