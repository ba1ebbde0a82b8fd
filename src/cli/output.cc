#include "cli/output.h"

#include <nlohmann/json.hpp>

#include "match/signals_json.h"

namespace takedown::cli {

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

std::string SignalsJsonLine(const std::string& path, const match::FileSignals& s) {
  // Paths are bytes, not always UTF-8: replace invalid sequences rather than fail.
  return match::SignalsToJson(path, s).dump(-1, ' ', false,
                                            nlohmann::json::error_handler_t::replace) +
         "\n";
}

}  // namespace takedown::cli
