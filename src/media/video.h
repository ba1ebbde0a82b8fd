// Video decoding through FFmpeg (libavformat, libavcodec, libswscale): every frame in decode
// order, numbered from 0 as the decoder returns them (the vPDQ reference's numbering), with the
// frames the caller wants converted to RGB24 (swscale SWS_AREA, as the reference does) or handed
// over as their luma plane.
//
// Deliberate choices (README, "Video"):
//  - Frame rate: the stream's average frame rate, else its real base frame rate (as vPDQ);
//    frame times are frame_number / fps, not the container's pts (the reference's timeline), so
//    that a variable frame rate or broken timestamps cannot reorder or lose frames -- unless the
//    caller asks for stream time (VideoOptions::stream_time: video matching), which follows the
//    timestamps and treats broken ones as discontinuities.
//  - Rotation side data (phones): reported in VideoInfo and applied to converted frames, so a
//    portrait video is hashed upright (conformant mode ignores it, like the reference).
//  - Corrupt packets: decoding goes on; frames the decoder rejects are counted in the report.
//  - Limits: pixels per frame and file size (checked before decoding), decoded frames and wall
//    time (checked as it goes; the result says the video was cut short).
// Thread-compatible; one decoder per call.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"
#include "media/decode.h"
#include "media/image.h"

namespace takedown::media {

struct VideoInfo {
  std::string container;  // "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "gif", ...
  std::string codec;      // "h264", "vp9", ...
  int width = 0, height = 0;
  double fps = 0;
  double duration_s = 0;  // from the container, 0 when unknown
  int rotation = 0;       // degrees clockwise the picture must turn to be upright
};

struct VideoOptions {
  DecodeLimits limits;
  uint64_t max_frames = 2'000'000;  // ~18 h at 30 fps
  double max_wall_seconds = 1800;
  int threads = 0;     // decoder threads; 0: FFmpeg's choice
  int frame_size = 0;  // convert to frame_size x frame_size (vPDQ's forced size)
  bool luma = false;   // hand over the luma plane (kGray8) instead of RGB24
  bool apply_rotation = false;
  // Only decode reference frames (and the frames wanted among them): faster for sparse sampling.
  bool skip_nonref = false;
  // Decode only keyframe packets (each decodes on its own), at most one per keyframe_interval
  // seconds: the fast mode for sweeping volumes. Frame numbers then come from timestamps
  // (round(t * fps)), and want() is not consulted.
  bool keyframes_only = false;
  double keyframe_interval = 1.0;
  // Frame times from the frames' own timestamps (from the first one's) instead of number / fps:
  // a variable-frame-rate video -- a phone's in low light, a screen recording, a GIF made into a
  // video, an AVI that skips frames -- keeps its real timeline, as a copy re-encoded at a constant
  // rate has it. A timestamp that goes back or jumps more than 30 s past the frame before (joined
  // streams whose timestamps restart, a corrupt one) is a discontinuity: that frame comes a frame
  // interval on and what follows keeps its own spacing; so does a frame without a timestamp.
  // Times stay within a week. An animated WebP frame shown 10 ms or less counts as 100 ms.
  // want(k) is then asked with k = the frame's time in milliseconds (increasing): a caller sampling
  // by time takes the first frame at or after each point it wants. The vPDQ reference counts
  // frames (number / fps): its conformant hashes leave this off.
  bool stream_time = false;
};

struct VideoFrame {
  int64_t number = 0;  // 0-based, in decode output order
  double seconds = 0;  // number / fps, or the frame's timestamp (VideoOptions::stream_time)
  const Image* image = nullptr;
};

struct VideoReport {
  int64_t frames = 0;      // frames the decoder returned
  double end_seconds = 0;  // where the last of them ends: its time plus its duration (fast mode:
                           // the last keyframe's time plus the interval)
  int64_t corrupt_packets = 0;  // packets or frames the decoder rejected or flagged
  bool truncated_by_limit = false;
  std::vector<std::string> warnings;
};

// Frame times from timestamps (VideoOptions::stream_time). A timestamp counts from an anchor (the
// first one seen). One that advances (by at most kMaxFrameGap) is the frame's time. One that does
// not advance but is at most kMaxStepBack behind (reordering jitter, a stopped clock) keeps the
// frame with the one before, for up to kMaxStuck frames in a row; after that, and for a frame
// without a timestamp, frames step on by the frame interval (1/fps, within 1 ms..1 s). One
// further back or further ahead -- streams joined end to end whose timestamps restart, a corrupt
// far-future timestamp, a first frame's bogus one -- is a discontinuity: the frame comes an
// interval on and the anchor moves with it, so what follows keeps its own spacing. Times and ends
// stay within a week (the longest a hash list's video may be).
class StreamClock {
 public:
  static constexpr double kMaxFrameGap = 30;
  static constexpr double kMaxStepBack = 1;
  static constexpr int kMaxStuck = 8;
  static constexpr double kMaxSeconds = 7 * 24 * 3600;
  explicit StreamClock(double fps);
  // ts: the frame's timestamp in seconds (NaN: none); duration: how long it shows (<= 0 or NaN:
  // unknown, an interval). Returns the frame's time.
  double Next(double ts, double duration);
  double end() const { return end_; }  // where the last frame ends

 private:
  double interval_;
  double anchor_ = 0, last_ = -1, end_ = 0;
  bool anchored_ = false;
  int stuck_ = 0;
};

// Decodes the video at `path`. want(n) says whether frame n is converted and passed to
// on_frame (others are decoded, not converted). Errors: not a video, no video stream, no
// decoder, over a limit before decoding, or nothing decodable at all.
Status DecodeVideo(const std::string& path, const VideoOptions& options,
                   const std::function<bool(int64_t)>& want,
                   const std::function<void(const VideoFrame&)>& on_frame, VideoInfo* info,
                   VideoReport* report);

// The same for a video in memory (the service's uploads and evidence, a sandboxed worker's job):
// read through FFmpeg's custom I/O, never written to a file.
Status DecodeVideoBytes(std::span<const uint8_t> bytes, const VideoOptions& options,
                        const std::function<bool(int64_t)>& want,
                        const std::function<void(const VideoFrame&)>& on_frame, VideoInfo* info,
                        VideoReport* report);

// True when the file's first bytes look like a container FFmpeg reads as video (not a still
// image): used to route `takedown hash` inputs.
bool LooksLikeVideo(const std::string& path);
bool LooksLikeVideoBytes(std::span<const uint8_t> bytes);

}  // namespace takedown::media
