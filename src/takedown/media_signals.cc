// The signals of media bytes and their JSON forms: what the service stores, and what a sandboxed
// decoder worker computes and sends back. A library of its own (takedown_media_signals): the
// worker's entry point and its fuzz target need hashing, not the service.
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "hash/digest.h"
#include "hash/image_signals.h"
#include "hash/vpdq.h"
#include "intake/notice.h"
#include "match/signals.h"
#include "media/format.h"
#include "takedown/service.h"

namespace takedown::service {
namespace {

nlohmann::json PdqJson(const hash::PdqHash& h) { return match::PdqPairJson(h); }
Result<hash::PdqHash> PdqFrom(const nlohmann::json& j) {
  if (!j.is_array() || j.size() != 2 || !j[0].is_string() || !j[1].is_number_integer())
    return DataLoss("bad frame hash");
  TD_ASSIGN_OR_RETURN(auto h, hash::Hash256::FromHex(j[0].get<std::string>()));
  const int64_t q = j[1].get<int64_t>();
  if (q < 0 || q > 100) return DataLoss("bad frame hash: quality not 0..100");
  return hash::PdqHash{h, static_cast<int>(q)};
}

}  // namespace

nlohmann::json RobustToJson(const RobustImage& r) {
  nlohmann::json j = nlohmann::json::object();
  if (r.norm) j["norm"] = PdqJson(*r.norm);
  if (r.box) j["box"] = PdqJson(*r.box);
  if (!r.variants.empty()) {
    j["variants"] = nlohmann::json::array();
    for (const auto& v : r.variants) j["variants"].push_back(PdqJson(v));
  }
  if (!r.layers.empty()) {
    j["layers"] = nlohmann::json::array();
    for (const auto& v : r.layers) j["layers"].push_back(PdqJson(v));
  }
  for (const auto& [key, d] :
       {std::pair{"dihedral", &r.dihedral}, std::pair{"norm_dihedral", &r.norm_dihedral},
        std::pair{"box_dihedral", &r.box_dihedral}}) {
    if (!*d) continue;
    j[key] = nlohmann::json::array();
    for (const auto& h : **d) j[key].push_back(h.ToHex());
  }
  return j;
}

Result<std::shared_ptr<const RobustImage>> RobustFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return DataLoss("robust signals: not an object");
  auto r = std::make_shared<RobustImage>();
  if (j.contains("norm")) {
    TD_ASSIGN_OR_RETURN(r->norm, PdqFrom(j["norm"]));
  }
  if (j.contains("box")) {
    TD_ASSIGN_OR_RETURN(r->box, PdqFrom(j["box"]));
  }
  if (j.contains("variants")) {
    if (!j["variants"].is_array()) return DataLoss("robust signals: variants not a list");
    for (const auto& v : j["variants"]) {
      TD_ASSIGN_OR_RETURN(auto h, PdqFrom(v));
      r->variants.push_back(h);
    }
  }
  if (j.contains("layers")) {
    if (!j["layers"].is_array() || j["layers"].size() > kMaxLayers)
      return DataLoss(fmt::format("robust signals: layers not a list of at most {}", kMaxLayers));
    for (const auto& v : j["layers"]) {
      TD_ASSIGN_OR_RETURN(auto h, PdqFrom(v));
      r->layers.push_back(h);
    }
  }
  for (const auto& [key, out] :
       {std::pair{"dihedral", &r->dihedral}, std::pair{"norm_dihedral", &r->norm_dihedral},
        std::pair{"box_dihedral", &r->box_dihedral}}) {
    if (!j.contains(key)) continue;
    const auto& d = j[key];
    if (!d.is_array() || d.size() != hash::pdq::kDihedralCount)
      return DataLoss(fmt::format("robust signals: {} not a list of 8 hashes", key));
    hash::DihedralHashes dh;
    for (size_t k = 0; k < dh.size(); ++k) {
      if (!d[k].is_string())
        return DataLoss(fmt::format("robust signals: a {} hash is not a string", key));
      auto h = hash::Hash256::FromHex(d[k].get<std::string>());
      if (!h.ok())
        return DataLoss(fmt::format("robust signals: {}: {}", key, h.status().message()));
      dh[k] = *h;
    }
    *out = dh;
  }
  return std::shared_ptr<const RobustImage>(std::move(r));
}

nlohmann::json VideoToJson(const match::VideoItem& v) {
  nlohmann::json frames = nlohmann::json::array();
  for (const auto& f : v.frames) frames.push_back(match::FrameToJson(f));
  return {{"fps", v.fps}, {"duration", v.duration}, {"sha256", v.sha256}, {"frames", frames}};
}

