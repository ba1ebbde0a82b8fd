// JPEG through libjpeg-turbo. libjpeg reports fatal errors by calling error_exit, which here
// longjmps back to the function that set the jump buffer. Those functions keep no object with a
// destructor in their own frame, so nothing is skipped by the jump; buffers live in the caller.
#include <fmt/format.h>
#include <jpeglib.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>

#include "media/decode.h"
#include "media/decoders.h"

namespace takedown::media {
namespace {

constexpr int kMaxScans = 1000;     // a progressive file needs ~10; thousands is an attack
constexpr int kMaxWarnings = 1000;  // corrupt data can emit one warning per block

// The zig-zag position of each coefficient of the top-left n x n corner of a block, which is
// what libjpeg's scaled inverse DCT reads at scale n/8 (ITU T.81, figure A.6).
constexpr int kZigzagIndexOfNatural[64] = {
    0,  1,  5,  6,  14, 15, 27, 28, 2,  4,  7,  13, 16, 26, 29, 42, 3,  8,  12, 17, 25, 30,
    41, 43, 9,  11, 18, 24, 31, 40, 44, 53, 10, 19, 23, 32, 39, 45, 52, 54, 20, 22, 33, 38,
    46, 51, 55, 60, 21, 34, 37, 47, 50, 56, 59, 61, 35, 36, 48, 49, 57, 58, 62, 63};

struct ErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  int warnings;
  char first_warning[JMSG_LENGTH_MAX];
};

[[noreturn]] void OnError(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

void OnMessage(j_common_ptr cinfo, int level) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  if (level >= 0) return;  // trace messages
  if (err->warnings == 0) (*cinfo->err->format_message)(cinfo, err->first_warning);
  if (++err->warnings > kMaxWarnings) {
    std::snprintf(err->message, sizeof(err->message), "more than %d corrupt-data warnings",
                  kMaxWarnings);
    std::longjmp(err->jump, 1);
  }
}

void OnProgress(j_common_ptr cinfo) {
  auto* d = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (d->input_scan_number > kMaxScans) {
    auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
    std::snprintf(err->message, sizeof(err->message), "progressive JPEG with more than %d scans",
                  kMaxScans);
    std::longjmp(err->jump, 1);
  }
}

// Owns a decompressor; destroyed on every path.
struct Decompressor {
  jpeg_decompress_struct cinfo{};
  ErrorManager err{};
  jpeg_progress_mgr progress{};

