#include "match/signals_json.h"

#include <fmt/format.h>

namespace takedown::match {
namespace {

constexpr const char* kDihedralNames[8] = {"original", "rotate90", "rotate180", "rotate270",
                                           "flipx",    "flipy",    "flipplus1", "flipminus1"};

nlohmann::ordered_json HashJson(const hash::PdqHash& h) {
  return {{"pdq", h.hash.ToHex()}, {"quality", h.quality}};
}

Result<hash::PdqHash> HashFrom(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("pdq") || !j["pdq"].is_string()) {
    return InvalidArgument(fmt::format("{}: expected an object with a \"pdq\" string", where));
  }
  auto h = hash::Hash256::FromHex(j["pdq"].get<std::string>());
  if (!h.ok()) return h.status().WithContext(where + ".\"pdq\"");
  int q = 100;
  if (j.contains("quality")) {
    if (!j["quality"].is_number_integer())
      return InvalidArgument(where + ".\"quality\": not an integer");
    q = j["quality"].get<int>();
  }
  return hash::PdqHash{*h, q};
}

// Eight hashes keyed by the dihedral variants' names.
Result<hash::DihedralHashes> DihedralFrom(const nlohmann::json& d, const std::string& where) {
  if (!d.is_object()) return InvalidArgument(where + ": not an object");
  hash::DihedralHashes dh;
  for (int i = 0; i < 8; ++i) {
    if (!d.contains(kDihedralNames[i]) || !d[kDihedralNames[i]].is_string())
      return InvalidArgument(fmt::format("{}: missing \"{}\"", where, kDihedralNames[i]));
    auto h = hash::Hash256::FromHex(d[kDihedralNames[i]].get<std::string>());
    if (!h.ok()) return h.status().WithContext(fmt::format("{}.\"{}\"", where, kDihedralNames[i]));
    dh[static_cast<size_t>(i)] = *h;
  }
  return dh;
}

}  // namespace

nlohmann::ordered_json SignalsToJson(const std::string& path, const FileSignals& f) {
  const auto& s = f.plain;
  nlohmann::ordered_json j;
  j["file"] = path;
  j["pdq"] = s.pdq.hash.ToHex();
  j["quality"] = s.pdq.quality;
  if (s.dihedral) {
    nlohmann::ordered_json d;
    for (int i = 0; i < 8; ++i) d[kDihedralNames[i]] = (*s.dihedral)[i].ToHex();
    j["dihedral"] = std::move(d);
  }
  j["md5"] = s.md5;
  j["sha256"] = s.sha256;
  j["format"] = s.format;
  j["width"] = s.width;
  j["height"] = s.height;
  j["mode"] = std::string(hash::HashModeName(s.mode));
  j["hashed_width"] = s.hashed_width;
  j["hashed_height"] = s.hashed_height;
  if (!s.warnings.empty()) j["warnings"] = s.warnings;
  nlohmann::ordered_json sig;
  sig["norm"] = HashJson(f.query.norm);
  if (f.query.box_hash && f.query.box) {
    auto b = HashJson(*f.query.box_hash);
    b["x"] = static_cast<int>(f.query.box->x + 0.5);
    b["y"] = static_cast<int>(f.query.box->y + 0.5);
    b["w"] = static_cast<int>(f.query.box->w + 0.5);
    b["h"] = static_cast<int>(f.query.box->h + 0.5);
    sig["box"] = std::move(b);
  }
  if (f.query.frame_hash) sig["frame"] = HashJson(*f.query.frame_hash);
  for (size_t k = 0; k < f.query.layers.size(); ++k)
    sig[fmt::format("layer_{}", k)] = HashJson(f.query.layers[k]);
  for (int k = 0; k < kRegions; ++k)
    sig[fmt::format("region_{}", k)] = HashJson(f.query.regions[k]);
  if (f.query.box_regions) {
    for (int k = 0; k < kRegions; ++k)
      sig[fmt::format("box_region_{}", k)] = HashJson((*f.query.box_regions)[k]);
  }
  // With the plain dihedral PDQs (--dihedral, --bank, a match query): those of norm and box too.
  for (const auto& [key, d] : {std::pair{"norm_dihedral", &f.query.norm_dihedral},
                               std::pair{"box_dihedral", &f.query.box_dihedral}}) {
    if (!s.dihedral || !*d) continue;
    nlohmann::ordered_json o;
    for (int i = 0; i < 8; ++i) o[kDihedralNames[i]] = (**d)[i].ToHex();
    sig[key] = std::move(o);
  }
  j["signals"] = std::move(sig);
  if (!f.variants.empty()) {
    nlohmann::ordered_json v;
    for (const auto& nh : f.variants) v[nh.name] = HashJson(nh.hash);
    j["variants"] = std::move(v);
  }
  return j;
}

