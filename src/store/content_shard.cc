#include <openssl/evp.h>

#include "store/store.h"

namespace takedown::store {

uint32_t ContentIdHash(std::string_view content_id) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(content_id.data(), content_id.size(), md, &n, EVP_md5(), nullptr) != 1 || n < 4)
    return 0;  // not reached: MD5 of memory does not fail
  return (uint32_t{md[0]} << 24) | (uint32_t{md[1]} << 16) | (uint32_t{md[2]} << 8) | md[3];
}

}  // namespace takedown::store
