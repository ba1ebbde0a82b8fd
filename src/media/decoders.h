// Internal: the per-library decoders behind DecodeImage. Each checks the pixel limit against the
// declared dimensions before allocating pixels.
#pragma once

#include <span>

#include "media/decode.h"

namespace takedown::media {

Result<DecodedImage> DecodeJpeg(std::span<const uint8_t> bytes, const DecodeOptions& options);
Result<DecodedImage> DecodeWebp(std::span<const uint8_t> bytes, const DecodeOptions& options);
Result<DecodedImage> DecodeWithFfmpeg(std::span<const uint8_t> bytes, ImageFormat sniffed,
                                      const DecodeOptions& options);

}  // namespace takedown::media