constexpr size_t kMaxLayers = 64;

Result<FileSignals> SignalsFromJson(const nlohmann::json& j, std::string* path) {
  if (!j.is_object()) return InvalidArgument("not a JSON object");
  FileSignals f;
  if (j.contains("file") && j["file"].is_string()) *path = j["file"].get<std::string>();
  TD_ASSIGN_OR_RETURN(f.plain.pdq, HashFrom(j, "top level"));
  if (j.contains("sha256") && j["sha256"].is_string())
    f.plain.sha256 = j["sha256"].get<std::string>();
  if (j.contains("md5") && j["md5"].is_string()) f.plain.md5 = j["md5"].get<std::string>();
  if (j.contains("dihedral")) {
    TD_ASSIGN_OR_RETURN(f.plain.dihedral, DihedralFrom(j["dihedral"], "\"dihedral\""));
  }
  if (j.contains("signals")) {
    const auto& s = j["signals"];
    if (!s.is_object()) return InvalidArgument("\"signals\": not an object");
    if (s.contains("norm")) {
      TD_ASSIGN_OR_RETURN(f.query.norm, HashFrom(s["norm"], "\"signals\".\"norm\""));
    }
    if (s.contains("box")) {
      TD_ASSIGN_OR_RETURN(auto b, HashFrom(s["box"], "\"signals\".\"box\""));
      f.query.box_hash = b;
      const auto& o = s["box"];
      f.query.box =
          Rect{o.value("x", 0.0), o.value("y", 0.0), o.value("w", 0.0), o.value("h", 0.0)};
    }
    if (s.contains("frame")) {
      TD_ASSIGN_OR_RETURN(f.query.frame_hash, HashFrom(s["frame"], "\"signals\".\"frame\""));
    }
    for (size_t k = 0;; ++k) {
      const std::string name = fmt::format("layer_{}", k);
      if (!s.contains(name)) break;
      if (k == kMaxLayers)
        return InvalidArgument(fmt::format("\"signals\": more than {} layers", kMaxLayers));
      TD_ASSIGN_OR_RETURN(auto h, HashFrom(s[name], "\"signals\".\"" + name + "\""));
      f.query.layers.push_back(h);
    }
    bool any_box_region = false;
    std::array<hash::PdqHash, kRegions> box_regions{};
    for (int k = 0; k < kRegions; ++k) {
      const std::string name = fmt::format("region_{}", k);
      if (s.contains(name)) {
        TD_ASSIGN_OR_RETURN(f.query.regions[k], HashFrom(s[name], "\"signals\".\"" + name + "\""));
      }
      const std::string bname = "box_" + name;
      if (s.contains(bname)) {
        any_box_region = true;
        TD_ASSIGN_OR_RETURN(box_regions[k], HashFrom(s[bname], "\"signals\".\"" + bname + "\""));
      }
    }
    if (any_box_region) f.query.box_regions = box_regions;
    if (s.contains("norm_dihedral")) {
      TD_ASSIGN_OR_RETURN(f.query.norm_dihedral,
                          DihedralFrom(s["norm_dihedral"], "\"signals\".\"norm_dihedral\""));
    }
    if (s.contains("box_dihedral")) {
      TD_ASSIGN_OR_RETURN(f.query.box_dihedral,
                          DihedralFrom(s["box_dihedral"], "\"signals\".\"box_dihedral\""));
    }
  }
  if (j.contains("variants")) {
    const auto& v = j["variants"];
    if (!v.is_object()) return InvalidArgument("\"variants\": not an object");
    for (const auto& [name, val] : v.items()) {
      TD_ASSIGN_OR_RETURN(auto h, HashFrom(val, "\"variants\".\"" + name + "\""));
      f.variants.push_back({name, h});
    }
  }
  return f;
}

}  // namespace takedown::match
