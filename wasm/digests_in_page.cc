// MD5 and SHA-256 in the WebAssembly build: OpenSSL is not built for it, so the module asks the
// page, which digests with hash-wasm (an npm package pinned by console/package-lock.json) and
// sets Module.digestHex(kind, bytes) -> lowercase hex before hashing anything. The page digests
// videos the same way, streamed, without passing them through this module.
#include <emscripten/emscripten.h>

#include <cstdlib>
#include <string>

#include "hash/digest.h"

namespace {

// clang-format off
EM_JS(char*, takedown_digest_hex, (const char* kind, const uint8_t* bytes, size_t n), {
  const hex = Module.digestHex(UTF8ToString(kind), HEAPU8.subarray(bytes, bytes + n));
  const size = lengthBytesUTF8(hex) + 1;
  const out = _malloc(size);
  stringToUTF8(hex, out, size);
  return out;
});
// clang-format on

std::string Ask(const char* kind, std::span<const uint8_t> bytes) {
  char* hex = takedown_digest_hex(kind, bytes.data(), bytes.size());
  std::string out(hex);
  std::free(hex);
  return out;
}

}  // namespace

namespace takedown::hash {

std::string Md5Hex(std::span<const uint8_t> bytes) { return Ask("md5", bytes); }
std::string Sha256Hex(std::span<const uint8_t> bytes) { return Ask("sha256", bytes); }

}  // namespace takedown::hash
