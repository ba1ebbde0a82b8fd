// DKIM (RFC 6376) with the OpenDKIM library (packaged by Debian): verifying that a message was
// signed by the domain it claims, and signing (the example sender and the tests sign as a
// regulator's mail server would).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace takedown::mail {

struct DkimResult {
  std::vector<std::string> passed_domains;  // d= of every signature that verified (lowercased)
  std::string summary;  // one line for the audit log: what was seen and why it failed
  bool any_signature = false;
};

class DkimVerifier {
 public:
  // key_file: "" resolves public keys from DNS (selector._domainkey.domain TXT); otherwise a file
  // of lines "selector._domainkey.domain  v=DKIM1; k=rsa; p=..." for closed deployments.
  static Result<std::unique_ptr<DkimVerifier>> Create(const std::string& key_file,
                                                      int dns_timeout_s = 5);
  ~DkimVerifier();
  DkimVerifier(const DkimVerifier&) = delete;
  DkimVerifier& operator=(const DkimVerifier&) = delete;

  // Verifies every DKIM-Signature of the raw message (CRLF or LF line ends). Never fails: a
  // message without a valid signature has no passed_domains and a summary saying why.
  DkimResult Verify(std::string_view raw);

 private:
  explicit DkimVerifier(void* lib) : lib_(lib) {}
  void* lib_;  // DKIM_LIB*
};

// Signs the message for `domain` with `selector` and an RSA private key (PEM); returns the
// message with the DKIM-Signature header in front (relaxed/relaxed, rsa-sha256).
Result<std::string> DkimSign(std::string_view raw, const std::string& domain,
                             const std::string& selector, const std::string& private_key_pem);

}  // namespace takedown::mail
