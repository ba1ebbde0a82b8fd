#include "match/video_frame.h"

#include "match/plane.h"

namespace takedown::match {
namespace {

hash::PdqHash HashRect(const LumaPlane& p, const Rect& r, hash::DihedralHashes* dih = nullptr) {
  hash::pdq::Buffer64 block;
  AreaResample64(p, r, block);
  return HashBlock(block, dih);
}

}  // namespace

VideoFrameSignals HashVideoFrame(const media::Image& frame, double seconds, bool bank,
                                 hash::PdqHasher& pdq) {
  VideoFrameSignals s;
  s.seconds = seconds;
  s.pdq = pdq.HashImage(frame, 0);
  const LumaPlane plane = WorkingPlane(frame, 256);
  const Rect whole{0, 0, static_cast<double>(plane.width), static_cast<double>(plane.height)};
  hash::DihedralHashes dih;
  s.norm = HashRect(plane, whole, &dih);
  s.norm_mirror = dih[static_cast<int>(hash::pdq::Dihedral::kFlipY)];
  auto centre = [&](double keep) {
    return HashRect(plane, {whole.w * (1 - keep) / 2, whole.h * (1 - keep) / 2, whole.w * keep,
                            whole.h * keep});
  };
  if (bank) {
    for (double keep : kVideoCrops) s.norm_crops.push_back(centre(keep));
  } else {
    for (double keep : kVideoProbeCrops) s.probes.push_back(centre(keep));
  }
  if (const auto box = DetectContentBox(plane)) s.box = HashRect(plane, *box);
  return s;
}

nlohmann::json PdqPairJson(const hash::PdqHash& h) { return {h.hash.ToHex(), h.quality}; }

nlohmann::json FrameToJson(const VideoFrameSignals& f) {
  nlohmann::json j = {{"t", f.seconds}, {"pdq", PdqPairJson(f.pdq)}, {"norm", PdqPairJson(f.norm)}};
  if (f.norm_mirror != hash::Hash256{}) j["mirror"] = f.norm_mirror.ToHex();
  if (!f.norm_crops.empty()) {
    j["crops"] = nlohmann::json::array();
    for (const auto& c : f.norm_crops) j["crops"].push_back(PdqPairJson(c));
  }
  if (!f.probes.empty()) {
    j["probes"] = nlohmann::json::array();
    for (const auto& c : f.probes) j["probes"].push_back(PdqPairJson(c));
  }
  if (f.box) j["box"] = PdqPairJson(*f.box);
  return j;
}

}  // namespace takedown::match
