#include "takedown/package.h"

#include <fmt/format.h>
#include <sodium.h>

#include <set>

#include "core/text.h"

namespace takedown::service {

using nlohmann::json;

namespace {

bool SodiumReady() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}

std::string Base64(const std::string& bytes) {
  std::string out(sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

// Exactly `want` bytes from standard base64 with padding, or nullopt.
std::optional<std::string> FromBase64(const std::string& text, size_t want) {
  std::string out(want + 3, '\0');
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size() || len != want) {
    return std::nullopt;
  }
  out.resize(len);
  return out;
}

std::string Sha256Hex(const std::string& bytes) {
  unsigned char d[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(d, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return LowerHex(std::string_view(reinterpret_cast<const char*>(d), sizeof d));
}

Status NoFloats(const json& j, const std::string& where) {
  if (j.is_number_float()) {
    return InvalidArgument(
        fmt::format("{} is a floating-point number (a package has integers only)",
                    where.empty() ? "the document" : where));
  }
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) TD_RETURN_IF_ERROR(NoFloats(v, where + "." + k));
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) {
      TD_RETURN_IF_ERROR(NoFloats(j[i], fmt::format("{}[{}]", where, i)));
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> CanonicalJson(const json& j) {
  TD_RETURN_IF_ERROR(NoFloats(j, ""));
  try {
    // nlohmann's objects are std::maps: keys in byte order; no indent; UTF-8 kept as it is.
    return j.dump(-1, ' ', false, json::error_handler_t::strict);
  } catch (const json::exception& e) {
    return InvalidArgument(fmt::format("not canonical JSON: {}", e.what()));
  }
}

std::string PackageSigner::NewSeed() {
  SodiumReady();
  std::string seed(crypto_sign_SEEDBYTES, '\0');
  randombytes_buf(seed.data(), seed.size());
  return seed;
}

Result<PackageSigner> PackageSigner::FromSeed(const std::string& seed) {
  if (!SodiumReady()) return Internal("libsodium did not initialise");
  if (seed.size() != crypto_sign_SEEDBYTES) {
    return InvalidArgument(fmt::format("a package signing key is {} bytes, not {}",
                                       crypto_sign_SEEDBYTES, seed.size()));
  }
  PackageSigner s;
  s.public_.assign(crypto_sign_PUBLICKEYBYTES, '\0');
  s.secret_.assign(crypto_sign_SECRETKEYBYTES, '\0');
  crypto_sign_seed_keypair(reinterpret_cast<unsigned char*>(s.public_.data()),
                           reinterpret_cast<unsigned char*>(s.secret_.data()),
                           reinterpret_cast<const unsigned char*>(seed.data()));
  s.public_b64_ = Base64(s.public_);
  s.key_id_ = Sha256Hex(s.public_).substr(0, 16);
  return s;
}

json PackageSigner::PublicKeyJson() const {
  return {{"alg", "Ed25519"}, {"key_id", key_id_}, {"public_key", public_b64_}};
}

Result<json> PackageSigner::Sign(json payload) const {
  if (!payload.is_object()) return InvalidArgument("a package's payload is an object");
  if (payload.contains("manifest")) return InvalidArgument("the payload has its own manifest");
  json parts = json::object();
  for (const auto& [name, part] : payload.items()) {
    TD_ASSIGN_OR_RETURN(std::string c, CanonicalJson(part));
    parts[name] = Sha256Hex(c);
  }
  payload["manifest"] = {
      {"parts", parts}, {"hash", "SHA-256 of each part's canonical JSON"}, {"key_id", key_id_}};
  TD_ASSIGN_OR_RETURN(std::string bytes, CanonicalJson(payload));
  std::string sig(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                       reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                       reinterpret_cast<const unsigned char*>(secret_.data()));
  return json{{"format", kPackageFormat},
              {"payload", std::move(payload)},
              {"signature",
               {{"alg", "Ed25519"},
                {"key_id", key_id_},
                {"public_key", public_b64_},
                {"value", Base64(sig)}}}};
}

Result<PackageCheck> VerifyPackage(const std::string& text,
                                   const std::string& expected_public_key_base64) {
  if (!SodiumReady()) return Internal("libsodium did not initialise");
  // Parsed with every object's keys remembered: a key twice is refused, as are floats.
  std::vector<std::set<std::string>> open;
  std::string problem;
  const json::parser_callback_t cb = [&](int, json::parse_event_t ev, json& parsed) {
    if (ev == json::parse_event_t::object_start) {
      open.emplace_back();
    } else if (ev == json::parse_event_t::object_end) {
      if (!open.empty()) open.pop_back();
    } else if (ev == json::parse_event_t::key && !open.empty()) {
      if (!open.back().insert(parsed.get<std::string>()).second && problem.empty()) {
        problem =
            fmt::format("the key \"{}\" appears twice in one object", parsed.get<std::string>());
      }
    } else if (ev == json::parse_event_t::value && parsed.is_number_float() && problem.empty()) {
      problem = "a floating-point number (a package has integers only)";
    }
    return true;
  };
  json doc = json::parse(text, cb, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return InvalidArgument("not a package: the file is not JSON");
  if (!problem.empty()) return DataLoss(fmt::format("not a valid package: {}", problem));
  if (!doc.is_object() || doc.size() != 3 || !doc.contains("payload") ||
      !doc.contains("signature") || !doc.contains("format")) {
    return InvalidArgument(
        "not a package: the document must have exactly format, payload and signature");
  }
  if (doc["format"] != kPackageFormat) {
    return InvalidArgument(fmt::format("not a package of format {}: format is {}", kPackageFormat,
                                       doc["format"].dump()));
  }
  const json& sig = doc["signature"];
  const json& payload = doc["payload"];
  if (!payload.is_object()) return DataLoss("the payload is not an object");
  auto str = [&](const char* k) {
    return sig.is_object() && sig.contains(k) && sig[k].is_string() ? sig[k].get<std::string>()
                                                                    : std::string();
  };
  if (str("alg") != "Ed25519") return DataLoss("the signature's alg is not Ed25519");
  const auto pub = FromBase64(str("public_key"), crypto_sign_PUBLICKEYBYTES);
  if (!pub) return DataLoss("the signature's public_key is not a base64 Ed25519 public key");
  const auto value = FromBase64(str("value"), crypto_sign_BYTES);
  if (!value) return DataLoss("the signature's value is not a base64 Ed25519 signature");
  PackageCheck out;
  out.public_key_base64 = str("public_key");
  out.key_id = Sha256Hex(*pub).substr(0, 16);
  if (str("key_id") != out.key_id) {
    return DataLoss(fmt::format("the signature's key_id {} is not that of its public key ({})",
                                str("key_id"), out.key_id));
  }
  if (!expected_public_key_base64.empty() && expected_public_key_base64 != out.public_key_base64) {
    return DataLoss(
        fmt::format("signed by key {} ({}), not by the expected key {}: not this service's package",
                    out.key_id, out.public_key_base64, expected_public_key_base64));
  }
  TD_ASSIGN_OR_RETURN(std::string bytes, CanonicalJson(payload));
  if (crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(value->data()),
                                  reinterpret_cast<const unsigned char*>(bytes.data()),
                                  bytes.size(),
                                  reinterpret_cast<const unsigned char*>(pub->data())) != 0) {
    return DataLoss(
        "the signature does not match the payload: the package was changed after it was signed, "
        "or signed by another key");
  }
  // The signature holds; the manifest is inside what it covers. Each part is checked too, so a
  // part handed on alone can be checked against the manifest.
  if (!payload.contains("manifest") || !payload["manifest"].is_object() ||
      !payload["manifest"].contains("parts") || !payload["manifest"]["parts"].is_object()) {
    return DataLoss("the payload has no manifest.parts");
  }
  const json& parts = payload["manifest"]["parts"];
  for (const auto& [name, part] : payload.items()) {
    if (name == "manifest") continue;
    if (!parts.contains(name)) return DataLoss(fmt::format("part {} is not in the manifest", name));
  }
  for (const auto& [name, h] : parts.items()) {
    if (!payload.contains(name)) return DataLoss(fmt::format("manifest part {} is missing", name));
    TD_ASSIGN_OR_RETURN(std::string c, CanonicalJson(payload[name]));
    const std::string got = Sha256Hex(c);
    if (!h.is_string() || h.get<std::string>() != got) {
      return DataLoss(fmt::format("manifest part {}: SHA-256 {} but the part hashes to {}", name,
                                  h.dump(), got));
    }
    out.parts.push_back(name);
  }
  out.payload = payload;
  return out;
}

}  // namespace takedown::service
