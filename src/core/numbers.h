// Numbers from outside (path segments, query parameters, configuration values) parsed whole:
// "12" is 12; "12abc", "1e3", " 12", "+12", "" and values beyond 64 bits are refused with a
// message naming the parameter. The one parser every layer uses.
#pragma once

#include <fmt/format.h>

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace takedown {

// A decimal integer in [min, max]: digits only, with a leading '-' when min < 0.
inline Result<int64_t> ParseInt64(std::string_view text, std::string_view name,
                                  int64_t min = INT64_MIN, int64_t max = INT64_MAX) {
  int64_t v = 0;
  const char* end = text.data() + text.size();
  const bool digits_only = !text.empty() && (text[0] != '+') && (text[0] != '-' || min < 0);
  if (digits_only) {
    const auto [p, ec] = std::from_chars(text.data(), end, v);
    if (ec == std::errc::result_out_of_range) {
      return InvalidArgument(fmt::format("{} is out of range ({} to {})", name, min, max));
    }
    if (ec == std::errc() && p == end) {
      if (v < min || v > max) {
        return InvalidArgument(fmt::format("{} is out of range ({} to {})", name, min, max));
      }
      return v;
    }
  }
  return InvalidArgument(
      fmt::format("{} must be {}", name, min >= 0 ? "a whole number of digits" : "an integer"));
}

// A decimal number in [min, max] written as digits with at most one '.' ("12", "0.040"): no sign
// but a leading '-' when min < 0, no exponent, no "nan" or "inf".
inline Result<double> ParseDecimal(std::string_view text, std::string_view name, double min,
                                   double max) {
  double v = 0;
  const char* end = text.data() + text.size();
  const bool plain = !text.empty() && text[0] != '+' && (text[0] != '-' || min < 0) &&
                     text.find_first_not_of("-0123456789.") == std::string_view::npos;
  if (plain) {
    const auto [p, ec] = std::from_chars(text.data(), end, v, std::chars_format::fixed);
    if (ec == std::errc() && p == end) {
      if (v < min || v > max) {
        return InvalidArgument(fmt::format("{} is out of range ({} to {})", name, min, max));
      }
      return v;
    }
  }
  return InvalidArgument(fmt::format("{} must be a decimal number such as 12.5", name));
}

// An id: 1 to 2^63-1.
inline Result<int64_t> ParseId(std::string_view text, std::string_view name) {
  return ParseInt64(text, name, 1, INT64_MAX);
}

}  // namespace takedown
