#include "hash/vpdq.h"

#include <fmt/format.h>

#include <cmath>
#include <sstream>

#include "core/numbers.h"
#include "hash/digest.h"
#include "hash/pdq.h"

namespace takedown::hash {

namespace {

// decode(vo, want, on_frame, info, report): the video from a path or from memory.
template <typename Decode>
Result<VideoSignals> HashDecoded(const VpdqOptions& options, Decode decode) {
  if (!(options.seconds_per_hash >= 0) || !std::isfinite(options.seconds_per_hash)) {
    return InvalidArgument("seconds per hash must be >= 0");
  }
  VideoSignals out;
  media::VideoOptions vo = options.video;
  vo.frame_size = options.frame_size;
  vo.luma = options.fast;
  vo.keyframes_only = options.fast;
  vo.keyframe_interval = options.seconds_per_hash;
  PdqHasher pdq;
  int64_t frame_mod = 1;
  bool mod_known = false;
  media::VideoInfo info;
  auto want = [&](int64_t n) {
    if (!mod_known) {
      // The decoder has opened by the first frame: fps is known.
      frame_mod = static_cast<int64_t>(options.seconds_per_hash * info.fps);
      if (frame_mod <= 0) frame_mod = 1;
      mod_known = true;
    }
    return n % frame_mod == 0;
  };
  auto on_frame = [&](const media::VideoFrame& f) {
    const PdqHash h = pdq.HashImage(*f.image, 0);
    out.frames.push_back({f.number, h.quality, h.hash, f.seconds});
  };
  // `info` must be filled before the first want(): DecodeVideo writes it before decoding.
  media::VideoInfo* info_ptr = &info;
  TD_RETURN_IF_ERROR(decode(vo, want, on_frame, info_ptr, &out.report));
  out.info = info;
  out.frame_mod = frame_mod;
  return out;
}

}  // namespace

Result<VideoSignals> HashVideoFile(const std::string& path, const VpdqOptions& options) {
  TD_ASSIGN_OR_RETURN(auto out,
                      HashDecoded(options, [&](const media::VideoOptions& vo, const auto& want,
                                               const auto& on_frame, media::VideoInfo* info,
                                               media::VideoReport* report) {
                        return media::DecodeVideo(path, vo, want, on_frame, info, report);
                      }));
  if (options.digests) {
    TD_ASSIGN_OR_RETURN(auto d, DigestFile(path));
    out.md5 = std::move(d.md5);
    out.sha256 = std::move(d.sha256);
  }
  return out;
}

Result<VideoSignals> HashVideoBytes(std::span<const uint8_t> bytes, const VpdqOptions& options) {
  TD_ASSIGN_OR_RETURN(auto out,
                      HashDecoded(options, [&](const media::VideoOptions& vo, const auto& want,
                                               const auto& on_frame, media::VideoInfo* info,
                                               media::VideoReport* report) {
                        return media::DecodeVideoBytes(bytes, vo, want, on_frame, info, report);
                      }));
  if (options.digests) {
    out.md5 = Md5Hex(bytes);
    out.sha256 = Sha256Hex(bytes);
  }
  return out;
}

std::string VpdqListFrame(const Hash256& hash, int quality, double seconds) {
  return fmt::format("{},{},{:.3f}", hash.ToHex(), quality, seconds);
}

std::string VpdqText(const VideoSignals& v) {
  std::string s;
  for (const auto& f : v.frames)
    s += fmt::format("{},{},{},{:.3f}\n", f.number, f.quality, f.hash.ToHex(), f.seconds);
  return s;
}

Result<std::vector<VpdqFrame>> ParseVpdqText(const std::string& text) {
  std::vector<VpdqFrame> out;
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::vector<std::string> f;  // every field, empty ones too
    for (size_t start = 0;;) {
      const size_t comma = line.find(',', start);
      f.push_back(line.substr(start, comma == std::string::npos ? comma : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (f.size() < 3 || f.size() > 4)
      return InvalidArgument(
          fmt::format("line {}: expected frameNumber,quality,pdqhex[,timestamp]", n));
    VpdqFrame fr;
    const std::string where = fmt::format("line {}: ", n);
    auto number = ParseInt64(f[0], where + "frame number", 0);
    if (!number.ok()) return number.status();
    auto quality = ParseInt64(f[1], where + "quality", 0, 100);
    if (!quality.ok()) return quality.status();
    fr.number = *number;
    fr.quality = static_cast<int>(*quality);
    if (f.size() > 3) {
      auto seconds = ParseDecimal(f[3], where + "timestamp", 0, kMaxVpdqSeconds);
      if (!seconds.ok()) return seconds.status();
      fr.seconds = *seconds;
    }
    auto h = Hash256::FromHex(f[2]);
    if (!h.ok()) return h.status().WithContext(fmt::format("line {}", n));
    fr.hash = *h;
    out.push_back(fr);
  }
  return out;
}

}  // namespace takedown::hash
