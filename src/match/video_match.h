// Matching videos: which bank videos an uploaded video copies, by how much, and where.
//
// Per PDQ.md, frames of quality < 50 are dropped; query% is the share of the query's frames that
// match some frame of the bank video, compared% the share of the bank video covered by matches.
// A match is declared when either reaches match_percent (80 by default), or when the query holds a
// clip of the bank video: a stretch of at least clip_seconds (5) of the query in which at least
// clip_percent (80%) of its usable frames, and at least clip_min_frames (4) of them, match the
// bank video at one offset in time (bank times advance with the query's: a speed change up to
// 1.25x stays within the slack). A clip of a few seconds inside a longer, unrelated video reaches
// neither percentage, since most of the query is something else and most of the bank video is
// not in it. A clip at the same edge of both videos (the start of each, or the end of each) shorter
// than edge_clip_seconds (15) is what a shared intro or end card looks like, and is set aside.
//
// Unlike the reference (one hash a second on both sides, so fast motion lands on different
// moments), bank videos are sampled densely (up to 30 frames a second: every frame of most videos)
// and uploads at one a second; the bank's coverage is counted on a one-second grid (a grid point is
// covered when a matched bank frame lies within half a second of it). Per frame, a match is any of:
// plain PDQ within frame_threshold; the frame area-averaged to 64 x 64 ("norm"), also against the
// bank frame mirrored and against its centre crops of 95% down to 50% in 5% steps, which the
// upload's frame also meets cropped a little further (98% to 92%: kVideoProbeCrops), so a copy
// cropped by any amount from 2 to 25% a side meets one; the frame's content box (letterbox,
// pillarbox, borders removed). Every signal of the upload's frame is probed against every signal
// of the bank's, and the upload's mirrored norm too: a video known only by its frames' plain PDQs
// (a vPDQ list: no mirror, crops or box of its own) is still met by a mirrored, letterboxed or
// bordered copy through the upload's mirror and box. A whole bank video inside a longer one is
// found by compared% (the bank video is covered) and reported with the time range it occupies in
// the query; a part of it by the clip rule, with the stretch it occupies.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "hash/pdq.h"
#include "hash/vpdq.h"
#include "index/hash_index.h"
#include "match/video_frame.h"
#include "media/video.h"

namespace takedown::match {

struct VideoItem {
  std::vector<VideoFrameSignals> frames;
  double fps = 0;
  double duration = 0;  // seconds covered by the decoded frames
  std::string sha256;
};

struct VideoHashOptions {
  bool bank = false;      // dense sampling and the centre crops
  double bank_rate = 30;  // frames a second for bank videos (every frame up to 30 fps)
  double query_rate = 1;  // frames a second for uploads
  media::VideoOptions video;
};

Result<VideoItem> HashVideoForMatching(const std::string& path, const VideoHashOptions& options);

// A video of a hash list: its vPDQ frames only (plain PDQ, no norm, crops or box), matched by the
// upload's plain PDQ. duration <= 0: the last frame's time plus the step before it.
VideoItem VideoItemFromVpdq(const std::vector<hash::VpdqFrame>& frames, double fps,
                            double duration);
// A video line of `takedown hash --format jsonl` ("vpdq": ["pdqhex,quality,seconds", ...], with
// optional fps, duration and sha256): every number read whole, errors naming the frame.
Result<VideoItem> VideoItemFromHashLine(const nlohmann::json& j);
// The same for a video in memory (never written to a file).
Result<VideoItem> HashVideoBytesForMatching(std::span<const uint8_t> bytes,
                                            const VideoHashOptions& options);

struct VideoMatchOptions {
  int frame_threshold = 31;
  int min_quality = 50;
  double match_percent = 80;
  // The clip rule (0 seconds turns it off).
  double clip_seconds = 5;
  double clip_percent = 80;
  int clip_min_frames = 4;
  // A clip shorter than this at the same edge of both videos (from the start of each, or to the
  // end of each, within 2 s and a sampling interval) is a shared intro or outro -- a channel's
  // opening, a platform's end card -- not a copy: it is set aside (VideoMatch::edge_clip_seconds)
  // and never a match by itself. The end is judged by each item's duration: an item without one
  // (0) is judged by its start alone, and one cut short by the decoder's limits ends where the
  // decoding stopped. The price: the first (or last) seconds of a bank video at the
  // start (or end) of an otherwise unrelated upload are not found by the clip rule either, up to
  // this length. 0: off (every clip counts).
  double edge_clip_seconds = 15;
};

struct VideoMatch {
  uint64_t item = 0;
  double query_percent = 0;             // of the query's frames matched
  double compared_percent = 0;          // of the bank video covered
  double query_from = 0, query_to = 0;  // where the matching frames are in the query
  double bank_from = 0, bank_to = 0;    // and in the bank video
  int best_distance = 256;
  // The longest stretch of the query that passes the clip rule at one offset (speed changes
  // drifting it a little) and is not set aside as a shared intro or outro, from its first frame
  // matching at the rule's offset to its last (a little under the rule's seconds when a frame at
  // the edge of a window did not match), and where it starts in the bank video (clip_seconds 0:
  // none).
  double clip_seconds = 0;
  double clip_from = 0, clip_to = 0, clip_bank_from = 0;
  // The longest clip set aside as a shared intro or outro (VideoMatchOptions::edge_clip_seconds),
  // where it is in the query, and where it starts in the bank video. Not a match, but a possible
  // copy all the same (the bank video's own opening or ending at the same edge of the upload looks
  // the same): the gate reports it for the platform's review.
  double edge_clip_seconds = 0;
  double edge_clip_from = 0, edge_clip_to = 0, edge_clip_bank_from = 0;
  bool match = false;  // either percentage reached match_percent, or a clip was found
};

class VideoMatcher {
 public:
  explicit VideoMatcher(VideoMatchOptions options) : options_(options) {}
  void Add(const VideoItem& item);
  void Build();
  // Every bank video with at least one matching frame, strongest first; `match` says whether it
  // passes the rule.
  std::vector<VideoMatch> Match(const VideoItem& query) const;

 private:
  struct FrameRef {
    uint64_t item;
    uint32_t frame;
  };
  VideoMatchOptions options_;
  std::vector<VideoItem> items_;
  std::vector<hash::Hash256> hashes_;
  std::vector<uint64_t> ids_;
  std::vector<FrameRef> refs_;
  std::unique_ptr<index::HashIndex> index_;
};

}  // namespace takedown::match
