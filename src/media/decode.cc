#include "media/decode.h"

#include <fmt/format.h>

#include "core/file.h"
#include "media/decoders.h"

namespace takedown::media {

Result<DecodedImage> DecodeImage(std::span<const uint8_t> bytes, const DecodeOptions& options) {
  if (bytes.empty()) return InvalidArgument("empty file");
  if (bytes.size() > options.limits.max_file_bytes) {
    return ResourceExhausted(fmt::format("file is {} bytes, over the limit of {} bytes",
                                         bytes.size(), options.limits.max_file_bytes));
  }
  const ImageFormat sniffed = SniffImageFormat(bytes);
  int64_t width = 0, height = 0;
  if (PeekDeclaredSize(bytes, sniffed, &width, &height) && width > 0 && height > 0 &&
      static_cast<uint64_t>(width) * static_cast<uint64_t>(height) > options.limits.max_pixels) {
    return ResourceExhausted(fmt::format("{} declares {}x{} pixels, over the limit of {}",
                                         ImageFormatName(sniffed), width, height,
                                         options.limits.max_pixels));
  }
  switch (sniffed) {
    case ImageFormat::kJpeg:
      return DecodeJpeg(bytes, options);
    case ImageFormat::kWebp:
      return DecodeWebp(bytes, options);
    default:
      return DecodeWithFfmpeg(bytes, sniffed, options);
  }
}

Result<DecodedImage> DecodeImageFile(const std::string& path, const DecodeOptions& options) {
  TD_ASSIGN_OR_RETURN(Bytes bytes, ReadFileLimited(path, options.limits.max_file_bytes));
  return DecodeImage(bytes, options);
}

}  // namespace takedown::media
