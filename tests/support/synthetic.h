// Synthetic images and odd-format encodings for tests that must run without ../shared.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "media/image.h"

namespace takedown::testing {

// A photo-like RGB image: smooth random blobs and gradients plus mild noise, deterministic in seed.
media::Image SyntheticPhoto(int width, int height, uint32_t seed);

// SyntheticPhoto with many small hard-edged shapes on top: detail at every scale, as real
// photos have, so that even half of the picture hashes with good quality.
media::Image DetailedPhoto(int width, int height, uint32_t seed);

// PNG in a given FFmpeg pixel format: "rgb24", "rgba", "gray", "ya8", "rgb48be", "gray16be",
// "pal8" (3-3-2 palette). The image's RGB (or its luma for grey formats) is stored; alpha is set to
// a pattern.
std::vector<uint8_t> EncodePng(const media::Image& rgb, const std::string& pix_fmt);

// What the "pal8" PNG and the GIF encoders store: each colour cut to 3-3-2 bits and expanded back.
media::Image QuantizeTo332(const media::Image& rgb);

// A CMYK JPEG (Adobe-style inverted) of the image.
std::vector<uint8_t> EncodeCmykJpeg(const media::Image& rgb, int quality);

// Animated images whose first frame is `first` and whose later frames differ completely.
std::vector<uint8_t> EncodeAnimatedGif(const media::Image& first, int frames);
std::vector<uint8_t> EncodeAnimatedWebp(const media::Image& first, int frames);

// Frames of a synthetic photo panning 2 px a frame: frames first .. first + count - 1 of the
// same endless pan (the photo depends on seed and size only).
std::vector<media::Image> PanFrames(int width, int height, int first, int count, uint32_t seed);

// Writes the frames as an MPEG-4 part 2 video (container from the file name). `pts`, when given:
// frame i is shown at pts[i] / fps seconds (increasing; gaps make a variable-frame-rate video).
void WriteVideoFrames(const std::string& path, const std::vector<media::Image>& frames, int fps,
                      bool scramble_pts = false, const std::vector<int64_t>& pts = {});

// Writes a video of `frames` frames (a synthetic photo panning by a few pixels a frame) with
// FFmpeg's built-in MPEG-4 part 2 encoder into a container chosen by the file name (.avi, .mkv,
// .mp4). With scramble_pts, presentation timestamps are written out of order and repeated.
void WriteVideo(const std::string& path, int width, int height, int frames, int fps, uint32_t seed,
                bool scramble_pts = false);

// A WAV file with one second of a tone: audio only.
void WriteAudioOnly(const std::string& path);

// A Matroska file with a subtitle stream and no video.
void WriteSubtitlesOnly(const std::string& path);

// Writes bytes to a file (tests' temporary files); throws on failure.
void WriteFile(const std::string& path, const std::vector<uint8_t>& bytes);

// A fresh temporary directory under /tmp, removed by the caller.
std::string MakeTempDir();

// Standard base64 (RFC 4648, padded, one line): media in JSON bodies.
std::string Base64(const std::vector<uint8_t>& bytes);

}  // namespace takedown::testing
