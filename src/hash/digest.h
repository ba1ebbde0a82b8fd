// Exact-copy digests of a file's bytes (OpenSSL EVP). Thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/status.h"

namespace takedown::hash {

std::string HexOf(std::span<const uint8_t> bytes);      // lowercase hex of any bytes
std::string Md5Hex(std::span<const uint8_t> bytes);     // 32 lowercase hex digits
std::string Sha256Hex(std::span<const uint8_t> bytes);  // 64 lowercase hex digits
std::string Sha256HexOfText(std::string_view text);     // of the text's bytes
// HMAC-SHA256 of `text` under `key`, as 64 lowercase hex digits.
std::string HmacSha256Hex(std::string_view key, std::string_view text);

// Both digests of a file, read in chunks (videos need not fit in memory).
struct FileDigests {
  std::string md5, sha256;
};
Result<FileDigests> DigestFile(const std::string& path);

}  // namespace takedown::hash