Result<std::shared_ptr<const match::VideoItem>> VideoFromJson(const nlohmann::json& j) {
  auto v = std::make_shared<match::VideoItem>();
  if (!j.is_object() || !j.contains("frames") || !j["frames"].is_array())
    return DataLoss("video signals: no frames");
  // Each value of its type or refused (nlohmann's value() throws on a mismatch).
  for (const char* k : {"fps", "duration"}) {
    if (j.contains(k) && !j[k].is_number())
      return DataLoss(fmt::format("video signals: {}: not a number", k));
  }
  if (j.contains("sha256") && !j["sha256"].is_string())
    return DataLoss("video signals: sha256: not a string");
  v->fps = j.value("fps", 0.0);
  v->duration = j.value("duration", 0.0);
  v->sha256 = j.value("sha256", std::string());
  // A problem names its frame and field ("video signals: frames[41].crops[2]: ..."): an operator
  // fixing a long hash list's line finds it.
  const auto& frames = j["frames"];
  for (size_t i = 0; i < frames.size(); ++i) {
    const auto& f = frames[i];
    auto at = [&](const std::string& field, std::string_view why) {
      return DataLoss(fmt::format("video signals: frames[{}]{}{}: {}", i, field.empty() ? "" : ".",
                                  field, why));
    };
    auto pdq = [&](const std::string& field, const nlohmann::json& x) -> Result<hash::PdqHash> {
      auto h = PdqFrom(x);
      if (!h.ok()) return at(field, h.status().message());
      return h;
    };
    // A frame's list of at most `most` hashes (its centre crops, an upload's probes).
    auto pdqs = [&](const char* field, size_t most, std::vector<hash::PdqHash>* out) -> Status {
      const auto& list = f[field];
      if (!list.is_array() || list.size() > most)
        return at(field, fmt::format("not a list of at most {} hashes", most));
      for (size_t k = 0; k < list.size(); ++k) {
        TD_ASSIGN_OR_RETURN(auto h, pdq(fmt::format("{}[{}]", field, k), list[k]));
        out->push_back(h);
      }
      return Status::Ok();
    };
    if (!f.is_object()) return at("", "not an object");
    if (f.contains("t") && !f["t"].is_number()) return at("t", "not a number");
    match::VideoFrameSignals s;
    s.seconds = f.value("t", 0.0);
    TD_ASSIGN_OR_RETURN(s.pdq, pdq("pdq", f.value("pdq", nlohmann::json())));
    TD_ASSIGN_OR_RETURN(s.norm, pdq("norm", f.value("norm", nlohmann::json())));
    if (f.contains("mirror")) {
      if (!f["mirror"].is_string()) return at("mirror", "not a hash string");
      auto m = hash::Hash256::FromHex(f["mirror"].get<std::string>());
      if (!m.ok()) return at("mirror", m.status().message());
      s.norm_mirror = *m;
    }
    if (f.contains("crop")) {  // stored before the crops came in several sizes: the 80% one
      TD_ASSIGN_OR_RETURN(auto c, pdq("crop", f["crop"]));
      s.norm_crops.push_back(c);
    }
    if (f.contains("crops"))
      TD_RETURN_IF_ERROR(pdqs("crops", std::size(match::kVideoCrops), &s.norm_crops));
    // An upload's; stored before they came, a video has none.
    if (f.contains("probes"))
      TD_RETURN_IF_ERROR(pdqs("probes", std::size(match::kVideoProbeCrops), &s.probes));
    if (f.contains("box")) {
      TD_ASSIGN_OR_RETURN(s.box, pdq("box", f["box"]));
    }
    if (f.contains("motion")) {  // an upload's moving region
      TD_ASSIGN_OR_RETURN(s.motion, pdq("motion", f["motion"]));
    }
    v->frames.push_back(s);
  }
  return std::shared_ptr<const match::VideoItem>(std::move(v));
}

bool IsVideoLine(const nlohmann::json& line) {
  return line.is_object() && (line.contains("vpdq") || line.contains("video") ||
                              (line.contains("type") && line["type"] == "video"));
}

Result<std::shared_ptr<const match::VideoItem>> VideoFromListLine(const nlohmann::json& line) {
  if (!line.contains("video")) {
    TD_ASSIGN_OR_RETURN(auto v, match::VideoItemFromHashLine(line));
    if (v.frames.size() > kMaxListVideoFrames)
      return ResourceExhausted(fmt::format("\"vpdq\": more than {} frames", kMaxListVideoFrames));
    return std::make_shared<const match::VideoItem>(std::move(v));
  }
  Result<std::shared_ptr<const match::VideoItem>> v = InvalidArgument("not read");
  try {
    v = VideoFromJson(line["video"]);
  } catch (const nlohmann::json::exception&) {
    v = InvalidArgument("a field has the wrong type");
  }
  if (!v.ok()) return InvalidArgument(fmt::format("\"video\": {}", v.status().message()));
  const auto& item = **v;
  if (item.frames.empty()) return InvalidArgument("\"video\": no frames");
  if (item.frames.size() > kMaxListVideoFrames)
    return ResourceExhausted(fmt::format("\"video\": more than {} frames", kMaxListVideoFrames));
  auto within = [](double t) { return t >= 0 && t <= hash::kMaxVpdqSeconds; };
  if (!within(item.duration) || !within(item.fps))
    return InvalidArgument(
        fmt::format("\"video\": duration and fps must be 0..{}", hash::kMaxVpdqSeconds));
  for (size_t i = 0; i < item.frames.size(); ++i) {
    if (!within(item.frames[i].seconds))
      return InvalidArgument(
          fmt::format("\"video\": frame {}: time not 0..{}", i, hash::kMaxVpdqSeconds));
  }
  return v;
}