  Decompressor() {
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = OnError;
    err.pub.emit_message = OnMessage;
    progress.progress_monitor = OnProgress;
  }
  ~Decompressor() { jpeg_destroy_decompress(&cinfo); }
  Decompressor(const Decompressor&) = delete;
  Decompressor& operator=(const Decompressor&) = delete;
};

// True when every coefficient that the output at 1/scale_denom reads (luma only, or every
// component) has been received to within max_missing_bits low bits (0: final). coef_bits holds,
// per component and zig-zag position, -1 before the first scan that carries it, then the
// successive-approximation bit position Al that the last scan left it at.
bool NeededCoefficientsFinal(j_decompress_ptr cinfo, int scale_denom, bool luma_only,
                             int max_missing_bits) {
  if (cinfo->coef_bits == nullptr) return false;
  if (max_missing_bits < 0) max_missing_bits = 0;
  const int n = 8 / scale_denom;
  const int components = luma_only ? 1 : cinfo->num_components;
  for (int c = 0; c < components; ++c) {
    for (int row = 0; row < n; ++row) {
      for (int col = 0; col < n; ++col) {
        if (cinfo->coef_bits[c][kZigzagIndexOfNatural[row * 8 + col]] > max_missing_bits)
          return false;
      }
    }
  }
  return true;
}

void CmykToRgb(const uint8_t* cmyk, uint8_t* rgb, int pixels, bool adobe_inverted) {
  for (int i = 0; i < pixels; ++i, cmyk += 4, rgb += 3) {
    int k = adobe_inverted ? cmyk[3] : 255 - cmyk[3];
    for (int c = 0; c < 3; ++c) {
      int v = adobe_inverted ? cmyk[c] : 255 - cmyk[c];
      rgb[c] = static_cast<uint8_t>((v * k + 127) / 255);
    }
  }
}

struct JpegPlan {
  J_COLOR_SPACE out_space;
  PixelFormat format;
  bool is_luma;
  bool cmyk;
};

// Stage 1 (inside setjmp): header only. Returns 0 on success.
int ReadHeader(Decompressor& d, std::span<const uint8_t> bytes) {
  if (setjmp(d.err.jump)) return 1;
  jpeg_create_decompress(&d.cinfo);
  d.cinfo.progress = &d.progress;
  jpeg_mem_src(&d.cinfo, bytes.data(), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&d.cinfo, TRUE);
  return 0;
}

// Stage 2 (inside setjmp): decompress into `out`, already sized by the caller from the output
// dimensions that jpeg_calc_output_dimensions reported. `row_scratch` holds one CMYK row.
int Decompress(Decompressor& d, const JpegPlan& plan, int scale_denom, bool stop_early,
               int max_missing_bits, std::vector<uint8_t>& out, std::vector<uint8_t>& row_scratch) {
  if (setjmp(d.err.jump)) return 1;
  j_decompress_ptr cinfo = &d.cinfo;
  const bool buffered =
      stop_early && cinfo->progressive_mode && (scale_denom > 1 || max_missing_bits > 0);
  cinfo->buffered_image = buffered ? TRUE : FALSE;
  jpeg_start_decompress(cinfo);
  if (buffered) {
    while (!jpeg_input_complete(cinfo)) {
      int r = jpeg_consume_input(cinfo);
      if (r == JPEG_SUSPENDED || r == JPEG_REACHED_EOI) break;
      if (r == JPEG_SCAN_COMPLETED &&
          NeededCoefficientsFinal(cinfo, scale_denom, plan.is_luma, max_missing_bits)) {
        break;
      }
    }
    jpeg_start_output(cinfo, cinfo->input_scan_number);
  }
  const size_t stride =
      static_cast<size_t>(cinfo->output_width) * (plan.format == PixelFormat::kGray8 ? 1 : 3);
  while (cinfo->output_scanline < cinfo->output_height) {
    const size_t y = cinfo->output_scanline;
    JSAMPROW row = plan.cmyk ? row_scratch.data() : out.data() + y * stride;
    if (jpeg_read_scanlines(cinfo, &row, 1) != 1) break;
    if (plan.cmyk) {
      CmykToRgb(row_scratch.data(), out.data() + y * stride, static_cast<int>(cinfo->output_width),
                cinfo->saw_Adobe_marker != 0);
    }
  }
  if (buffered) {
    jpeg_finish_output(cinfo);
    jpeg_abort_decompress(cinfo);  // the scans we chose not to read
  } else {
    jpeg_finish_decompress(cinfo);
  }
  return 0;
}

}  // namespace

Result<ImageHeader> ReadJpegHeader(std::span<const uint8_t> bytes) {
  Decompressor d;
  if (ReadHeader(d, bytes) != 0) return DataLoss(fmt::format("bad JPEG header: {}", d.err.message));
  return ImageHeader{ImageFormat::kJpeg, static_cast<int>(d.cinfo.image_width),
                     static_cast<int>(d.cinfo.image_height)};
}

int ChooseJpegScale(int width, int height, int min_side) {
  if (min_side <= 0) return 1;
  for (int denom = 8; denom > 1; denom /= 2) {
    if (width / denom >= min_side && height / denom >= min_side) return denom;
  }
  return 1;
}

