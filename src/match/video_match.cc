#include "match/video_match.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>

#include "core/numbers.h"
#include "core/text.h"
#include "hash/digest.h"
#include "match/plane.h"

namespace takedown::match {
namespace {

// decode(want, on_frame, info, report): the video from a path or from memory.
template <typename Decode>
Result<VideoItem> HashDecoded(const VideoHashOptions& options, Decode decode) {
  VideoItem item;
  media::VideoInfo info;
  media::VideoReport report;
  hash::PdqHasher pdq;
  // Frames are sampled by time: k is a frame's time in milliseconds (media::VideoOptions::
  // stream_time), and the first frame at or after each multiple of `step` ms is taken: every frame
  // of a video up to the rate, and as evenly in time for a variable-rate one.
  const double rate = options.bank ? options.bank_rate : options.query_rate;
  const int64_t step =
      rate > 0 && std::isfinite(rate)
          ? std::max<int64_t>(1, static_cast<int64_t>(std::min(std::floor(1000 / rate), 1e9)))
          : 1000;
  int64_t next = 0;
  auto want = [&](int64_t k) {
    if (k < next) return false;
    next = (k / step + 1) * step;
    return true;
  };
  // Upload side: the first kMotionFrames samples' planes are kept until the moving region is
  // found from them (MotionBox); then every frame gets its probe.
  std::vector<LumaPlane> first;
  std::optional<Rect> moving;
  bool motion_known = options.bank;
  auto find_motion = [&] {
    motion_known = true;
    moving = MotionBox(first);
    if (moving) {
      for (size_t k = 0; k < first.size(); ++k)
        item.frames[k].motion = HashPlaneRect(first[k], *moving);
    }
    first.clear();
  };
  auto on_frame = [&](const media::VideoFrame& f) {
    LumaPlane plane;
    item.frames.push_back(
        HashVideoFrame(*f.image, f.seconds, options.bank, pdq, options.bank ? nullptr : &plane));
    if (options.bank) return;
    if (!motion_known) {
      first.push_back(std::move(plane));
      if (first.size() >= static_cast<size_t>(kMotionFrames)) find_motion();
    } else if (moving && moving->x + moving->w <= plane.width &&
               moving->y + moving->h <= plane.height) {  // (a size change mid-stream: none)
      item.frames.back().motion = HashPlaneRect(plane, *moving);
    }
  };
  media::VideoOptions video = options.video;
  video.stream_time = true;
  TD_RETURN_IF_ERROR(decode(video, want, on_frame, &info, &report));
  if (!motion_known) find_motion();
  item.fps = info.fps;
  item.duration =
      report.end_seconds > 0 ? report.end_seconds : static_cast<double>(report.frames) / info.fps;
  return item;
}

// Slack of the clip rule's offset, in seconds: half a second for where the query's sample falls
// among the bank's frames, and kClipSpeed of the stretch's length for a speed change (bank time
// advancing 1.25x as fast as the query's, or 0.8x, drifts by a quarter of the stretch; the offset
// tried is a frame's own, so half of that either way).
constexpr double kClipSampleSlack = 0.5;
constexpr double kClipSpeed = 0.125;
constexpr size_t kClipOffsets = 64;
// How far from a video's start or end a clip may begin or end and still be at that edge, beyond
// one sampling interval: intros fade in from black, end cards out to it (frames below the quality
// gate).
constexpr double kEdgeSlack = 2.0;

struct Clip {
  double seconds = 0, from = 0, to = 0, bank_from = 0, bank_to = 0;
  double offset = 0;  // the last window's (bank time minus query time)
};

// The clip rule over one bank video's matches. times: the query's usable frames (ascending);
// offsets[k]: bank time minus query time of each match of frame k (ascending, empty when it
// matched nothing; the caller skips a video with fewer than clip_min_frames matched frames);
// step: the query's sampling interval. Every run of overlapping windows that each pass the rule at
// about the same offset, each from its first frame matching at the window's offset to its last, in
// query order.
std::vector<Clip> FindClips(const std::vector<double>& times,
                            const std::vector<std::vector<double>>& offsets, double step,
                            const VideoMatchOptions& o) {
  std::vector<Clip> runs;
  Clip run;
  const size_t n = times.size();
  if (o.clip_seconds <= 0 || n == 0) return runs;
  std::vector<int> matched(n + 1, 0);
  for (size_t k = 0; k < n; ++k) matched[k + 1] = matched[k] + (offsets[k].empty() ? 0 : 1);
  auto coheres = [&](size_t k, double d, double tol) {
    const auto& v = offsets[k];
    auto it = std::lower_bound(v.begin(), v.end(), d - tol);
    return it != v.end() && *it <= d + tol;
  };
  bool in_run = false;
  size_t b = 0;
  for (size_t a = 0; a < n; ++a) {
    b = std::max(b, a);
    while (b < n && times[b] - times[a] + step < o.clip_seconds - 1e-9) ++b;
    if (b >= n) break;
    const int frames = static_cast<int>(b - a + 1);
    const int need =
        std::max({1, o.clip_min_frames,
                  static_cast<int>(std::ceil(o.clip_percent / 100.0 * frames - 1e-9))});
    if (matched[b + 1] - matched[a] < need) continue;
    const double span = times[b] - times[a] + step;
    const double tol = kClipSampleSlack + kClipSpeed * span;
    auto passes = [&](double d) {
      int coherent = 0;
      for (size_t j = a; j <= b; ++j) coherent += coheres(j, d, tol) ? 1 : 0;
      return coherent >= need;
    };
    // Candidates: every offset a frame of the window matched at (a quarter-second apart). Outside
    // a run, the first that passes; inside one, the run's own offset when it still passes, else
    // the passing candidate nearest to it -- repeated content (a still, a loop) passes at many
    // offsets, and each frame keeps only kClipOffsets of them, so the run's offset can drop out
    // while a near one still passes.
    std::optional<double> found;
    if (in_run && passes(run.offset)) found = run.offset;
    const bool nearest = in_run && !found;  // every candidate is looked at
    for (size_t k = a; k <= b && (nearest || !found); ++k) {
      double last = -1e18;
      for (const double d : offsets[k]) {
        if (d - last < 0.25) continue;
        last = d;
        if (found && std::abs(d - run.offset) >= std::abs(*found - run.offset)) continue;
        if (passes(d)) {
          found = d;
          if (!nearest) break;
        }
      }
    }
    if (!found) continue;
    // The window's stretch is from its first frame that matches at the offset to its last.
    size_t first = a, last = b;
    while (!coheres(first, *found, tol)) ++first;
    while (!coheres(last, *found, tol)) --last;
    const double from = times[first], to = times[last] + step;
    // A window continues the run when it overlaps it at about the same offset (a speed change
    // drifts it a little from window to window); at another offset it is another part of the
    // bank video -- a copied stretch right after a shared intro is not part of the intro.
    if (in_run && from <= run.to && std::abs(*found - run.offset) <= tol) {
      run.to = std::max(run.to, to);
      run.bank_to = std::max(run.bank_to, to + *found);
    } else {
      if (in_run) runs.push_back(run);
      run = {0, from, to, from + *found, to + *found, *found};
      in_run = true;
    }
    run.offset = *found;
    run.seconds = run.to - run.from;
  }
  if (in_run) runs.push_back(run);
  return runs;
}

// A clip at the same edge of both videos -- from the start of each, or to the end of each --
// and shorter than edge_clip_seconds: what a channel's intro or a platform's end card looks like
// in two unrelated videos that both carry it. The query's edge allows for a fade from or to black
// (unusable frames) and one sampling interval; the bank video's, the same seconds.
bool AtSharedEdge(const Clip& c, double query_duration, double bank_duration, double step,
                  const VideoMatchOptions& o) {
  if (o.edge_clip_seconds <= 0 || c.seconds >= o.edge_clip_seconds) return false;
  const double slack = kEdgeSlack + step;
  const bool starts = c.from <= slack && c.bank_from <= slack;
  // The end needs both durations (0: unknown, as for some hash-list lines: only the start counts).
  const bool ends = query_duration > 0 && bank_duration > 0 && c.to >= query_duration - slack &&
                    c.bank_to >= bank_duration - slack;
  return starts || ends;
}

}  // namespace

Result<VideoItem> HashVideoForMatching(const std::string& path, const VideoHashOptions& options) {
  TD_ASSIGN_OR_RETURN(auto item,
                      HashDecoded(options, [&](const media::VideoOptions& video, const auto& want,
                                               const auto& on_frame, media::VideoInfo* info,
                                               media::VideoReport* report) {
                        return media::DecodeVideo(path, video, want, on_frame, info, report);
                      }));
  TD_ASSIGN_OR_RETURN(auto digests, hash::DigestFile(path));
  item.sha256 = digests.sha256;
  return item;
}

Result<VideoItem> HashVideoBytesForMatching(std::span<const uint8_t> bytes,
                                            const VideoHashOptions& options) {
  TD_ASSIGN_OR_RETURN(auto item,
                      HashDecoded(options, [&](const media::VideoOptions& video, const auto& want,
                                               const auto& on_frame, media::VideoInfo* info,
                                               media::VideoReport* report) {
                        return media::DecodeVideoBytes(bytes, video, want, on_frame, info, report);
                      }));
  item.sha256 = hash::Sha256Hex(bytes);
  return item;
}

VideoItem VideoItemFromVpdq(const std::vector<hash::VpdqFrame>& frames, double fps,
                            double duration) {
  VideoItem v;
  v.fps = fps;
  for (const auto& f : frames) {
    VideoFrameSignals s;
    s.seconds = f.seconds;
    s.pdq = {f.hash, f.quality};
    s.norm.quality = 0;  // not known: never indexed or probed
    v.frames.push_back(s);
  }
  if (duration > 0) {
    v.duration = duration;
  } else if (!frames.empty()) {
    const size_t n = frames.size();
    const double step = n > 1 ? frames[n - 1].seconds - frames[n - 2].seconds : 1.0;
    v.duration = frames[n - 1].seconds + (step > 0 ? step : 1.0);
  }
  return v;
}

Result<VideoItem> VideoItemFromHashLine(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("vpdq") || !j["vpdq"].is_array())
    return InvalidArgument("a video needs a \"vpdq\" list of \"pdqhex,quality,seconds\" strings");
  std::vector<hash::VpdqFrame> frames;
  for (size_t i = 0; i < j["vpdq"].size(); ++i) {
    const auto& e = j["vpdq"][i];
    const std::string where = fmt::format("\"vpdq\"[{}]", i);
    if (!e.is_string()) return InvalidArgument(where + ": not a \"pdqhex,quality,seconds\" string");
    const std::string& s = e.get_ref<const std::string&>();
    const size_t a = s.find(','), b = a == std::string::npos ? a : s.find(',', a + 1);
    if (b == std::string::npos || s.find(',', b + 1) != std::string::npos)
      return InvalidArgument(where + ": not a \"pdqhex,quality,seconds\" string");
    hash::VpdqFrame f;
    f.number = static_cast<int64_t>(i);
    auto h = hash::Hash256::FromHex(s.substr(0, a));
    if (!h.ok()) return h.status().WithContext(where);
    f.hash = *h;
    TD_ASSIGN_OR_RETURN(auto q, ParseInt64(s.substr(a + 1, b - a - 1), where + " quality", 0, 100));
    f.quality = static_cast<int>(q);
    TD_ASSIGN_OR_RETURN(
        f.seconds, ParseDecimal(s.substr(b + 1), where + " seconds", 0, hash::kMaxVpdqSeconds));
    frames.push_back(f);
  }
  if (frames.empty()) return InvalidArgument("\"vpdq\": no frames");
  auto number = [&](const char* key, double max) -> Result<double> {
    if (!j.contains(key) || j[key].is_null()) return 0.0;
    if (!j[key].is_number() || !(j[key].get<double>() >= 0) || j[key].get<double>() > max)
      return InvalidArgument(fmt::format("\"{}\" must be a number 0..{}", key, max));
    return j[key].get<double>();
  };
  TD_ASSIGN_OR_RETURN(const double fps, number("fps", 1000));
  TD_ASSIGN_OR_RETURN(const double duration, number("duration", hash::kMaxVpdqSeconds));
  VideoItem v = VideoItemFromVpdq(frames, fps, duration);
  if (j.contains("sha256") && !j["sha256"].is_null()) {
    const auto& d = j["sha256"];
    v.sha256 = d.is_string() ? AsciiLower(d.get<std::string>()) : "";
    if (!IsLowerHex(v.sha256, 64)) return InvalidArgument("\"sha256\" must be 64 hex digits");
  }
  return v;
}

