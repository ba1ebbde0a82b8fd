// What every backend computes alike from a record: a content id's shard hash, a bank entry's
// identity.
#include <openssl/evp.h>

#include <string>

#include "core/text.h"
#include "store/store.h"

namespace takedown::store {

uint32_t ContentIdHash(std::string_view content_id) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(content_id.data(), content_id.size(), md, &n, EVP_md5(), nullptr) != 1 || n < 4)
    return 0;  // not reached: MD5 of memory does not fail
  return (uint32_t{md[0]} << 24) | (uint32_t{md[1]} << 16) | (uint32_t{md[2]} << 8) | md[3];
}

std::string BankEntryIdentity(const BankEntryRecord& e) {
  std::string text = e.pdq + "|" + e.md5 + "|" + e.sha256 + "|";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (e.pdq.empty() && e.md5.empty() && e.sha256.empty() && !e.video.empty()) {
    if (EVP_Digest(e.video.data(), e.video.size(), md, &n, EVP_sha256(), nullptr) != 1) n = 0;
    text += LowerHex(std::string_view(reinterpret_cast<const char*>(md), n));
  }
  if (EVP_Digest(text.data(), text.size(), md, &n, EVP_sha256(), nullptr) != 1 || n < 16)
    return {};  // not reached: SHA-256 of memory does not fail
  return std::string(reinterpret_cast<const char*>(md), 16);
}

}  // namespace takedown::store