Result<DecodedImage> DecodeJpeg(std::span<const uint8_t> bytes, const DecodeOptions& options) {
  Decompressor d;
  if (ReadHeader(d, bytes) != 0) return DataLoss(fmt::format("bad JPEG header: {}", d.err.message));
  j_decompress_ptr cinfo = &d.cinfo;

  const uint64_t pixels = uint64_t{cinfo->image_width} * cinfo->image_height;
  if (pixels > options.limits.max_pixels) {
    return ResourceExhausted(fmt::format("JPEG declares {}x{} pixels, over the limit of {}",
                                         cinfo->image_width, cinfo->image_height,
                                         options.limits.max_pixels));
  }

  JpegPlan plan{};
  switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE:
      plan = {JCS_GRAYSCALE, PixelFormat::kGray8, false, false};
      break;
    case JCS_YCbCr:
    case JCS_RGB:
      plan = options.prefer_luma ? JpegPlan{JCS_GRAYSCALE, PixelFormat::kGray8, true, false}
                                 : JpegPlan{JCS_RGB, PixelFormat::kRgb8, false, false};
      break;
    case JCS_CMYK:
    case JCS_YCCK:
      plan = {JCS_CMYK, PixelFormat::kRgb8, false, true};
      break;
    default:
      return Unsupported(fmt::format("JPEG colour space {} is not supported",
                                     static_cast<int>(cinfo->jpeg_color_space)));
  }

  int denom = options.jpeg_scale_denom;
  if (denom != 1 && denom != 2 && denom != 4 && denom != 8) {
    return InvalidArgument(fmt::format("JPEG scale 1/{} is not one of 1, 1/2, 1/4, 1/8", denom));
  }
  cinfo->out_color_space = plan.out_space;
  cinfo->scale_num = 1;
  cinfo->scale_denom = static_cast<unsigned>(denom);
  jpeg_calc_output_dimensions(cinfo);

  DecodedImage result;
  result.format = ImageFormat::kJpeg;
  result.source_width = static_cast<int>(cinfo->image_width);
  result.source_height = static_cast<int>(cinfo->image_height);
  result.scale_denom = denom;
  result.is_luma = plan.is_luma;
  Image& img = result.image;
  img.width = static_cast<int>(cinfo->output_width);
  img.height = static_cast<int>(cinfo->output_height);
  img.format = plan.format;
  img.pixels.resize(img.row_bytes() * img.height);
  std::vector<uint8_t> row_scratch(plan.cmyk ? size_t{cinfo->output_width} * 4 : 0);

  if (Decompress(d, plan, denom, options.jpeg_stop_after_needed_scans,
                 options.jpeg_max_missing_bits, img.pixels, row_scratch) != 0) {
    return DataLoss(fmt::format("corrupt JPEG: {}", d.err.message));
  }
  if (d.err.warnings > 0) {
    std::string w = d.err.first_warning;
    if (d.err.warnings > 1) w += fmt::format(" (and {} more warnings)", d.err.warnings - 1);
    result.warnings.push_back(std::move(w));
  }
  return result;
}

namespace {
struct Compressor {
  jpeg_compress_struct cinfo{};
  ErrorManager err{};
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  Compressor() {
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = OnError;
  }
  ~Compressor() {
    jpeg_destroy_compress(&cinfo);
    std::free(buffer);
  }
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;
};

int Compress(Compressor& c, const Image& image, int quality) {
  if (setjmp(c.err.jump)) return 1;
  jpeg_create_compress(&c.cinfo);
  jpeg_mem_dest(&c.cinfo, &c.buffer, &c.size);
  c.cinfo.image_width = static_cast<JDIMENSION>(image.width);
  c.cinfo.image_height = static_cast<JDIMENSION>(image.height);
  c.cinfo.input_components = image.channels();
  c.cinfo.in_color_space = image.format == PixelFormat::kGray8 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&c.cinfo);
  jpeg_set_quality(&c.cinfo, quality, TRUE);
  jpeg_start_compress(&c.cinfo, TRUE);
  while (c.cinfo.next_scanline < c.cinfo.image_height) {
    auto* row = const_cast<JSAMPROW>(image.row(static_cast<int>(c.cinfo.next_scanline)));
    jpeg_write_scanlines(&c.cinfo, &row, 1);
  }
  jpeg_finish_compress(&c.cinfo);
  return 0;
}
}  // namespace

Result<std::vector<uint8_t>> EncodeJpeg(const Image& image, int quality) {
  if (image.width <= 0 || image.height <= 0) return InvalidArgument("cannot encode an empty image");
  if (quality < 1 || quality > 100) return InvalidArgument("JPEG quality must be 1..100");
  Compressor c;
  if (Compress(c, image, quality) != 0)
    return Internal(fmt::format("JPEG encoding: {}", c.err.message));
  return std::vector<uint8_t>(c.buffer, c.buffer + c.size);
}

}  // namespace takedown::media
