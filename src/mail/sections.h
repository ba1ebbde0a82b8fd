// What a requester's message says in "Key: value" lines (English or Korean keys, case, spaces,
// hyphens and underscores ignored; a full-width colon too), and the rest of its text.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace takedown::mail {

struct Sections {
  std::map<std::string, std::string> fields;  // single-valued notice fields, by canonical name
  std::vector<std::string> pdq, md5, sha256, content_ids;  // hex lowercased
  std::string secret;                                      // the shared secret, if given
  std::string rest;                                        // the text without the structured lines
};

Sections ReadSections(const std::string& text);
// A category as a requester writes it ("딥페이크", "Deepfake") as its canonical name, or the
// text unchanged when it is none of them.
std::string CanonicalCategory(const std::string& text);
// Yes in English or Korean ("yes", "true", "예", "동의", ...).
bool Yes(const std::string& v);
// Without leading and trailing whitespace.
std::string Trim(const std::string& s);

}  // namespace takedown::mail
