#include "hash/hash_list.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace takedown::hash {

Result<Hash256> ParseHashLine(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
    line.remove_suffix(1);
  while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
  if (!line.empty() && line.front() == '{') {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return InvalidArgument("malformed JSON");
    if (!j.is_object() || !j.contains("pdq"))
      return InvalidArgument("JSON object has no \"pdq\" field");
    if (!j["pdq"].is_string()) return InvalidArgument("\"pdq\" is not a string");
    const std::string hex = j["pdq"].get<std::string>();
    auto h = Hash256::FromHex(hex);
    if (!h.ok()) return h.status().WithContext("\"pdq\"");
    return h;
  }
  const size_t comma = line.find(',');
  return Hash256::FromHex(comma == std::string_view::npos ? line : line.substr(0, comma));
}

Status ReadHashList(std::istream& in, const std::function<Status(const HashListEntry&)>& fn,
                    int max_errors) {
  std::string line;
  std::string errors;
  int error_count = 0;
  for (uint64_t n = 0; std::getline(in, line); ++n) {
    if (line.empty() || line == "\r" || line[0] == '#') continue;
    auto h = ParseHashLine(line);
    if (!h.ok()) {
      if (++error_count <= max_errors) {
        if (!errors.empty()) errors += "; ";
        errors += fmt::format("line {}: {}", n + 1, h.status().message());
      }
      continue;
    }
    if (error_count == 0) TD_RETURN_IF_ERROR(fn({n, *h}));
  }
  if (in.bad()) return IoError("read failed");
  if (error_count > 0) {
    if (error_count > max_errors)
      errors += fmt::format("; and {} more bad lines", error_count - max_errors);
    return InvalidArgument(errors);
  }
  return Status::Ok();
}

}  // namespace takedown::hash
