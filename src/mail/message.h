// Email messages of the direct email line, read and written with GMime 3 (packaged by Debian):
// what a regulator's message says (sender, subject, text in UTF-8 whatever its charset, media
// attachments), and the replies takedown sends (UTF-8 text, RFC 2047 subject, threaded).
//
// Reading never fails on a message that has at least a header: whatever cannot be read (an
// undecodable charset, an attachment over the size limit, an archive, a nested message too deep)
// becomes a line in `problems`, so that the reply can say so. Hostile input is everyday input:
// sizes are limited before anything is decoded.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace takedown::mail {

struct Attachment {
  std::string filename;       // as sent (decoded), or "part N" when it had none
  std::string content_type;   // lowercased type/subtype
  std::vector<uint8_t> data;  // decoded bytes (empty when over the limit or rejected)
  int64_t size = 0;           // decoded size
};

struct ParsedMail {
  std::string message_id;       // without <>; "" when the message had none
  std::string from_address;     // lowercased addr-spec of the first From mailbox
  std::string from_name;        // its display name, decoded
  std::string reply_to;         // Reply-To's first address, lowercased ("" when absent)
  std::string subject;          // decoded (RFC 2047), UTF-8
  std::string references;       // the References header as sent (for threading replies)
  std::string in_reply_to;      // In-Reply-To without <>, "" when absent
  std::string date;             // the Date header as sent
  std::string takedown_secret;  // X-Takedown-Secret, the requester's shared secret if it sends one
  std::string takedown_reply;   // X-Takedown-Reply on takedown's own replies: ack, confirmed, ...
  std::string text;             // text/plain parts (or text/html stripped of tags), UTF-8
  std::vector<Attachment> attachments;  // media candidates (images, videos, unknown binaries)
  std::vector<std::string> problems;    // what could not be read, each a sentence
  bool truncated = false;  // only the header was read (the message was over the size limit)
};

struct MailLimits {
  int64_t max_attachment_bytes = 64LL << 20;  // each media attachment
  int64_t max_text_bytes = 1LL << 20;         // body text kept
  int max_attachments = 50;
  int max_nesting = 3;                  // message/rfc822 inside message/rfc822 ...
  size_t max_header_bytes = 256 << 10;  // the whole header block
};

// Parses a raw message (RFC 5322, CRLF or LF line ends). Errors only when there is no usable
// header at all (empty input, no From, header over the limit).
Result<ParsedMail> ParseMail(std::string_view raw, const MailLimits& limits = {});

// The header block of a message too large to read (the IMAP side fetched only its header):
// sender, subject and ids, with `truncated` set.
Result<ParsedMail> ParseHeaderOnly(std::string_view header, const MailLimits& limits = {});

struct OutgoingMail {
  std::string from_address, from_name;
  std::string to_address;
  std::string subject;      // UTF-8; encoded as RFC 2047 words where needed
  std::string text;         // UTF-8 body
  std::string in_reply_to;  // Message-ID of the message answered (without <>), or ""
  std::string references;   // its References header, to which in_reply_to is appended
  std::string message_id;   // without <>; generated when empty
  std::vector<std::pair<std::string, std::string>> extra_headers;
};

// Serialises a reply as a MIME message with CRLF line ends (ready for SMTP).
Result<std::string> ComposeMail(const OutgoingMail& m);

// The domain part of an address, lowercased ("" when there is none).
std::string DomainOf(std::string_view address);

}  // namespace takedown::mail
