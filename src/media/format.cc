#include "media/format.h"

#include <cstring>

namespace takedown::media {

std::string_view ImageFormatName(ImageFormat f) {
  switch (f) {
    case ImageFormat::kJpeg:
      return "jpeg";
    case ImageFormat::kPng:
      return "png";
    case ImageFormat::kWebp:
      return "webp";
    case ImageFormat::kGif:
      return "gif";
    case ImageFormat::kBmp:
      return "bmp";
    case ImageFormat::kTiff:
      return "tiff";
    case ImageFormat::kOther:
      return "other";
    case ImageFormat::kUnknown:
      break;
  }
  return "unknown";
}

ImageFormat SniffImageFormat(std::span<const uint8_t> b) {
  auto starts = [&](const char* magic, size_t n, size_t at = 0) {
    return b.size() >= at + n && std::memcmp(b.data() + at, magic, n) == 0;
  };
  if (starts("\xFF\xD8\xFF", 3)) return ImageFormat::kJpeg;
  if (starts("\x89PNG\r\n\x1A\n", 8)) return ImageFormat::kPng;
  if (starts("RIFF", 4) && starts("WEBP", 4, 8)) return ImageFormat::kWebp;
  if (starts("GIF87a", 6) || starts("GIF89a", 6)) return ImageFormat::kGif;
  if (starts("BM", 2) && b.size() >= 26) return ImageFormat::kBmp;
  if (starts("II*\0", 4) || starts("MM\0*", 4)) return ImageFormat::kTiff;
  return ImageFormat::kUnknown;
}

bool PeekDeclaredSize(std::span<const uint8_t> b, ImageFormat format, int64_t* width,
                      int64_t* height) {
  auto be32 = [&](size_t at) {
    return (int64_t{b[at]} << 24) | (int64_t{b[at + 1]} << 16) | (int64_t{b[at + 2]} << 8) |
           b[at + 3];
  };
  auto le16 = [&](size_t at) { return int64_t{b[at]} | (int64_t{b[at + 1]} << 8); };
  auto le32s = [&](size_t at) {
    return static_cast<int64_t>(static_cast<int32_t>(uint32_t{b[at]} | (uint32_t{b[at + 1]} << 8) |
                                                     (uint32_t{b[at + 2]} << 16) |
                                                     (uint32_t{b[at + 3]} << 24)));
  };
  switch (format) {
    case ImageFormat::kPng:  // signature, IHDR length and type, then width and height
      if (b.size() < 24 || std::memcmp(b.data() + 12, "IHDR", 4) != 0) return false;
      *width = be32(16);
      *height = be32(20);
      return true;
    case ImageFormat::kGif:  // logical screen
      if (b.size() < 10) return false;
      *width = le16(6);
      *height = le16(8);
      return true;
    case ImageFormat::kBmp:  // BITMAPINFOHEADER; height is negative for top-down rows
      if (b.size() < 26 || le32s(14) < 40) return false;
      *width = le32s(18);
      *height = le32s(22);
      if (*height < 0) *height = -*height;
      return true;
    default:
      return false;
  }
}

}  // namespace takedown::media
