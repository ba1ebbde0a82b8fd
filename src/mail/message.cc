#include "mail/message.h"

#include <fmt/format.h>
#include <gmime/gmime.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>
#include <mutex>
#include <optional>
#include <random>

#include "core/text.h"

namespace takedown::mail {
namespace {

void InitGMime() {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
}

template <typename T>
struct GUnref {
  void operator()(T* p) const {
    if (p) g_object_unref(p);
  }
};
template <typename T>
using GPtr = std::unique_ptr<T, GUnref<T>>;

struct GFree {
  void operator()(void* p) const { g_free(p); }
};
using GStr = std::unique_ptr<char, GFree>;

std::string OrEmpty(const char* s) { return s ? std::string(s) : std::string(); }

// Where the header block ends (the index of the blank line), or npos.
size_t HeaderEnd(std::string_view raw) {
  size_t crlf = raw.find("\r\n\r\n"), lf = raw.find("\n\n");
  return std::min(crlf, lf);
}

// First mailbox of an address list: lowercased address and decoded name.
void FirstMailbox(InternetAddressList* list, std::string* addr, std::string* name) {
  if (!list) return;
  for (int i = 0; i < internet_address_list_length(list); ++i) {
    InternetAddress* a = internet_address_list_get_address(list, i);
    if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
      *addr = AsciiLower(OrEmpty(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a))));
      if (name) *name = OrEmpty(internet_address_get_name(a));
      return;
    }
  }
}

bool IsArchive(const std::string& type, const std::string& filename) {
  static const std::array<const char*, 12> kTypes = {
      "application/zip",     "application/x-zip-compressed", "application/x-rar-compressed",
      "application/vnd.rar", "application/x-7z-compressed",  "application/x-tar",
      "application/gzip",    "application/x-gzip",           "application/x-bzip2",
      "application/x-xz",    "application/x-compress",       "application/java-archive"};
  for (const char* t : kTypes) {
    if (type == t) return true;
  }
  static const std::array<const char*, 10> kExt = {".zip", ".rar", ".7z", ".tar", ".gz",
                                                   ".tgz", ".bz2", ".xz", ".jar", ".cab"};
  const std::string f = AsciiLower(filename);
  for (const char* e : kExt) {
    const std::string ext(e);
    if (f.size() >= ext.size() && f.compare(f.size() - ext.size(), ext.size(), ext) == 0)
      return true;
  }
  return false;
}

std::vector<uint8_t> DecodedContent(GMimePart* part) {
  GMimeDataWrapper* w = g_mime_part_get_content(part);
  if (!w) return {};
  GPtr<GMimeStream> out(g_mime_stream_mem_new());
  if (g_mime_data_wrapper_write_to_stream(w, out.get()) < 0) return {};
  GByteArray* arr = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out.get()));
  return std::vector<uint8_t>(arr->data, arr->data + arr->len);
}

// Bytes in `charset` (or, when none was declared, whichever of the usual ones fits) as UTF-8.
std::string ToUtf8(const std::vector<uint8_t>& bytes, const std::string& charset,
                   const std::string& what, std::vector<std::string>* problems) {
  const char* p = reinterpret_cast<const char*>(bytes.data());
  const gssize n = static_cast<gssize>(bytes.size());
  auto convert = [&](const char* from) -> std::optional<std::string> {
    gsize written = 0;
    GError* err = nullptr;
    GStr out(g_convert(p, n, "UTF-8", from, nullptr, &written, &err));
    if (err) {
      g_error_free(err);
      return std::nullopt;
    }
    return std::string(out.get(), written);
  };
  if (!charset.empty() && AsciiLower(charset) != "us-ascii" && AsciiLower(charset) != "utf-8" &&
      AsciiLower(charset) != "utf8") {
    // GMime knows the aliases mail software uses (ks_c_5601-1987, x-sjis, ...).
    const char* canon = g_mime_charset_iconv_name(charset.c_str());
    if (auto s = convert(canon ? canon : charset.c_str())) return *s;
    problems->push_back(fmt::format(
        "{}: declared charset '{}' could not be converted; unreadable characters were replaced",
        what, charset));
    GStr valid(g_utf8_make_valid(p, n));
    return std::string(valid.get());
  }
  if (g_utf8_validate(p, n, nullptr)) return std::string(p, bytes.size());
  if (charset.empty()) {
    for (const char* guess :
         {"EUC-KR", "SHIFT_JIS", "ISO-2022-KR", "ISO-2022-JP", "GB18030", "WINDOWS-1252"}) {
      if (auto s = convert(guess)) return *s;
    }
  }
  problems->push_back(fmt::format("{}: text is not valid {}; unreadable characters were replaced",
                                  what, charset.empty() ? "UTF-8" : charset));
  GStr valid(g_utf8_make_valid(p, n));
  return std::string(valid.get());
}

