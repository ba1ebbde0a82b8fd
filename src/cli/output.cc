#include "cli/output.h"

#include <nlohmann/json.hpp>

namespace takedown::cli {

namespace {
constexpr const char* kDihedralNames[hash::pdq::kDihedralCount] = {
    "original", "rotate90", "rotate180", "rotate270", "flipx", "flipy", "flipplus1", "flipminus1"};
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  q += '"';
  return q;
}

std::string SignalsCsvLine(const std::string& path, const hash::ImageSignals& s, bool dihedral) {
  std::string line;
  if (dihedral && s.dihedral) {
    for (const auto& h : *s.dihedral) {
      line += h.ToHex();
      line += ',';
    }
  } else {
    line += s.pdq.hash.ToHex();
    line += ',';
  }
  line += std::to_string(s.pdq.quality);
  line += ',';
  line += CsvField(path);
  line += '\n';
  return line;
}

std::string SignalsJsonLine(const std::string& path, const hash::ImageSignals& s) {
  nlohmann::ordered_json j;
  j["file"] = path;
  j["pdq"] = s.pdq.hash.ToHex();
  j["quality"] = s.pdq.quality;
  if (s.dihedral) {
    nlohmann::ordered_json d;
    for (int i = 0; i < hash::pdq::kDihedralCount; ++i)
      d[kDihedralNames[i]] = (*s.dihedral)[i].ToHex();
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
  // Paths are bytes, not always UTF-8: replace invalid sequences rather than fail.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace takedown::cli
