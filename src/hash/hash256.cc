#include "hash/hash256.h"

#include <fmt/format.h>

namespace takedown::hash {

std::string Hash256::ToHex() const {
  return fmt::format("{:016x}{:016x}{:016x}{:016x}", words[3], words[2], words[1], words[0]);
}

Result<Hash256> Hash256::FromHex(std::string_view hex) {
  if (hex.size() != 64) {
    return InvalidArgument(fmt::format("expected 64 hex digits, got {} characters", hex.size()));
  }
  Hash256 h;
  for (size_t i = 0; i < 64; ++i) {
    const char c = hex[i];
    uint64_t v;
    if (c >= '0' && c <= '9')
      v = static_cast<uint64_t>(c - '0');
    else if (c >= 'a' && c <= 'f')
      v = static_cast<uint64_t>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      v = static_cast<uint64_t>(c - 'A' + 10);
    else {
      const bool printable = c >= 0x20 && c < 0x7f;
      return InvalidArgument(printable
                                 ? fmt::format("non-hex character '{}' at position {}", c, i + 1)
                                 : fmt::format("non-hex byte 0x{:02x} at position {}",
                                               static_cast<unsigned char>(c), i + 1));
    }
    const size_t word = 3 - i / 16;  // first 16 digits are the most significant word
    h.words[word] = (h.words[word] << 4) | v;
  }
  return h;
}

}  // namespace takedown::hash