std::string StripHtml(const std::string& html) {
  std::string out;
  out.reserve(html.size());
  bool in_tag = false;
  for (size_t i = 0; i < html.size(); ++i) {
    const char c = html[i];
    if (c == '<') {
      in_tag = true;
      // Block-level tags end lines, so that "Key: value" sections survive.
      const std::string tag = AsciiLower(html.substr(i + 1, 4));
      if (tag.rfind("br", 0) == 0 || tag.rfind("p", 0) == 0 || tag.rfind("/p", 0) == 0 ||
          tag.rfind("div", 0) == 0 || tag.rfind("/div", 0) == 0 || tag.rfind("li", 0) == 0 ||
          tag.rfind("tr", 0) == 0) {
        out += '\n';
      }
    } else if (c == '>') {
      in_tag = false;
    } else if (!in_tag) {
      out += c;
    }
  }
  for (const auto& [ent, rep] :
       std::array<std::pair<std::string, std::string>, 6>{{{"&nbsp;", " "},
                                                           {"&lt;", "<"},
                                                           {"&gt;", ">"},
                                                           {"&quot;", "\""},
                                                           {"&#39;", "'"},
                                                           {"&amp;", "&"}}}) {
    for (size_t pos = 0; (pos = out.find(ent, pos)) != std::string::npos; pos += rep.size())
      out.replace(pos, ent.size(), rep);
  }
  return out;
}

struct Walker {
  const MailLimits& limits;
  ParsedMail* out;
  std::string html;  // used only when no text/plain part was found
  int parts = 0;

  void AddText(const std::string& s) {
    if (out->text.size() >= static_cast<size_t>(limits.max_text_bytes)) return;
    if (!out->text.empty() && out->text.back() != '\n') out->text += '\n';
    out->text += s.substr(0, static_cast<size_t>(limits.max_text_bytes) - out->text.size());
    if (out->text.size() >= static_cast<size_t>(limits.max_text_bytes)) {
      out->problems.push_back(fmt::format("the text is longer than {} bytes; the rest was not read",
                                          limits.max_text_bytes));
    }
  }

