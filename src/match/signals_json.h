// The JSON form of a file's signals, as `takedown hash --format jsonl` writes it and
// `takedown match --bank FILE` reads it back:
//   {"file", "pdq", "quality", "dihedral"{8 names}, "md5", "sha256", "format", "width", "height",
//    "mode", "hashed_width", "hashed_height", "warnings"[],
//    "signals": {"norm": {"pdq", "quality"}, "box": {"pdq", "quality", "x", "y", "w", "h"},
//                "region_0".."region_8": {...}, "box_region_0".."box_region_8": {...}},
//    "variants": {"norm/original": {"pdq", "quality"}, ...}}   -- variants with --bank only
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"
#include "match/signals.h"

namespace takedown::match {

nlohmann::ordered_json SignalsToJson(const std::string& path, const FileSignals& f);

// Reads what SignalsToJson wrote (unknown fields ignored; missing signals left empty). Errors
// name the field: "\"signals\".\"norm\".\"pdq\": expected 64 hex digits, got 12 characters".
Result<FileSignals> SignalsFromJson(const nlohmann::json& j, std::string* path);

}  // namespace takedown::match
