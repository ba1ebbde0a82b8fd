// Wall-clock time as the store and the documents keep it: milliseconds since the Unix epoch, and
// its ISO 8601 form in UTC (what requesters, reports and replies show).
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <string>

namespace takedown {

inline int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "2026-11-28T07:00:00Z"
inline std::string IsoUtc(int64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace takedown