  void Walk(GMimeObject* obj, int depth) {
    if (!obj) return;
    if (++parts > 1000) {
      if (parts == 1001)
        out->problems.push_back(
            "the message has more than 1000 MIME parts; the rest were not read");
      return;
    }
    if (GMIME_IS_MULTIPART(obj)) {
      GMimeMultipart* mp = GMIME_MULTIPART(obj);
      const int n = g_mime_multipart_get_count(mp);
      if (n == 0)
        out->problems.push_back("a multipart section has no parts (a missing or wrong boundary?)");
      for (int i = 0; i < n; ++i) Walk(g_mime_multipart_get_part(mp, i), depth);
      return;
    }
    if (GMIME_IS_MESSAGE_PART(obj)) {
      GMimeMessage* inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
      if (depth + 1 > limits.max_nesting) {
        out->problems.push_back(fmt::format(
            "a forwarded message nested more than {} deep was not read", limits.max_nesting));
        return;
      }
      if (inner) {
        AddText(fmt::format("---- forwarded message: {} ----",
                            OrEmpty(g_mime_message_get_subject(inner))));
        Walk(g_mime_message_get_mime_part(inner), depth + 1);
      }
      return;
    }
    if (!GMIME_IS_PART(obj)) return;
    GMimePart* part = GMIME_PART(obj);
    GMimeContentType* ct = g_mime_object_get_content_type(obj);
    const std::string type =
        ct ? AsciiLower(fmt::format("{}/{}", OrEmpty(g_mime_content_type_get_media_type(ct)),
                                    OrEmpty(g_mime_content_type_get_media_subtype(ct))))
           : "text/plain";
    const std::string filename = OrEmpty(g_mime_part_get_filename(part));
    const GMimeContentDisposition* disp = g_mime_object_get_content_disposition(obj);
    const bool attachment = disp && g_mime_content_disposition_is_attachment(
                                        const_cast<GMimeContentDisposition*>(disp));
    const std::string name = filename.empty() ? fmt::format("part {}", parts) : filename;
    if (type.rfind("text/", 0) == 0 && (type == "text/plain" || type == "text/html")) {
      std::vector<uint8_t> bytes = DecodedContent(part);
      const std::string charset =
          ct ? OrEmpty(g_mime_content_type_get_parameter(ct, "charset")) : "";
      const std::string what = attachment || !filename.empty()
                                   ? fmt::format("attachment '{}'", name)
                                   : "the message text";
      std::string text = ToUtf8(bytes, charset, what, &out->problems);
      if (type == "text/html") {
        if (attachment || !filename.empty())
          AddText(StripHtml(text));
        else
          html += StripHtml(text) + "\n";
      } else {
        AddText(text);
      }
      return;
    }
    if (IsArchive(type, filename)) {
      out->problems.push_back(
          fmt::format("attachment '{}' ({}) is an archive and was not opened: attach the images or "
                      "videos themselves",
                      name, type));
      return;
    }
    if (type.rfind("text/", 0) == 0 || type == "application/pgp-signature" ||
        type == "application/pkcs7-signature") {
      return;  // calendars, vcards, signatures: not evidence, nothing to report
    }
    if (static_cast<int>(out->attachments.size()) >= limits.max_attachments) {
      out->problems.push_back(fmt::format("attachment '{}' was not read: more than {} attachments",
                                          name, limits.max_attachments));
      return;
    }
    Attachment a;
    a.filename = name;
    a.content_type = type;
    a.data = DecodedContent(part);
    a.size = static_cast<int64_t>(a.data.size());
    if (a.size > limits.max_attachment_bytes) {
      out->problems.push_back(
          fmt::format("attachment '{}' is {} bytes, over the limit of {}: not used", name, a.size,
                      limits.max_attachment_bytes));
      a.data.clear();
      a.data.shrink_to_fit();
    }
    out->attachments.push_back(std::move(a));
  }
};

}  // namespace

std::string DomainOf(std::string_view address) {
  const size_t at = address.rfind('@');
  return at == std::string_view::npos ? "" : AsciiLower(std::string(address.substr(at + 1)));
}

Result<ParsedMail> ParseMail(std::string_view raw, const MailLimits& limits) {
  InitGMime();
  if (raw.empty()) return InvalidArgument("the message is empty");
  const size_t hend = HeaderEnd(raw);
  const size_t hlen = hend == std::string_view::npos ? raw.size() : hend;
  if (hlen > limits.max_header_bytes) {
    return InvalidArgument(fmt::format("the header block is {} bytes, over the limit of {}", hlen,
                                       limits.max_header_bytes));
  }
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(raw.data(), raw.size()));
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  GMimeParserOptions* opts = g_mime_parser_options_new();
  const char* fallback[] = {"UTF-8", "EUC-KR", "SHIFT_JIS", "ISO-8859-1", nullptr};
  g_mime_parser_options_set_fallback_charsets(opts, fallback);
  GPtr<GMimeMessage> msg(g_mime_parser_construct_message(parser.get(), opts));
  g_mime_parser_options_free(opts);
  if (!msg) return InvalidArgument("not a MIME message: no header could be read");

  ParsedMail m;
  m.message_id = OrEmpty(g_mime_message_get_message_id(msg.get()));
  FirstMailbox(g_mime_message_get_from(msg.get()), &m.from_address, &m.from_name);
  FirstMailbox(g_mime_message_get_reply_to(msg.get()), &m.reply_to, nullptr);
  if (m.from_address.empty()) return InvalidArgument("the message has no From address");
  m.subject = OrEmpty(g_mime_message_get_subject(msg.get()));
  if (!g_utf8_validate(m.subject.data(), static_cast<gssize>(m.subject.size()), nullptr)) {
    GStr valid(g_utf8_make_valid(m.subject.data(), static_cast<gssize>(m.subject.size())));
    m.subject = valid.get();
    m.problems.push_back(
        "the subject is not in a known charset; unreadable characters were replaced");
  }
  m.references = OrEmpty(g_mime_object_get_header(GMIME_OBJECT(msg.get()), "References"));
  m.in_reply_to = OrEmpty(g_mime_object_get_header(GMIME_OBJECT(msg.get()), "In-Reply-To"));
  if (m.in_reply_to.size() >= 2 && m.in_reply_to.front() == '<')
    m.in_reply_to = m.in_reply_to.substr(1, m.in_reply_to.find('>') - 1);
  m.date = OrEmpty(g_mime_object_get_header(GMIME_OBJECT(msg.get()), "Date"));
  m.takedown_secret =
      OrEmpty(g_mime_object_get_header(GMIME_OBJECT(msg.get()), "X-Takedown-Secret"));
  m.takedown_reply = OrEmpty(g_mime_object_get_header(GMIME_OBJECT(msg.get()), "X-Takedown-Reply"));

  Walker w{limits, &m};
  GMimeObject* body = g_mime_message_get_mime_part(msg.get());
  if (!body) {
    m.problems.push_back("the message has no body");
  } else {
    w.Walk(body, 0);
  }
  if (m.text.empty() && !w.html.empty()) w.AddText(w.html);
  return m;
}

