#include "hash/digest.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <vector>

#include "core/text.h"

namespace takedown::hash {
namespace {

std::string Hex(const unsigned char* d, unsigned int len) {
  return LowerHex(std::string_view(reinterpret_cast<const char*>(d), len));
}

}  // namespace

std::string HexOf(std::span<const uint8_t> bytes) {
  return Hex(bytes.data(), static_cast<unsigned>(bytes.size()));
}

namespace {

std::string DigestHex(const EVP_MD* md, std::span<const uint8_t> bytes) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), out, &len, md, nullptr) != 1) {
    // Only a broken OpenSSL installation gets here: an invariant, not an input error.
    throw std::runtime_error("OpenSSL digest failed");
  }
  return Hex(out, len);
}

}  // namespace

Result<FileDigests> DigestFile(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return NotFound("cannot open " + path);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md5(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> sha(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  EVP_DigestInit_ex(md5.get(), EVP_md5(), nullptr);
  EVP_DigestInit_ex(sha.get(), EVP_sha256(), nullptr);
  std::vector<unsigned char> buf(1 << 20);
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), f)) > 0) {
    EVP_DigestUpdate(md5.get(), buf.data(), n);
    EVP_DigestUpdate(sha.get(), buf.data(), n);
  }
  const bool err = std::ferror(f) != 0;
  std::fclose(f);
  if (err) return IoError("read failed: " + path);
  auto finish = [](EVP_MD_CTX* c) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(c, out, &len);
    return Hex(out, len);
  };
  return FileDigests{finish(md5.get()), finish(sha.get())};
}

std::string Md5Hex(std::span<const uint8_t> bytes) { return DigestHex(EVP_md5(), bytes); }
std::string Sha256Hex(std::span<const uint8_t> bytes) { return DigestHex(EVP_sha256(), bytes); }

std::string HmacSha256Hex(std::string_view key, std::string_view text) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), mac, &len);
  return HexOf(std::span<const uint8_t>(mac, len));
}
std::string Sha256HexOfText(std::string_view text) {
  return Sha256Hex(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

}  // namespace takedown::hash