std::shared_ptr<const RobustImage> RobustOfFile(const match::FileSignals& f, bool upload) {
  auto robust = std::make_shared<RobustImage>();
  robust->norm = f.query.norm;
  robust->box = f.query.box_hash;
  if (upload) {  // a bank entry is matched through its variants; an upload through these too
    for (const auto& l : f.query.layers) {
      if (robust->layers.size() < kMaxLayers) robust->layers.push_back(l);
    }
    robust->dihedral = f.plain.dihedral;
    robust->norm_dihedral = f.query.norm_dihedral;
    if (f.query.box_hash) robust->box_dihedral = f.query.box_dihedral;
  }
  for (const auto& v : f.variants) {
    if (robust->variants.size() < intake::kMaxRobustVariants) robust->variants.push_back(v.hash);
  }
  return robust;
}

Result<Signals> HashMediaInProcess(std::span<const uint8_t> media, bool bank_side,
                                   int video_threads) {
  if (media.empty()) return InvalidArgument("no media");
  if (media::SniffImageFormat(media) != media::ImageFormat::kUnknown) {
    // Plain PDQ and digests, plus the robust signals (bank side: with the variants).
    thread_local match::SignalHasher hasher;
    hasher.set_regions(false);  // norm and box only: the service does not use region votes
    // An upload's dihedral PDQs too (hash-only bank entries are matched through them).
    TD_ASSIGN_OR_RETURN(
        auto f, hasher.HashBytes(media, bank_side, {}, nullptr, hash::HashMode::kFast, !bank_side));
    Signals s{f.plain.pdq.hash, f.plain.pdq.quality, f.plain.md5, f.plain.sha256, nullptr, nullptr};
    s.robust = RobustOfFile(f, !bank_side);
    return s;
  }
  // Not an image: a video? FFmpeg reads it from memory: the bytes are never written to a file.
  match::VideoHashOptions vo;
  vo.bank = bank_side;
  vo.video.threads = video_threads;
  auto item = match::HashVideoBytesForMatching(media, vo);
  if (!item.ok())
    return InvalidArgument(
        fmt::format("neither an image nor a readable video: {}", item.status().message()));
  if (item->frames.empty()) return InvalidArgument("the video has no frames to hash");
  Signals s;
  s.md5 = hash::Md5Hex(media);
  s.sha256 = hash::Sha256Hex(media);
  s.video = std::make_shared<const match::VideoItem>(std::move(*item));
  return s;
}

nlohmann::json SignalsToJson(const Signals& s) {
  nlohmann::json j = nlohmann::json::object();
  if (s.pdq) j["pdq"] = s.pdq->ToHex();
  j["quality"] = s.quality;
  if (!s.md5.empty()) j["md5"] = s.md5;
  if (!s.sha256.empty()) j["sha256"] = s.sha256;
  if (s.robust) j["robust"] = RobustToJson(*s.robust);
  if (s.video) j["video"] = VideoToJson(*s.video);
  return j;
}

Result<Signals> SignalsFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return DataLoss("signals: not an object");
  Signals s;
  if (j.contains("pdq")) {
    if (!j["pdq"].is_string()) return DataLoss("signals: pdq not a string");
    auto h = hash::Hash256::FromHex(j["pdq"].get<std::string>());
    if (!h.ok()) return DataLoss(fmt::format("signals: pdq: {}", h.status().message()));
    s.pdq = *h;
  }
  if (j.contains("quality")) {
    if (!j["quality"].is_number_integer()) return DataLoss("signals: quality not an integer");
    s.quality = j["quality"].get<int>();
    if (s.quality < 0 || s.quality > 100) return DataLoss("signals: quality out of 0..100");
  }
  for (auto [key, out] : {std::pair{"md5", &s.md5}, std::pair{"sha256", &s.sha256}}) {
    if (!j.contains(key)) continue;
    if (!j[key].is_string()) return DataLoss(fmt::format("signals: {} not a string", key));
    *out = j[key].get<std::string>();
  }
  if (j.contains("robust")) {
    TD_ASSIGN_OR_RETURN(s.robust, RobustFromJson(j["robust"]));
  }
  if (j.contains("video")) {
    TD_ASSIGN_OR_RETURN(s.video, VideoFromJson(j["video"]));
  }
  return s;
}

}  // namespace takedown::service
