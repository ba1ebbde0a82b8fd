// Mail transport with libcurl (packaged by Debian): an IMAP mailbox the intake reads, and SMTP
// submission for the replies. TLS: imaps:// and smtps:// are TLS from the first byte; with
// require_tls, imap:// and smtp:// must upgrade with STARTTLS or the call fails. Credentials are
// never logged: `Describe()` gives the URL without them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace takedown::mail {

struct TlsOptions {
  bool require_tls = true;  // refuse to talk in the clear
  std::string ca_file;      // "" = the system's CAs
  bool verify_peer = true;  // off only for tests against self-signed servers without a CA file
};

struct ImapConfig {
  std::string url;  // imaps://host:port/MAILBOX (the mailbox defaults to INBOX)
  std::string user, password;
  TlsOptions tls;
  int timeout_s = 30;
  std::string taken_keyword = "$TakedownTaken";  // flag on messages taken in
  std::string move_to;  // "" = leave taken messages where they are (flagged); else a folder
};

struct ImapMessageInfo {
  uint32_t uid = 0;
  int64_t size = 0;
};

class ImapMailbox {
 public:
  explicit ImapMailbox(ImapConfig c);
  ~ImapMailbox();
  ImapMailbox(const ImapMailbox&) = delete;
  ImapMailbox& operator=(const ImapMailbox&) = delete;

  std::string Describe() const;  // the URL without credentials
  // Messages not yet taken (no taken keyword), oldest first, at most `limit`, with their sizes.
  Result<std::vector<ImapMessageInfo>> Untaken(size_t limit);
  // The whole message, or only its header block.
  Result<std::string> Fetch(uint32_t uid, bool header_only);
  // Flags it taken and seen (and moves it when configured).
  Status MarkTaken(uint32_t uid);

 private:
  Result<std::string> Run(const std::string& url, const std::string& custom);
  ImapConfig c_;
  void* curl_;  // CURL*, reused so the connection and the selected mailbox stay open
};

struct SmtpConfig {
  std::string url;             // smtp://host:port (STARTTLS when tls.require_tls) or smtps://
  std::string user, password;  // "" = no AUTH
  TlsOptions tls;
  int timeout_s = 30;
};

class SmtpSender {
 public:
  explicit SmtpSender(SmtpConfig c);
  ~SmtpSender();
  SmtpSender(const SmtpSender&) = delete;
  SmtpSender& operator=(const SmtpSender&) = delete;
  std::string Describe() const;
  // Submits one message (CRLF line ends) for the envelope sender and recipients.
  Status Send(const std::string& from, const std::vector<std::string>& to, const std::string& raw);

 private:
  SmtpConfig c_;
  void* curl_;
};

// Strips user:password@ from a URL (for logs and errors).
std::string RedactUrl(const std::string& url);

}  // namespace takedown::mail
