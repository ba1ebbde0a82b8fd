#include "mail/dkim.h"

#include <fmt/format.h>

#include "core/text.h"
// dkim.h is C99: its _Bool is bool in C++.
#define _Bool bool
#include <opendkim/dkim.h>
#undef _Bool

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstring>

namespace takedown::mail {
namespace {

std::string JobId() {
  static std::atomic<uint64_t> n{0};
  return fmt::format("takedown-{}", n.fetch_add(1));
}

// dkim_chunk wants a writable buffer; it is fed in pieces so a large message is not copied whole.
DKIM_STAT Feed(DKIM* d, std::string_view raw) {
  std::string buf;
  for (size_t off = 0; off < raw.size(); off += 65536) {
    buf.assign(raw.substr(off, 65536));
    const DKIM_STAT st = dkim_chunk(d, reinterpret_cast<u_char*>(buf.data()), buf.size());
    if (st != DKIM_STAT_OK) return st;
  }
  return dkim_chunk(d, nullptr, 0);
}

}  // namespace

Result<std::unique_ptr<DkimVerifier>> DkimVerifier::Create(const std::string& key_file,
                                                           int dns_timeout_s) {
  DKIM_LIB* lib = dkim_init(nullptr, nullptr);
  if (!lib) return Internal("OpenDKIM could not be initialised");
  unsigned int flags = DKIM_LIBFLAGS_FIXCRLF;  // messages may come with LF line ends
  dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof flags);
  unsigned int timeout = static_cast<unsigned int>(dns_timeout_s);
  dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_TIMEOUT, &timeout, sizeof timeout);
  if (!key_file.empty()) {
    FILE* f = std::fopen(key_file.c_str(), "r");
    if (!f) {
      dkim_close(lib);
      return NotFound(fmt::format("DKIM key file {}: cannot be read", key_file));
    }
    std::fclose(f);
    dkim_query_t method = DKIM_QUERY_FILE;
    dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYMETHOD, &method, sizeof method);
    dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYINFO, const_cast<char*>(key_file.c_str()),
                 key_file.size());
  }
  return std::unique_ptr<DkimVerifier>(new DkimVerifier(lib));
}

DkimVerifier::~DkimVerifier() { dkim_close(static_cast<DKIM_LIB*>(lib_)); }

DkimResult DkimVerifier::Verify(std::string_view raw) {
  DkimResult r;
  DKIM_STAT st = DKIM_STAT_OK;
  const std::string id = JobId();
  DKIM* d = dkim_verify(static_cast<DKIM_LIB*>(lib_), reinterpret_cast<const u_char*>(id.c_str()),
                        nullptr, &st);
  if (!d) {
    r.summary = fmt::format("DKIM: the verifier could not start ({})", dkim_getresultstr(st));
    return r;
  }
  st = Feed(d, raw);
  if (st == DKIM_STAT_OK) st = dkim_eom(d, nullptr);
  DKIM_SIGINFO** sigs = nullptr;
  int nsigs = 0;
  std::vector<std::string> failures;
  if (dkim_getsiglist(d, &sigs, &nsigs) == DKIM_STAT_OK) {
    for (int i = 0; i < nsigs; ++i) {
      r.any_signature = true;
      const char* dom = reinterpret_cast<const char*>(dkim_sig_getdomain(sigs[i]));
      const std::string domain = AsciiLower(dom ? dom : "");
      if (DKIM_SIG_CHECK(sigs[i])) {
        r.passed_domains.push_back(domain);
      } else {
        const int err = dkim_sig_geterror(sigs[i]);
        std::string why = err != DKIM_SIGERROR_OK ? dkim_sig_geterrorstr(err) : "";
        if (why.empty())
          why = dkim_sig_getbh(sigs[i]) != DKIM_SIGBH_MATCH
                    ? "body hash mismatch (the body was altered)"
                    : "signature did not verify";
        failures.push_back(fmt::format("d={}: {}", domain, why));
      }
    }
  }
  if (!r.passed_domains.empty()) {
    r.summary = fmt::format("DKIM pass: d={}", fmt::join(r.passed_domains, ","));
  } else if (!r.any_signature) {
    r.summary = "DKIM: the message is not signed";
  } else {
    r.summary = fmt::format("DKIM fail: {}", failures.empty()
                                                 ? std::string(dkim_getresultstr(st))
                                                 : fmt::format("{}", fmt::join(failures, "; ")));
  }
  dkim_free(d);
  return r;
}

Result<std::string> DkimSign(std::string_view raw, const std::string& domain,
                             const std::string& selector, const std::string& private_key_pem) {
  {  // checked here: OpenDKIM's own error path for an unreadable key leaks
    BIO* bio = BIO_new_mem_buf(private_key_pem.data(), static_cast<int>(private_key_pem.size()));
    EVP_PKEY* key = bio ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr) : nullptr;
    const bool rsa = key && EVP_PKEY_base_id(key) == EVP_PKEY_RSA;
    EVP_PKEY_free(key);
    BIO_free(bio);
    ERR_clear_error();
    if (!rsa) return InvalidArgument("DKIM signing: the private key is not an RSA key in PEM form");
  }
  DKIM_LIB* lib = dkim_init(nullptr, nullptr);
  if (!lib) return Internal("OpenDKIM could not be initialised");
  unsigned int flags = DKIM_LIBFLAGS_FIXCRLF;
  dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof flags);
  DKIM_STAT st = DKIM_STAT_OK;
  const std::string id = JobId();
  DKIM* d = dkim_sign(lib, reinterpret_cast<const u_char*>(id.c_str()), nullptr,
                      reinterpret_cast<dkim_sigkey_t>(const_cast<char*>(private_key_pem.c_str())),
                      reinterpret_cast<const u_char*>(selector.c_str()),
                      reinterpret_cast<const u_char*>(domain.c_str()), DKIM_CANON_RELAXED,
                      DKIM_CANON_RELAXED, DKIM_SIGN_RSASHA256, -1, &st);
  if (!d) {
    dkim_close(lib);
    return InvalidArgument(fmt::format("DKIM signing could not start: {}", dkim_getresultstr(st)));
  }
  st = Feed(d, raw);
  if (st == DKIM_STAT_OK) st = dkim_eom(d, nullptr);
  std::string header(8192, '\0');
  if (st == DKIM_STAT_OK) {
    st = dkim_getsighdr(d, reinterpret_cast<u_char*>(header.data()), header.size(),
                        std::strlen("DKIM-Signature: "));
  }
  dkim_free(d);
  dkim_close(lib);
  if (st != DKIM_STAT_OK)
    return InvalidArgument(fmt::format("DKIM signing failed: {}", dkim_getresultstr(st)));
  header.resize(std::strlen(header.c_str()));
  const bool crlf = raw.find("\r\n") != std::string_view::npos;
  return fmt::format("DKIM-Signature: {}{}{}", header, crlf ? "\r\n" : "\n", raw);
}

}  // namespace takedown::mail
