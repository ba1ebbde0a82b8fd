// Signed packages (issue 25 item 2): what the service discloses to an investigator, signed with
// the service's Ed25519 key (libsodium) so that anyone holding the public key (published at
// GET /.well-known/takedown-package-key) can check later that not a byte was changed.
//
// A package is one JSON document:
//   {"format": "takedown-package/1",
//    "payload":   {... what is disclosed; "manifest": {"parts": {NAME: SHA-256 hex}, ...}},
//    "signature": {"alg": "Ed25519", "key_id": HEX16, "public_key": BASE64, "value": BASE64}}
// The signature is over the payload's canonical form: UTF-8 JSON with object keys in byte order,
// no insignificant whitespace, integers only (no floating-point numbers anywhere), strings with
// only the escapes JSON requires, \u00xx in lowercase for other control characters (RFC 8785's
// form for documents whose keys are ASCII, as ours are; Python's json.dumps(p, sort_keys=True,
// separators=(",", ":"), ensure_ascii=False) gives the same bytes).
// Re-indenting the file does not break it; changing any value does. Each manifest part is the
// SHA-256 of the canonical form of payload[NAME], so a part can be checked on its own.
//
// Verification refuses duplicate object keys (two readers must not see two different packages),
// floating-point numbers and anything but the three top-level members. Thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"

namespace takedown::service {

inline constexpr std::string_view kPackageFormat = "takedown-package/1";

// The canonical bytes of j (see above); InvalidArgument for a floating-point number or a string
// that is not UTF-8.
Result<std::string> CanonicalJson(const nlohmann::json& j);

class PackageSigner {
 public:
  // From a 32-byte Ed25519 seed (the key file's content).
  static Result<PackageSigner> FromSeed(const std::string& seed);
  // A new random seed (32 bytes).
  static std::string NewSeed();

  const std::string& public_key_base64() const { return public_b64_; }
  // The first 16 hex digits of the public key's SHA-256: a short name for the key.
  const std::string& key_id() const { return key_id_; }
  // {"alg", "key_id", "public_key"}: what the well-known endpoint publishes.
  nlohmann::json PublicKeyJson() const;

  // Adds payload["manifest"]["parts"] (the SHA-256 of each other top-level member of payload),
  // "format" and the signature. payload must be an object without a "manifest" member.
  Result<nlohmann::json> Sign(nlohmann::json payload) const;

 private:
  std::string secret_;  // libsodium's 64-byte secret key (seed + public key)
  std::string public_, public_b64_, key_id_;
};

// What verification found: the signing key and the payload, trusted only when ok.
struct PackageCheck {
  std::string key_id, public_key_base64;
  nlohmann::json payload;
  std::vector<std::string> parts;  // manifest parts checked
};

// Parses and checks a package: shape, the signature over the canonical payload, every manifest
// part's hash, and, when expected_public_key_base64 is not "", that the signing key is that one.
// DataLoss naming what failed ("the signature does not match the payload: the package was
// changed after it was signed", "manifest part items: SHA-256 ... but the part hashes to ...");
// InvalidArgument for a file that is not a package at all.
Result<PackageCheck> VerifyPackage(const std::string& text,
                                   const std::string& expected_public_key_base64 = "");

}  // namespace takedown::service
