// The vocabulary and rules of the EU DSA Transparency Database's statements of reasons (the
// schema in force since 1 July 2025), as the Commission's own validation applies them: the
// category and keyword tree our request categories map to, the EU/EEA country codes of a
// territorial scope, the limits of each text field (in characters, never splitting UTF-8), and a
// validator that names every field a statement would be refused for. Pure functions; no I/O.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "takedown/model.h"

namespace takedown::service::dsa {

// The statement category, its keywords (category_specification) and any content type the
// request's category implies (sexual deepfakes: synthetic media).
struct CategoryMapping {
  std::string category;
  std::vector<std::string> keywords;
  std::vector<std::string> extra_content_types;
};
// The mapping of a request category; "other" has none (a reviewer's decision must name one).
std::optional<CategoryMapping> MapCategory(Category c);
// Whether a statement category / keyword is one the database takes.
bool IsCategory(std::string_view category);
bool IsKeyword(std::string_view keyword);
// Why a known keyword does not fit the category ("X belongs to Y, not Z"), or "" when it fits
// (KEYWORD_OTHER fits any). Stricter than the database, which does not check this.
std::string KeywordMisfit(std::string_view keyword, std::string_view category);
// The legal ground stated for a request category when the request names none.
std::string DefaultLegalGround(Category c);

// Whether code is an EU or EEA member state's two-letter code as the database takes it.
bool IsEuEeaCountry(std::string_view code);
// Country codes from free text ("DE, FR", "de fr", "EU" for all of the EU/EEA): the valid ones,
// upper-cased and unique, in order; unknown words are returned in *unknown.
std::vector<std::string> ParseTerritorialScope(std::string_view text,
                                               std::vector<std::string>* unknown = nullptr);

// s cut to at most max_chars Unicode characters, never inside a UTF-8 sequence; invalid UTF-8
// bytes are replaced by U+FFFD first.
std::string Utf8Prefix(std::string_view s, size_t max_chars);
// The number of Unicode characters of valid UTF-8 text.
size_t Utf8Length(std::string_view s);

// A platform-unique identifier of the statement's decision: [A-Za-z0-9_-]{1,500}.
std::string Puid(int64_t action_id);
// The puid of an upload blocked at the gate (a namespace of its own: never an action's).
std::string BlockPuid(int64_t block_id);

struct Problem {
  std::string field;
  std::string message;
};
// Every rule of the database's statement store request that the statement breaks.
std::vector<Problem> Validate(const nlohmann::json& statement);

}  // namespace takedown::service::dsa
