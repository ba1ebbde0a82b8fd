// Small ASCII text helpers shared by the layers that read requests and messages.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>

namespace takedown {

// ASCII letters lowercased; other bytes (UTF-8 included) unchanged.
inline std::string AsciiLower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Exactly n lowercase hex digits (callers lowercase first).
inline bool IsLowerHex(const std::string& s, size_t n) {
  return s.size() == n && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// Whether s has an ASCII control character (below 0x20, or DEL): text that would break a line
// of a log, a listing or a header.
inline bool HasControlCharacter(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

}  // namespace takedown
