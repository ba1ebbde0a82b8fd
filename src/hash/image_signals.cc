#include "hash/image_signals.h"

#include <chrono>

#include "core/file.h"
#include "hash/digest.h"

namespace takedown::hash {
namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

std::string_view HashModeName(HashMode mode) {
  return mode == HashMode::kFast ? "fast" : "reference";
}

media::DecodeOptions DecodeOptionsFor(HashMode mode, std::span<const uint8_t> bytes,
                                      const media::DecodeLimits& limits) {
  media::DecodeOptions opts;
  opts.limits = limits;
  if (mode == HashMode::kFast) {
    opts.prefer_luma = true;
    opts.jpeg_stop_after_needed_scans = true;
    opts.jpeg_max_missing_bits = kFastJpegMissingBits;
    if (media::SniffImageFormat(bytes) == media::ImageFormat::kJpeg) {
      auto header = media::ReadJpegHeader(bytes);
      if (header.ok()) {
        opts.jpeg_scale_denom = media::ChooseJpegScale(header->width, header->height, kFastMinSide);
      }
    }
  }
  return opts;
}

Result<ImageSignals> ImageHasher::HashBytes(
    std::span<const uint8_t> bytes, const ImageHashOptions& options, ImageStageTimes* times,
    const std::function<void(const media::DecodedImage&)>& on_decoded) {
  ImageSignals out;
  out.mode = options.mode;
  auto t0 = Clock::now();
  if (options.digests) {
    out.md5 = Md5Hex(bytes);
    out.sha256 = Sha256Hex(bytes);
  }
  if (times != nullptr) {
    times->digest += Since(t0);
    t0 = Clock::now();
  }

  TD_ASSIGN_OR_RETURN(
      media::DecodedImage decoded,
      media::DecodeImage(bytes, DecodeOptionsFor(options.mode, bytes, options.limits)));
  if (times != nullptr) times->decode += Since(t0);

  ImageSignals hashed = HashDecoded(std::move(decoded), options, times, on_decoded);
  hashed.md5 = std::move(out.md5);
  hashed.sha256 = std::move(out.sha256);
  return hashed;
}

ImageSignals ImageHasher::HashDecoded(
    media::DecodedImage decoded, const ImageHashOptions& options, ImageStageTimes* times,
    const std::function<void(const media::DecodedImage&)>& on_decoded) {
  ImageSignals out;
  out.mode = options.mode;
  out.format = std::string(media::ImageFormatName(decoded.format));
  out.width = decoded.source_width;
  out.height = decoded.source_height;
  out.warnings = std::move(decoded.warnings);
  const media::Image& img = decoded.image;

  DihedralHashes dihedral;
  out.pdq = pdq_.HashImage(img, kReferenceResize, options.dihedral ? &dihedral : nullptr,
                           times != nullptr ? &times->pdq : nullptr);
  if (options.dihedral) out.dihedral = dihedral;
  const bool resized = img.width > kReferenceResize || img.height > kReferenceResize;
  out.hashed_width = resized ? kReferenceResize : img.width;
  out.hashed_height = resized ? kReferenceResize : img.height;
  if (on_decoded) on_decoded(decoded);
  if (times != nullptr) ++times->images;
  return out;
}

Result<ImageSignals> ImageHasher::HashFile(const std::string& path, const ImageHashOptions& options,
                                           ImageStageTimes* times) {
  const auto t0 = Clock::now();
  TD_ASSIGN_OR_RETURN(Bytes bytes, ReadFileLimited(path, options.limits.max_file_bytes));
  if (times != nullptr) times->read += Since(t0);
  return HashBytes(bytes, options, times);
}

}  // namespace takedown::hash
