// The WebAssembly build has no FFmpeg: formats the native build decodes with it (PNG, GIF, BMP,
// TIFF, ...) are decoded by the browser and hashed from pixels (td_hash_rgba). DecodeImage routes
// them here; the answer's code ("unsupported") tells the page to do that.
#include <string>

#include "media/decoders.h"

namespace takedown::media {

Result<DecodedImage> DecodeWithFfmpeg(std::span<const uint8_t>, ImageFormat sniffed,
                                      const DecodeOptions&) {
  return Status(StatusCode::kUnsupported,
                std::string(ImageFormatName(sniffed)) +
                    " is decoded by the browser in the WebAssembly build");
}

}  // namespace takedown::media
