// Recognising image containers from their first bytes (never from the file name).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace takedown::media {

enum class ImageFormat { kUnknown, kJpeg, kPng, kWebp, kGif, kBmp, kTiff, kOther };

std::string_view ImageFormatName(ImageFormat f);

// Looks at magic numbers only. kUnknown means "not one of ours"; FFmpeg may still probe it.
ImageFormat SniffImageFormat(std::span<const uint8_t> bytes);

// Width and height as declared in the header of a PNG, GIF or BMP, read without decoding, so
// that limits are checked before any decoder allocates. Returns false when the format is not one
// of these or the header is too short.
bool PeekDeclaredSize(std::span<const uint8_t> bytes, ImageFormat format, int64_t* width,
                      int64_t* height);

}  // namespace takedown::media
