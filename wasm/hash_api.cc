// The hashing of `takedown hash`, compiled to WebAssembly for the victims' form (/report): the
// same decoders (libjpeg-turbo and libwebp built from Debian's source packages of the versions the
// server links), the same PDQ and robust signals, so a still image hashes to the same bits in the
// browser as on the server. Formats the native build hands to FFmpeg (PNG, GIF, BMP, ...) are
// decoded by the browser and passed in as RGBA (td_hash_rgba).
//
// Every entry point returns a JSON document in memory the caller frees with td_free: the line
// `takedown hash --format jsonl` writes (with --bank when flags has kBank), or {"error", "code"}.
// MD5 and SHA-256 of an image's bytes come from the page's digest functions (digests_in_page.cc).
#include <emscripten/emscripten.h>

#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <span>
#include <string>

#include "match/signals.h"
#include "match/signals_json.h"
#include "match/video_frame.h"
#include "media/decode.h"
#include "media/format.h"

namespace {

using takedown::Status;
using namespace takedown;

constexpr int kBank = 1;       // the bank-side variants, as `takedown hash --bank`
constexpr int kReference = 2;  // reference decode mode instead of the default fast mode
constexpr int kDihedral = 4;   // the 8 dihedral hashes (always with kBank)

// One hasher for the module's one thread (hashing runs in a Web Worker).
match::SignalHasher& Hasher() {
  static auto* hasher = new match::SignalHasher();
  return *hasher;
}

char* Copy(const std::string& text) {
  char* out = static_cast<char*>(std::malloc(text.size() + 1));
  if (out == nullptr) return nullptr;
  std::memcpy(out, text.c_str(), text.size() + 1);
  return out;
}

char* Error(const Status& status) {
  nlohmann::ordered_json j;
  j["error"] = status.message();
  j["code"] = std::string(StatusCodeName(status.code()));
  return Copy(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

char* Answer(const char* name, const match::FileSignals& signals) {
  return Copy(match::SignalsToJson(name == nullptr ? "" : name, signals)
                  .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

// A PNG whose IHDR says grey (colour type 0, or 4 with alpha): the native build keeps such
// images grey, so that luma is the value itself; so must this one.
bool IsGreyPng(std::span<const uint8_t> head) {
  return media::SniffImageFormat(head) == media::ImageFormat::kPng && head.size() > 25 &&
         (head[25] == 0 || head[25] == 4);
}

hash::HashMode ModeOf(int flags) {
  return (flags & kReference) != 0 ? hash::HashMode::kReference : hash::HashMode::kFast;
}

}  // namespace

extern "C" {

EMSCRIPTEN_KEEPALIVE void* td_alloc(size_t n) { return std::malloc(n == 0 ? 1 : n); }
EMSCRIPTEN_KEEPALIVE void td_free(void* p) { std::free(p); }

// A whole image file's bytes.
EMSCRIPTEN_KEEPALIVE char* td_hash_image(const uint8_t* bytes, size_t n, const char* name,
                                         int flags) {
  auto signals = Hasher().HashBytes(std::span<const uint8_t>(bytes, n), (flags & kBank) != 0, {},
                                    nullptr, ModeOf(flags), (flags & kDihedral) != 0);
  if (!signals.ok()) return Error(signals.status());
  return Answer(name, *signals);
}

// Pixels the browser decoded (width x height RGBA, alpha ignored as the native decoders do), with
// the file's first bytes to name its format.
EMSCRIPTEN_KEEPALIVE char* td_hash_rgba(const uint8_t* rgba, int width, int height,
                                        const uint8_t* head, size_t head_n, const char* name,
                                        int flags) {
  media::DecodeLimits limits;
  if (width <= 0 || height <= 0 ||
      static_cast<uint64_t>(width) * static_cast<uint64_t>(height) > limits.max_pixels) {
    return Error(InvalidArgument("the decoded image's size is outside 1 .. " +
                                 std::to_string(limits.max_pixels) + " pixels"));
  }
  const std::span<const uint8_t> header(head, head_n);
  const bool grey = IsGreyPng(header);
  media::DecodedImage decoded;
  decoded.format = media::SniffImageFormat(header);
  decoded.source_width = width;
  decoded.source_height = height;
  decoded.image = media::Image::Allocate(
      width, height, grey ? media::PixelFormat::kGray8 : media::PixelFormat::kRgb8);
  const size_t count = static_cast<size_t>(width) * height;
  uint8_t* out = decoded.image.pixels.data();
  for (size_t i = 0; i < count; ++i) {
    if (grey) {
      out[i] = rgba[4 * i];
      continue;
    }
    out[3 * i] = rgba[4 * i];
    out[3 * i + 1] = rgba[4 * i + 1];
    out[3 * i + 2] = rgba[4 * i + 2];
  }
  const auto signals = Hasher().HashDecoded(std::move(decoded), (flags & kBank) != 0, ModeOf(flags),
                                            (flags & kDihedral) != 0);
  return Answer(name, signals);
}

// One frame of a video the browser decoded (width x height RGBA, alpha ignored): its bank-side
// signals as a stored video frame carries them (match::FrameToJson: pdq, norm, mirror, crops,
// box), "t" 0 (the page sets the frame's time). The same computation as the server's for a frame
// FFmpeg decoded (match::HashVideoFrame).
EMSCRIPTEN_KEEPALIVE char* td_hash_video_frame(const uint8_t* rgba, int width, int height) {
  media::DecodeLimits limits;
  if (width <= 0 || height <= 0 ||
      static_cast<uint64_t>(width) * static_cast<uint64_t>(height) > limits.max_pixels) {
    return Error(InvalidArgument("the video frame's size is outside 1 .. " +
                                 std::to_string(limits.max_pixels) + " pixels"));
  }
  media::Image frame = media::Image::Allocate(width, height, media::PixelFormat::kRgb8);
  const size_t count = static_cast<size_t>(width) * height;
  uint8_t* out = frame.pixels.data();
  for (size_t i = 0; i < count; ++i) {
    out[3 * i] = rgba[4 * i];
    out[3 * i + 1] = rgba[4 * i + 1];
    out[3 * i + 2] = rgba[4 * i + 2];
  }
  static auto* pdq = new hash::PdqHasher();
  return Copy(match::FrameToJson(match::HashVideoFrame(frame, 0, true, *pdq)).dump());
}

}  // extern "C"
