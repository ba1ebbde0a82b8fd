// Small ASCII text helpers shared by the layers that read requests and messages.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

namespace takedown {

// ASCII letters lowercased; other bytes (UTF-8 included) unchanged.
inline std::string AsciiLower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// s without the spaces and tabs at either end.
inline std::string TrimBlanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

// Bytes as lowercase hex, two digits a byte.
inline std::string LowerHex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(2 * bytes.size(), '0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kHex[b >> 4];
    out[2 * i + 1] = kHex[b & 15];
  }
  return out;
}

// Exactly n lowercase hex digits (callers lowercase first).
inline bool IsLowerHex(const std::string& s, size_t n) {
  return s.size() == n && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// The length of the UTF-8 sequence at s[i], or 0 when it is not well-formed UTF-8 (RFC 3629: no
// overlong forms, no surrogates, nothing past U+10FFFF, none cut short by the end of s).
inline size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) return 1;
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xbf;  // the second byte's range
  if (b >= 0xc2 && b <= 0xdf) {
    n = 2;
  } else if (b >= 0xe0 && b <= 0xef) {
    n = 3;
    if (b == 0xe0) lo = 0xa0;  // overlong
    if (b == 0xed) hi = 0x9f;  // surrogates
  } else if (b >= 0xf0 && b <= 0xf4) {
    n = 4;
    if (b == 0xf0) lo = 0x90;  // overlong
    if (b == 0xf4) hi = 0x8f;  // past U+10FFFF
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    const auto c = static_cast<unsigned char>(s[i + k]);
    if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xbf)) return 0;
  }
  return n;
}

// Whether s is well-formed UTF-8: what JSON, PostgreSQL and every reader downstream can carry.
inline bool IsUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = Utf8SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

// Whether s has an ASCII control character (below 0x20, or DEL): text that would break a line
// of a log, a listing or a header.
inline bool HasControlCharacter(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// One CSV cell (RFC 4180): quoted when it holds a comma, a quote or a line break, quotes doubled.
// A value a spreadsheet would run as a formula (first character =, +, -, @, tab or CR, and not a
// plain number such as -1.5) is prefixed with ' first (OWASP's advice on CSV injection): names
// and ids in exports come from outside.
inline std::string CsvCell(std::string v) {
  auto is_number = [](const std::string& s) {
    size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
    bool digits = false, dot = false;
    for (; i < s.size(); ++i) {
      if (s[i] >= '0' && s[i] <= '9') {
        digits = true;
      } else if (s[i] == '.' && !dot) {
        dot = true;
      } else {
        return false;
      }
    }
    return digits;
  };
  if (!v.empty() && std::string("=+-@\t\r").find(v.front()) != std::string::npos && !is_number(v)) {
    v.insert(v.begin(), '\'');
  }
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string q = "\"";
  for (char ch : v) {
    if (ch == '"') q += '"';
    q += ch;
  }
  return q + "\"";
}

}  // namespace takedown