void VideoMatcher::Add(const VideoItem& item) {
  const uint64_t n = items_.size();
  items_.push_back(item);
  const auto& frames = items_.back().frames;
  for (uint32_t f = 0; f < frames.size(); ++f) {
    const auto& s = frames[f];
    if (s.pdq.quality < options_.min_quality && s.norm.quality < options_.min_quality) continue;
    auto add = [&](const hash::Hash256& h) {
      ids_.push_back(refs_.size());
      hashes_.push_back(h);
      refs_.push_back({n, f});
    };
    if (s.pdq.quality >= options_.min_quality) add(s.pdq.hash);
    if (s.norm.quality >= options_.min_quality) {
      add(s.norm.hash);
      add(s.norm_mirror);
    }
    if (s.box && s.box->quality >= options_.min_quality) add(s.box->hash);
    for (const auto& c : s.norm_crops) {
      if (c.quality >= options_.min_quality) add(c.hash);
    }
  }
}

void VideoMatcher::Build() {
  index::HashIndex::Options o;
  o.background = false;
  index_ = std::move(index::HashIndex::Build(hashes_, ids_, o).value());
}

std::vector<VideoMatch> VideoMatcher::Match(const VideoItem& q) const {
  // For each bank video: which query frames matched, which bank frames, the offsets in time of
  // each usable query frame's matches (for the clip rule), best distance.
  // Frame numbers seen, as a bitmap: a still upload against a still bank video meets every bank
  // frame from every probe of every frame (millions of repeats), where a tree's inserts were the
  // largest part of Match.
  struct FrameSet {
    std::vector<bool> seen;
    size_t count = 0;
    uint32_t first = UINT32_MAX, last = 0;
    void Insert(uint32_t f, size_t frames) {
      if (seen.empty()) seen.resize(frames);
      if (seen[f]) return;
      seen[f] = true;
      ++count;
      first = std::min(first, f);
      last = std::max(last, f);
    }
    bool Has(uint32_t f) const { return f < seen.size() && seen[f]; }
  };
  struct Acc {
    FrameSet query_frames, bank_frames;
    // By the query frame's place in `usable`; sparse, since most bank videos meet few frames.
    std::map<uint32_t, std::vector<double>> offsets;
    int best = 256;
  };
  std::map<uint64_t, Acc> acc;
  // The usable query frames in time order.
  std::vector<uint32_t> usable;
  for (uint32_t i = 0; i < q.frames.size(); ++i) {
    const auto& f = q.frames[i];
    if (f.pdq.quality >= options_.min_quality || f.norm.quality >= options_.min_quality)
      usable.push_back(i);
  }
  std::stable_sort(usable.begin(), usable.end(), [&](uint32_t x, uint32_t y) {
    return q.frames[x].seconds < q.frames[y].seconds;
  });
  for (size_t k = 0; k < usable.size(); ++k) {
    const uint32_t i = usable[k];
    const auto& f = q.frames[i];
    auto probe = [&](const hash::PdqHash& h) {
      if (h.quality < options_.min_quality) return;
      uint64_t last_item = UINT64_MAX;
      Acc* a_ptr = nullptr;
      std::vector<double>* offsets_ptr = nullptr;
      for (const auto& m : index_->Query(h.hash, options_.frame_threshold)) {
        const FrameRef& r = refs_[m.id];
        if (r.item != last_item) {  // a probe's matches are mostly of one bank video
          last_item = r.item;
          a_ptr = &acc[r.item];
          offsets_ptr = &a_ptr->offsets[static_cast<uint32_t>(k)];
        }
        Acc& a = *a_ptr;
        a.query_frames.Insert(i, q.frames.size());
        a.bank_frames.Insert(r.frame, items_[r.item].frames.size());
        a.best = std::min<int>(a.best, m.distance);
        // A tenth of a second apart, at most kClipOffsets a frame: memory stays bounded when a
        // still frame matches a whole still bank video (such a copy matches by query% anyway).
        auto& offsets = *offsets_ptr;
        const double d = std::round((items_[r.item].frames[r.frame].seconds - f.seconds) * 10) / 10;
        if (offsets.size() < kClipOffsets &&
            std::find(offsets.begin(), offsets.end(), d) == offsets.end())
          offsets.push_back(d);
      }
    };
    probe(f.pdq);
    probe(f.norm);
    if (f.norm_mirror != hash::Hash256{}) probe({f.norm_mirror, f.norm.quality});
    if (f.box) probe(*f.box);
    if (f.motion) probe(*f.motion);
    for (const auto& c : f.probes) probe(c);
  }
  const size_t usable_count = usable.size();
  std::vector<double> times;
  for (const uint32_t i : usable) times.push_back(q.frames[i].seconds);
  // The query's sampling interval: the median gap between its frames (1 s when unknown).
  double step = 1.0;
  if (q.frames.size() >= 2) {
    std::vector<double> gaps;
    for (size_t i = 1; i < q.frames.size(); ++i)
      gaps.push_back(std::abs(q.frames[i].seconds - q.frames[i - 1].seconds));
    std::nth_element(gaps.begin(), gaps.begin() + gaps.size() / 2, gaps.end());
    if (gaps[gaps.size() / 2] > 0) step = gaps[gaps.size() / 2];
  }
  std::vector<VideoMatch> out;
  for (auto& [item, a] : acc) {
    const VideoItem& b = items_[item];
    VideoMatch m;
    m.item = item;
    m.best_distance = a.best;
    m.query_percent = usable_count == 0 ? 0 : 100.0 * a.query_frames.count / usable_count;
    // Coverage of the bank video on a one-second grid, over the grid points it has usable frames
    // for.
    std::vector<double> matched, have;
    for (uint32_t f = 0; f < b.frames.size(); ++f) {
      const auto& s = b.frames[f];
      if (s.pdq.quality >= options_.min_quality || s.norm.quality >= options_.min_quality)
        have.push_back(s.seconds);
      if (a.bank_frames.Has(f)) matched.push_back(s.seconds);
    }
    // Grid points stand for the second around them; only those inside the video count (a
    // final point at the very end would ask for a sample the query cannot have).
    // Only the points near a usable frame are visited (a long video with few frames costs its
    // frames, not its seconds). In time order: a hash list's frames may come in any order.
    std::sort(have.begin(), have.end());
    std::sort(matched.begin(), matched.end());
    int grid = 0, covered = 0;
    int64_t done = -1;  // the last grid point counted
    for (const double h : have) {
      for (auto k = std::max<int64_t>(done + 1, std::llround(std::ceil(h - 0.5)));
           static_cast<double>(k) <= h + 0.5; ++k) {
        const double t = static_cast<double>(k);
        if (k != 0 && t + 0.5 > b.duration + 1e-9) break;
        done = k;
        ++grid;
        auto it = std::lower_bound(matched.begin(), matched.end(), t - 0.5);
        covered += it != matched.end() && *it <= t + 0.5 ? 1 : 0;
      }
    }
    m.compared_percent = grid == 0 ? 0 : 100.0 * covered / grid;
    m.query_from = q.frames[a.query_frames.first].seconds;
    m.query_to = q.frames[a.query_frames.last].seconds;
    m.bank_from = b.frames[a.bank_frames.first].seconds;
    m.bank_to = b.frames[a.bank_frames.last].seconds;
    Clip clip;
    if (a.offsets.size() >= static_cast<size_t>(std::max(1, options_.clip_min_frames))) {
      std::vector<std::vector<double>> dense(usable_count);
      for (auto& [k, v] : a.offsets) {
        std::sort(v.begin(), v.end());
        dense[k] = std::move(v);
      }
      // The longest clip counts, unless it is only a shared intro or outro: those are set aside
      // (reported, never a match by themselves).
      for (const Clip& c : FindClips(times, dense, step, options_)) {
        if (AtSharedEdge(c, q.duration, b.duration, step, options_)) {
          if (c.seconds > m.edge_clip_seconds) {
            m.edge_clip_seconds = c.seconds;
            m.edge_clip_from = c.from;
            m.edge_clip_to = c.to;
            m.edge_clip_bank_from = c.bank_from;
          }
        } else if (c.seconds > clip.seconds) {
          clip = c;
        }
      }
    }
    m.clip_seconds = clip.seconds;
    m.clip_from = clip.from;
    m.clip_to = clip.to;
    m.clip_bank_from = clip.bank_from;
    m.match = m.query_percent >= options_.match_percent ||
              m.compared_percent >= options_.match_percent || clip.seconds > 0;
    out.push_back(m);
  }
  std::sort(out.begin(), out.end(), [](const VideoMatch& x, const VideoMatch& y) {
    return std::max(x.query_percent, x.compared_percent) >
           std::max(y.query_percent, y.compared_percent);
  });
  return out;
}

}  // namespace takedown::match
