// Exact-copy digests of a file's bytes (OpenSSL EVP). Thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace takedown::hash {

std::string Md5Hex(std::span<const uint8_t> bytes);     // 32 lowercase hex digits
std::string Sha256Hex(std::span<const uint8_t> bytes);  // 64 lowercase hex digits

}  // namespace takedown::hash
