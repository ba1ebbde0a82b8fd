#include "hash/digest.h"

#include <openssl/evp.h>

#include <stdexcept>

namespace takedown::hash {
namespace {

std::string DigestHex(const EVP_MD* md, std::span<const uint8_t> bytes) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), out, &len, md, nullptr) != 1) {
    // Only a broken OpenSSL installation gets here: an invariant, not an input error.
    throw std::runtime_error("OpenSSL digest failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(2 * len, '0');
  for (unsigned i = 0; i < len; ++i) {
    s[2 * i] = kHex[out[i] >> 4];
    s[2 * i + 1] = kHex[out[i] & 15];
  }
  return s;
}

}  // namespace

std::string Md5Hex(std::span<const uint8_t> bytes) { return DigestHex(EVP_md5(), bytes); }
std::string Sha256Hex(std::span<const uint8_t> bytes) { return DigestHex(EVP_sha256(), bytes); }

}  // namespace takedown::hash