Result<ParsedMail> ParseHeaderOnly(std::string_view header, const MailLimits& limits) {
  std::string h(header.substr(0, std::min(header.size(), HeaderEnd(header))));
  h += "\r\n\r\n";
  TD_ASSIGN_OR_RETURN(ParsedMail m, ParseMail(h, limits));
  m.truncated = true;
  m.problems.clear();
  return m;
}

Result<std::string> ComposeMail(const OutgoingMail& in) {
  InitGMime();
  GPtr<GMimeMessage> msg(g_mime_message_new(TRUE));
  g_mime_message_add_mailbox(msg.get(), GMIME_ADDRESS_TYPE_FROM, in.from_name.c_str(),
                             in.from_address.c_str());
  g_mime_message_add_mailbox(msg.get(), GMIME_ADDRESS_TYPE_TO, "", in.to_address.c_str());
  g_mime_message_set_subject(msg.get(), in.subject.c_str(), "utf-8");
  std::string id = in.message_id;
  if (id.empty()) {
    std::random_device rd;
    id = fmt::format("{:016x}{:08x}.takedown@{}", (uint64_t{rd()} << 32) | rd(), rd(),
                     DomainOf(in.from_address).empty() ? "localhost" : DomainOf(in.from_address));
  }
  g_mime_message_set_message_id(msg.get(), id.c_str());
  GDateTime* now = g_date_time_new_now_utc();
  g_mime_message_set_date(msg.get(), now);
  g_date_time_unref(now);
  if (!in.in_reply_to.empty()) {
    g_mime_object_set_header(GMIME_OBJECT(msg.get()), "In-Reply-To",
                             fmt::format("<{}>", in.in_reply_to).c_str(), nullptr);
    std::string refs = in.references;
    if (!refs.empty()) refs += ' ';
    refs += fmt::format("<{}>", in.in_reply_to);
    g_mime_object_set_header(GMIME_OBJECT(msg.get()), "References", refs.c_str(), nullptr);
  }
  for (const auto& [k, v] : in.extra_headers)
    g_mime_object_set_header(GMIME_OBJECT(msg.get()), k.c_str(), v.c_str(), "utf-8");
  GPtr<GMimeTextPart> body(g_mime_text_part_new_with_subtype("plain"));
  g_mime_text_part_set_text(body.get(), in.text.c_str());  // picks charset (us-ascii or utf-8)
  g_mime_message_set_mime_part(msg.get(), GMIME_OBJECT(body.get()));
  g_mime_object_encode(GMIME_OBJECT(msg.get()),
                       GMIME_ENCODING_CONSTRAINT_7BIT);  // quoted-printable/base64 for UTF-8

  GMimeFormatOptions* fo = g_mime_format_options_new();
  g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
  GStr s(g_mime_object_to_string(GMIME_OBJECT(msg.get()), fo));
  g_mime_format_options_free(fo);
  if (!s) return Internal("the reply could not be serialised");
  return std::string(s.get());
}

}  // namespace takedown::mail
