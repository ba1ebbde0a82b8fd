#include "mail/mail_line.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <kainjow/mustache.hpp>
#include <set>
#include <sstream>

#include "core/clock.h"
#include "core/text.h"
#include "hash/digest.h"
#include "media/format.h"

namespace takedown::mail {
namespace {

std::string Trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// The fields a structured section ("Key: value" lines) may carry, by normalised key: English and
// Korean names, case, spaces, hyphens and underscores ignored.
const std::map<std::string, std::string>& FieldNames() {
  static const std::map<std::string, std::string> m = {
      {"category", "category"},
      {"분류", "category"},
      {"카테고리", "category"},
      {"유형", "category"},
      {"legalbasis", "legal_basis"},
      {"법적근거", "legal_basis"},
      {"근거법령", "legal_basis"},
      {"casereference", "case_reference"},
      {"caseref", "case_reference"},
      {"case", "case_reference"},
      {"사건번호", "case_reference"},
      {"접수번호", "case_reference"},
      {"심의번호", "case_reference"},
      {"issuingauthority", "issuing_authority"},
      {"authority", "issuing_authority"},
      {"요청기관", "issuing_authority"},
      {"기관", "issuing_authority"},
      {"explanation", "explanation"},
      {"reason", "explanation"},
      {"사유", "explanation"},
      {"요청사유", "explanation"},
      {"설명", "explanation"},
      {"territorialscope", "territorial_scope"},
      {"scope", "territorial_scope"},
      {"적용범위", "territorial_scope"},
      {"signature", "signature"},
      {"서명", "signature"},
      {"accuracystatement", "accuracy_statement"},
      {"goodfaithstatement", "good_faith_statement"},
      {"pdq", "pdq"},
      {"md5", "md5"},
      {"sha256", "sha256"},
      {"contentid", "content_id"},
      {"콘텐츠id", "content_id"},
      {"secret", "secret"},
      {"비밀키", "secret"},
  };
  return m;
}

const std::map<std::string, std::string>& CategoryNames() {
  static const std::map<std::string, std::string> m = {
      {"ncii", "ncii"},
      {"csam", "csam"},
      {"deepfake-sexual", "deepfake-sexual"},
      {"deepfake", "deepfake-sexual"},
      {"terrorism", "terrorism"},
      {"other", "other"},
      {"딥페이크", "deepfake-sexual"},
      {"허위영상물", "deepfake-sexual"},
      {"불법촬영물", "ncii"},
      {"불법촬영", "ncii"},
      {"비동의촬영물", "ncii"},
      {"아동성착취물", "csam"},
      {"아동성학대", "csam"},
      {"테러", "terrorism"},
      {"기타", "other"},
  };
  return m;
}

std::string NormaliseKey(const std::string& k) {
  std::string out;
  for (unsigned char c : k) {
    if (c == ' ' || c == '-' || c == '_' || c == '\t') continue;
    out += static_cast<char>(std::tolower(c));
  }
  return out;
}

bool Yes(const std::string& v) {
  const std::string l = AsciiLower(Trim(v));
  return l == "yes" || l == "true" || l == "y" || l == "예" || l == "네" || l == "동의";
}

struct Understood {
  std::map<std::string, std::string> fields;  // single-valued notice fields
  std::vector<std::string> pdq, md5, sha256, content_ids;
  std::string secret;
  std::string rest;  // the text without the structured lines
};

Understood ReadSections(const std::string& text) {
  Understood u;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const std::string t = Trim(line);
    size_t colon = t.find(':');
    const size_t wide = t.find("\xEF\xBC\x9A");  // a full-width colon, as Korean keyboards type it
    size_t skip = 1;
    if (wide != std::string::npos && (colon == std::string::npos || wide < colon)) {
      colon = wide;
      skip = 3;
    }
    if (!t.empty() && t[0] != '>' && colon != std::string::npos && colon > 0 && colon <= 48) {
      const auto it = FieldNames().find(NormaliseKey(t.substr(0, colon)));
      if (it != FieldNames().end()) {
        const std::string v = Trim(t.substr(colon + skip));
        const std::string& f = it->second;
        if (f == "pdq")
          u.pdq.push_back(AsciiLower(v));
        else if (f == "md5")
          u.md5.push_back(AsciiLower(v));
        else if (f == "sha256")
          u.sha256.push_back(AsciiLower(v));
        else if (f == "content_id")
          u.content_ids.push_back(v);
        else if (f == "secret")
          u.secret = v;
        else if (!u.fields.count(f))
          u.fields[f] = v;
        continue;  // structured lines (and the secret) are not part of the free text
      }
    }
    u.rest += line + "\n";
  }
  return u;
}

bool Aligned(const std::string& from_domain, const std::string& signer) {
  return !signer.empty() && (from_domain == signer || (from_domain.size() > signer.size() &&
                                                       from_domain.ends_with("." + signer)));
}

kainjow::mustache::data ToMustache(const json& j) {
  using kainjow::mustache::data;
  if (j.is_object()) {
    data d;
    for (const auto& [k, v] : j.items()) {
      if (v.is_string() && v.get<std::string>().empty())
        continue;  // absent: "{{#k}}" sections skip it
      d.set(k, ToMustache(v));
    }
    return d;
  }
  if (j.is_array()) {
    data l{data::type::list};
    for (const auto& v : j) l.push_back(ToMustache(v));
    return l;
  }
  if (j.is_boolean())
    return j.get<bool>() ? data{data::type::bool_true} : data{data::type::bool_false};
  if (j.is_string()) return data{j.get<std::string>()};
  if (j.is_null()) return data{std::string()};
  return data{j.dump()};
}

}  // namespace

std::vector<std::string> DefaultLinkPatterns() {
  return {
      // ...?content_id=ID or &content_id=ID
      R"(https?://[^\s<>"']*[?&]content_id=([A-Za-z0-9._~-]{1,128}))",
      // https://host/.../m/ID (message, media and content paths)
      R"(https?://[A-Za-z0-9.-]+(?::\d+)?/(?:[^\s<>"'?#]*/)?(?:m|msg|message|messages|media|content|c)/([A-Za-z0-9._~-]{1,128}))",
  };
}

Result<std::unique_ptr<MailLine>> MailLine::Create(service::Workflow* workflow, store::Store* store,
                                                   MailLineOptions o) {
  if (o.address.empty() || o.address.find('@') == std::string::npos)
    return InvalidArgument("mail.address: the line's own email address is missing");
  if (o.mailboxes.empty()) return InvalidArgument("mail: no IMAP mailbox configured");
  if (o.smtp.url.empty())
    return InvalidArgument("mail.smtp_url: missing (replies go out over SMTP)");
  if (o.poll_interval_s < 1) return InvalidArgument("mail.poll_interval_s: must be at least 1");
  std::unique_ptr<MailLine> m(new MailLine(workflow, store, std::move(o)));
  TD_ASSIGN_OR_RETURN(m->dkim_, DkimVerifier::Create(m->opt_.dkim_key_file));
  for (const auto& b : m->opt_.mailboxes) m->boxes_.push_back(std::make_unique<ImapMailbox>(b));
  m->smtp_ = std::make_unique<SmtpSender>(m->opt_.smtp);
  if (m->opt_.link_patterns.empty()) m->opt_.link_patterns = DefaultLinkPatterns();
  for (const auto& p : m->opt_.link_patterns) {
    try {
      std::regex re(p, std::regex::ECMAScript | std::regex::icase);
      if (re.mark_count() < 1)
        return InvalidArgument(
            fmt::format("mail.link_patterns: '{}' has no group for the content id", p));
      m->patterns_.push_back(std::move(re));
    } catch (const std::regex_error& e) {
      return InvalidArgument(
          fmt::format("mail.link_patterns: '{}' is not a regular expression ({})", p, e.what()));
    }
  }
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(m->opt_.templates_dir, ec)) {
    const std::string name = e.path().filename().string();
    if (!name.ends_with(".mustache")) continue;
    std::ifstream f(e.path(), std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    kainjow::mustache::mustache t(ss.str());
    if (!t.is_valid())
      return InvalidArgument(
          fmt::format("mail template {}: {}", e.path().string(), t.error_message()));
    m->templates_[name.substr(0, name.size() - 9)] = ss.str();
  }
  if (ec)
    return NotFound(fmt::format("mail.templates_dir {}: {}", m->opt_.templates_dir, ec.message()));
  for (const char* kind : {"ack", "refused", "confirmed", "rejected", "too_large", "bounce"}) {
    if (!m->templates_.count(fmt::format("{}.en", kind))) {
      return NotFound(fmt::format("mail.templates_dir {}: {}.en.mustache is missing",
                                  m->opt_.templates_dir, kind));
    }
  }
  return m;
}

MailLine::~MailLine() { Stop(); }

void MailLine::Start() {
  wf_->SetClosedListener([this](int64_t) { Wake(); });
  thread_ = std::thread([this] { Loop(); });
}

void MailLine::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
    wf_->SetClosedListener(nullptr);
  }
}

void MailLine::Wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void MailLine::Loop() {
  for (;;) {
    const bool backlog = RunOnce();
    std::unique_lock lock(mu_);
    if (backlog) {  // a full batch: more is waiting, take it now
      if (stopping_) return;
      continue;
    }
    cv_.wait_for(lock, std::chrono::seconds(opt_.poll_interval_s),
                 [this] { return stopping_ || woken_; });
    woken_ = false;
    if (stopping_) return;
  }
}

bool MailLine::RunOnce() {
  // A server that is down fails every round: the same warning is logged once a minute, with
  // how often it repeated, and once more when it clears.
  auto warn = [this](const std::string& what, const Status& st) {
    std::lock_guard lock(mu_);
    auto& w = warnings_[what];
    const int64_t now = NowMs();
    if (st.ok()) {
      if (w.repeats > 0 || !w.last.empty()) spdlog::info("mail: {}: working again", what);
      warnings_.erase(what);
      return;
    }
    const std::string msg(st.message());
    if (msg == w.last && now - w.logged_ms < 60'000) {
      ++w.repeats;
      return;
    }
    spdlog::warn("mail: {}: {}{}", what, msg,
                 w.repeats > 0 ? fmt::format(" (and {} more times)", w.repeats) : "");
    w = {msg, now, 0};
  };
  auto taken = PollMailboxes();
  warn("reading the mailboxes", taken.status());
  auto closings = QueueClosings();
  warn("closing replies", closings.status());
  auto sent = SendDue();
  warn("sending replies", sent.status());
  return taken.ok() && static_cast<size_t>(*taken) >= opt_.batch;
}

Result<int> MailLine::PollMailboxes() {
  int taken = 0;
  Status first = Status::Ok();
  for (auto& box : boxes_) {
    auto list = box->Untaken(opt_.batch);
    if (!list.ok()) {
      ++stats_.poll_errors;
      if (first.ok()) first = list.status();
      continue;
    }
    for (const auto& info : *list) {
      const bool too_large = info.size > opt_.max_message_bytes;
      auto raw = box->Fetch(info.uid, too_large);
      if (!raw.ok()) {
        ++stats_.poll_errors;
        if (first.ok()) first = raw.status();
        break;
      }
      auto r = Take(*raw, box->Describe(), info.size);
      if (!r.ok()) {  // the store failed: leave the message for the next round
        if (first.ok()) first = r.status();
        break;
      }
      if (Status s = box->MarkTaken(info.uid); !s.ok()) {
        ++stats_.poll_errors;  // taken again next round: the Message-ID makes it a duplicate
        if (first.ok()) first = s;
        break;
      }
      ++taken;
      // Replies go out between messages, so that a long queue does not hold up the first ack.
      if (taken % 10 == 0) (void)SendDue();
    }
  }
  if (!first.ok() && taken == 0) return first;
  if (!first.ok()) spdlog::warn("mail: {}", first.message());
  return taken;
}

Result<std::optional<MailLine::Requester>> MailLine::FindRequester(const std::string& from) {
  TD_ASSIGN_OR_RETURN(auto docs, store_->FindDocs({.kind = "requester", .limit = 100000}));
  const std::string domain = DomainOf(from);
  std::optional<Requester> by_domain;
  for (const auto& d : docs) {
    json p = json::parse(d.doc, nullptr, false);
    if (p.is_discarded() || !p.contains("email")) continue;
    const json& e = p["email"];
    Requester r{d.owner, "", p};
    for (const auto& a : e.value("addresses", json::array())) {
      if (a.is_string() && a.get<std::string>() == from) {
        by_domain = r;
        goto found;  // an exact address beats any domain
      }
    }
    for (const auto& dom : e.value("domains", json::array())) {
      if (!dom.is_string() || by_domain) continue;
      const std::string dd = dom.get<std::string>();
      if (domain == dd || (domain.size() > dd.size() && domain.ends_with("." + dd))) by_domain = r;
    }
  }
found:
  if (!by_domain) return std::optional<Requester>();
  TD_ASSIGN_OR_RETURN(auto keys, store_->ListKeys());
  for (const auto& k : keys) {
    if (k.id == by_domain->key_id) {
      if (k.revoked || k.role != "requester") return std::optional<Requester>();
      by_domain->key_name = k.name;
      return by_domain;
    }
  }
  return std::optional<Requester>();
}

Result<std::string> MailLine::Render(const std::string& kind, const json& profile,
                                     const json& data) const {
  const json& e = profile.contains("email") ? profile["email"] : json::object();
  const std::string lang = e.value("language", std::string("en")),
                    tmpl = e.value("template", std::string());
  const std::string* text = nullptr;
  for (const std::string& name :
       {tmpl.empty() ? std::string() : fmt::format("{}.{}.{}", tmpl, kind, lang),
        fmt::format("{}.{}", kind, lang), fmt::format("{}.en", kind)}) {
    if (name.empty()) continue;
    if (auto it = templates_.find(name); it != templates_.end()) {
      text = &it->second;
      break;
    }
  }
  if (!text) return NotFound(fmt::format("no mail template for {}", kind));
  kainjow::mustache::mustache t(*text);
  t.set_custom_escape([](const std::string& s) { return s; });  // plain text, not HTML
  return t.render(ToMustache(data));
}

// A reply to the message of `mail_in`, rendered and composed now (so that what is sent is what
// was decided), queued as a mail_out document.
Result<store::DocRecord> MailLine::Reply(const std::string& kind, const std::string& ukey,
                                         const json& mail_in, const json& profile,
                                         const json& data) {
  TD_ASSIGN_OR_RETURN(std::string rendered, Render(kind, profile, data));
  // The template's first line is "Subject: ...", then a blank line, then the body.
  std::string subject = "Re: " + mail_in.value("subject", std::string());
  std::string body = rendered;
  if (rendered.rfind("Subject:", 0) == 0) {
    const size_t nl = rendered.find('\n');
    subject = Trim(rendered.substr(8, nl == std::string::npos ? std::string::npos : nl - 8));
    body = nl == std::string::npos ? "" : rendered.substr(nl + 1);
    while (!body.empty() && (body[0] == '\n' || body[0] == '\r')) body.erase(0, 1);
  }
  OutgoingMail m;
  m.from_address = opt_.address;
  m.from_name = opt_.display_name;
  m.to_address = mail_in.value("from", std::string());
  m.subject = subject;
  m.text = body;
  m.in_reply_to = mail_in.value("message_id", std::string());
  m.references = mail_in.value("references", std::string());
  // Machine-readable for the requester's own tooling: which reply this is, for which request.
  m.extra_headers = {{"Auto-Submitted", "auto-replied"}, {"X-Takedown-Reply", kind}};
  if (mail_in.value("request_id", int64_t{0}) > 0)
    m.extra_headers.push_back(
        {"X-Takedown-Request", std::to_string(mail_in["request_id"].get<int64_t>())});
  TD_ASSIGN_OR_RETURN(std::string raw, ComposeMail(m));
  json out = {{"status", "pending"},
              {"ukey", ukey},
              {"kind", kind},
              {"to", m.to_address},
              {"subject", subject},
              {"raw", raw},
              {"request_id", mail_in.value("request_id", int64_t{0})},
              {"in_reply_to", m.in_reply_to},
              {"attempts", 0},
              {"queued_ms", NowMs()},
              {"due_ms", NowMs()},
              {"owner_id", mail_in.value("request_id", int64_t{0})}};
  return service::DocumentRecord("mail_out", out);
}

Result<TakeResult> MailLine::Record(const json& mail_in, const std::vector<store::DocRecord>& out,
                                    const std::string& audit_kind, const json& audit,
                                    TakeResult result) {
  store::Store::Changes ch;
  ch.docs.push_back(service::DocumentRecord("mail_in", mail_in));
  for (const auto& o : out) ch.docs.push_back(o);
  if (!audit_kind.empty()) ch.audits.push_back({"mail", audit_kind, audit.dump()});
  TD_RETURN_IF_ERROR(store_->Transact(ch).status());
  return result;
}

Result<TakeResult> MailLine::Take(std::string_view raw, const std::string& mailbox,
                                  int64_t full_size) {
  ++stats_.taken;
  const int64_t size = std::max<int64_t>(full_size, static_cast<int64_t>(raw.size()));
  const bool too_large = size > opt_.max_message_bytes;
  auto parsed = too_large ? ParseHeaderOnly(raw, opt_.limits) : ParseMail(raw, opt_.limits);
  const int64_t now = NowMs();
  if (!parsed.ok()) {  // no usable header: nobody to answer; recorded so the operator sees it
    ++stats_.unreadable;
    const std::string key = "mail-sha256:" + hash::Sha256HexOfText(raw.substr(
                                                 0, std::min<size_t>(raw.size(), 1 << 20)));
    TD_ASSIGN_OR_RETURN(auto known, store_->FindDocs({.kind = "mail_in", .limit = 1, .ukey = key}));
    if (!known.empty()) {
      ++stats_.duplicates;
      return TakeResult{"duplicate", 0, "taken before"};
    }
    json in = {{"status", "unreadable"},
               {"ukey", key},
               {"mailbox", mailbox},
               {"received_ms", now},
               {"reason", parsed.status().message()},
               {"size", size}};
    spdlog::warn("mail: an unreadable message in {}: {}", mailbox, parsed.status().message());
    return Record(in, {}, "mail.unreadable",
                  {{"mailbox", mailbox}, {"reason", parsed.status().message()}, {"size", size}},
                  {"unreadable", 0, std::string(parsed.status().message())});
  }
  ParsedMail& m = *parsed;
  std::string raw_sha;  // the whole message's digest, computed when a key needs it, at most once
  auto raw_digest = [&]() -> const std::string& {
    if (raw_sha.empty()) raw_sha = hash::Sha256HexOfText(raw);
    return raw_sha;
  };
  // Messages that pass authentication are keyed by Message-ID: a replay, or a message taken
  // again after a crash, is never filed twice. A quarantined one is keyed by its bytes instead,
  // so that a forgery cannot take a Message-ID ahead of the real message and have it dropped.
  const std::string key =
      m.message_id.empty() ? "mail-sha256:" + raw_digest() : "mail:" + AsciiLower(m.message_id);
  auto duplicate = [&](const std::string& k) -> Result<std::optional<TakeResult>> {
    TD_ASSIGN_OR_RETURN(auto known, store_->FindDocs({.kind = "mail_in", .limit = 1, .ukey = k}));
    if (known.empty()) return std::optional<TakeResult>();
    ++stats_.duplicates;
    const json first = json::parse(known.front().doc, nullptr, false);
    TD_RETURN_IF_ERROR(store_
                           ->AppendAudit("mail", "mail.duplicate",
                                         json{{"message_id", m.message_id},
                                              {"from", m.from_address},
                                              {"first", known.front().id},
                                              {"first_status", known.front().state}}
                                             .dump())
                           .status());
    return std::optional<TakeResult>(
        TakeResult{"duplicate", first.is_discarded() ? 0 : first.value("request_id", int64_t{0}),
                   "this message was taken before"});
  };
  json in = {{"ukey", key},
             {"mailbox", mailbox},
             {"message_id", m.message_id},
             {"from", m.from_address},
             {"subject", m.subject},
             {"references", m.references},
             {"received_ms", now},
             {"size", size}};

  // What the message says in "Key: value" lines (the shared secret among them).
  Understood u = too_large ? Understood{} : ReadSections(m.text);

  // Authentication: the requester whose allowlist has the sender, DKIM aligned with the From
  // domain (unless the requester's profile says otherwise), and the shared secret if it has one.
  TD_ASSIGN_OR_RETURN(auto requester, FindRequester(m.from_address));
  std::string failure;
  DkimResult dkim;
  if (!requester) {
    failure = fmt::format("sender {} is on no requester's allowlist", m.from_address);
  } else {
    const json& e = requester->profile["email"];
    const std::string mode = e.value("dkim", std::string("required"));
    if (mode != "off" && !too_large) {
      dkim = dkim_->Verify(raw);
      const std::string from_domain = DomainOf(m.from_address);
      const bool aligned =
          std::any_of(dkim.passed_domains.begin(), dkim.passed_domains.end(),
                      [&](const std::string& d) { return Aligned(from_domain, d); });
      if (!aligned && (mode == "required" || dkim.any_signature)) {
        failure =
            dkim.passed_domains.empty()
                ? dkim.summary
                : fmt::format("{}, not aligned with the From domain {}", dkim.summary, from_domain);
      }
    }
    if (failure.empty() && e.contains("secret_sha256") && !too_large) {
      std::string given = u.secret.empty() ? m.takedown_secret : u.secret;
      const std::string want = e["secret_sha256"].get<std::string>(),
                        got = hash::Sha256HexOfText(given);
      if (given.empty() || CRYPTO_memcmp(want.data(), got.data(), want.size()) != 0)
        failure = "the shared secret is missing or wrong";
    }
  }
  if (!failure.empty()) {
    in["ukey"] = "mail-q:" + raw_digest();
    TD_ASSIGN_OR_RETURN(auto dup, duplicate(in["ukey"].get<std::string>()));
    if (dup) return *dup;
    ++stats_.quarantined;
    in["status"] = "quarantined";
    in["reason"] = failure;
    in["owner_id"] = requester ? requester->key_id : 0;
    spdlog::warn("mail: quarantined <{}> from {}: {}", m.message_id, m.from_address, failure);
    std::vector<store::DocRecord> out;
    if (opt_.neutral_bounce) {
      TD_ASSIGN_OR_RETURN(auto r, Reply("bounce", "out:bounce:" + in["ukey"].get<std::string>(), in,
                                        json::object(), json{{"subject", m.subject}}));
      out.push_back(r);
    }
    return Record(in, out, "mail.quarantined",
                  {{"message_id", m.message_id},
                   {"from", m.from_address},
                   {"mailbox", mailbox},
                   {"reason", failure},
                   {"dkim", dkim.summary}},
                  {"quarantined", 0, failure});
  }
  // A message too large to read was not authenticated by DKIM (its body is not fetched): keyed
  // by its header's bytes, like a quarantined one, it cannot occupy its Message-ID either.
  if (too_large) in["ukey"] = "mail-big:" + raw_digest();
  TD_ASSIGN_OR_RETURN(auto dup, duplicate(in["ukey"].get<std::string>()));
  if (dup) return *dup;
  const json& profile = requester->profile;
  const json& e = profile["email"];
  in["owner_id"] = requester->key_id;
  json data = {{"line", opt_.address},
               {"subject", m.subject},
               {"received_at", IsoUtc(now)},
               {"requester", profile.value("name", requester->key_name)}};

  if (too_large) {
    ++stats_.too_large;
    in["status"] = "too_large";
    data["size"] = size;
    data["limit"] = opt_.max_message_bytes;
    TD_ASSIGN_OR_RETURN(auto r, Reply("too_large", "out:too_large:" + in["ukey"].get<std::string>(),
                                      in, profile, data));
    return Record(in, {r}, "mail.too_large",
                  {{"message_id", m.message_id},
                   {"from", m.from_address},
                   {"size", size},
                   {"limit", opt_.max_message_bytes}},
                  {"too_large", 0,
                   fmt::format("{} bytes, over the limit of {}", size, opt_.max_message_bytes)});
  }

  // What the message asks: the structured section, then the free text's links, then media.
  std::vector<std::string> problems = m.problems;
  json body = json::object();
  std::string category = u.fields.count("category") ? u.fields["category"]
                                                    : e.value("default_category", std::string());
  if (auto it = CategoryNames().find(AsciiLower(Trim(category))); it != CategoryNames().end())
    category = it->second;
  body["category"] = category;
  std::string explanation = u.fields.count("explanation") ? u.fields["explanation"] : "";
  if (explanation.empty()) explanation = Trim(m.subject + "\n" + Trim(u.rest).substr(0, 2000));
  body["explanation"] = explanation;
  body["notifier"] = {{"name", m.from_name.empty() ? m.from_address : m.from_name},
                      {"email", m.from_address}};
  const bool standing = e.value("standing_statements", false);
  body["accuracy_statement"] =
      u.fields.count("accuracy_statement") ? Yes(u.fields["accuracy_statement"]) : standing;
  body["good_faith_statement"] =
      u.fields.count("good_faith_statement") ? Yes(u.fields["good_faith_statement"]) : standing;
  for (const char* f :
       {"legal_basis", "issuing_authority", "case_reference", "territorial_scope", "signature"}) {
    if (u.fields.count(f)) body[f] = u.fields[f];
  }
  if (!body.contains("legal_basis") && !e.value("legal_basis", std::string()).empty())
    body["legal_basis"] = e["legal_basis"];
  if (!body.contains("issuing_authority")) {
    const std::string ia = e.value("issuing_authority", std::string());
    if (!ia.empty())
      body["issuing_authority"] = ia;
    else if (profile.value("source_type", std::string()) == "authority_order" &&
             !profile.value("name", std::string()).empty())
      body["issuing_authority"] = profile["name"];
  }

  json evidence = json::array();
  json labels = json::array();  // what each evidence item was in the message, for the reply
  std::map<size_t, std::vector<uint8_t>> media;
  auto add_hash = [&](const char* kind, const std::vector<std::string>& values, size_t len) {
    for (const auto& v : values) {
      if (!IsLowerHex(v, len)) {
        problems.push_back(
            fmt::format("{} '{}' is not {} hex digits: not used", kind, v.substr(0, 80), len));
        continue;
      }
      evidence.push_back({{kind, v}});
      labels.push_back(fmt::format("{} {}", kind, v));
    }
  };
  add_hash("pdq", u.pdq, 64);
  add_hash("md5", u.md5, 32);
  add_hash("sha256", u.sha256, 64);
  std::set<std::string> seen_ids;
  for (const auto& id : u.content_ids) {
    if (id.empty() || !seen_ids.insert(id).second) continue;
    evidence.push_back({{"content_id", id}});
    labels.push_back(fmt::format("content id {}", id));
  }
  for (const auto& re : patterns_) {
    for (std::sregex_iterator it(m.text.begin(), m.text.end(), re), end; it != end; ++it) {
      const std::string id = (*it)[1], whole = (*it)[0];
      if (id.empty() || !seen_ids.insert(id).second) continue;
      json item = {{"content_id", id}};
      if (whole.rfind("http", 0) == 0) item["message_link"] = whole;
      evidence.push_back(item);
      labels.push_back(whole.rfind("http", 0) == 0 ? fmt::format("link {}", whole)
                                                   : fmt::format("content id {}", id));
    }
  }
  for (auto& a : m.attachments) {
    if (a.data.empty()) continue;  // over the limit: already a problem
    const bool media_type =
        a.content_type.rfind("image/", 0) == 0 || a.content_type.rfind("video/", 0) == 0;
    const bool known_bytes =
        media::SniffImageFormat(a.data) != media::ImageFormat::kUnknown ||
        (a.data.size() > 12 && std::string(a.data.begin() + 4, a.data.begin() + 8) == "ftyp") ||
        (a.data.size() > 4 && a.data[0] == 0x1A && a.data[1] == 0x45 && a.data[2] == 0xDF &&
         a.data[3] == 0xA3);
    if (!media_type && !known_bytes) {
      problems.push_back(
          fmt::format("attachment '{}' ({}) is not an image or video: not used as evidence",
                      a.filename, a.content_type));
      continue;
    }
    media[evidence.size()] = std::move(a.data);
    evidence.push_back({{"media", a.filename}});
    labels.push_back(fmt::format("attachment '{}' ({} bytes)", a.filename, a.size));
  }
  body["evidence"] = evidence;

  service::Principal who{requester->key_id, service::Role::kRequester, requester->key_name};
  auto created =
      wf_->CreateRequest(who, body, media, {.idempotency_key = key, .lenient_media = true});
  data["problems"] = problems;
  data["has_problems"] = !problems.empty();
  if (!created.ok()) {
    if (created.status().code() != StatusCode::kInvalidArgument)
      return created.status();  // the store: try again next round
    ++stats_.refused;
    std::string msg(created.status().message());
    if (msg.rfind("invalid request: ", 0) == 0) msg = msg.substr(17);
    json reasons = json::array();
    for (size_t b = 0; b < msg.size();) {
      size_t sc = msg.find("; ", b);
      if (sc == std::string::npos) sc = msg.size();
      reasons.push_back(msg.substr(b, sc - b));
      b = sc + 2;
    }
    data["reasons"] = reasons;
    in["status"] = "refused";
    in["reason"] = msg;
    TD_ASSIGN_OR_RETURN(auto r, Reply("refused", "out:refused:" + key, in, profile, data));
    spdlog::info("mail: <{}> from {} refused: {}", m.message_id, m.from_address, msg);
    return Record(in, {r}, "mail.refused",
                  {{"message_id", m.message_id}, {"from", m.from_address}, {"reasons", reasons}},
                  {"refused", 0, msg});
  }
  ++stats_.accepted;
  const json& v = *created;
  const int64_t request_id = v["id"].get<int64_t>();
  in["status"] = "open";
  in["request_id"] = request_id;
  json items = json::array();
  for (size_t i = 0; i < v["evidence"].size() && i < labels.size(); ++i) {
    const json& ev = v["evidence"][i];
    std::vector<std::string> details;
    if (ev.contains("pdq"))
      details.push_back(
          fmt::format("PDQ {} (quality {})", ev["pdq"].get<std::string>(), ev.value("quality", 0)));
    if (ev.contains("md5")) details.push_back("MD5 " + ev["md5"].get<std::string>());
    if (ev.contains("sha256")) details.push_back("SHA-256 " + ev["sha256"].get<std::string>());
    if (ev.contains("video"))
      details.push_back(fmt::format("video, {} frames hashed", ev["video"].value("frames", 0)));
    if (ev.contains("content_id"))
      details.push_back(fmt::format("content {} {}", ev["content_id"].get<std::string>(),
                                    ev.value("resolved", false) ? "found" : "not found"));
    items.push_back({{"n", i + 1},
                     {"what", labels[i]},
                     {"details", fmt::format("{}", fmt::join(details, "; "))},
                     {"problem", ev.value("problem", std::string())},
                     {"usable", ev.value("usable", false)}});
  }
  data["request_id"] = request_id;
  data["items"] = items;
  data["status"] = v["status"];
  data["under_review"] = v["status"] == "pending_review";
  data["deadline_at"] = v.value("deadline_at", std::string());
  data["category"] = v["category"];
  data["case_reference"] = v["notice"].value("case_reference", std::string());
  TD_ASSIGN_OR_RETURN(auto r, Reply("ack", "out:ack:" + key, in, profile, data));
  spdlog::info("mail: <{}> from {} filed as request {} ({})", m.message_id, m.from_address,
               request_id, v["status"].get<std::string>());
  return Record(in, {r}, "mail.accepted",
                {{"message_id", m.message_id},
                 {"from", m.from_address},
                 {"request_id", request_id},
                 {"dkim", dkim.summary}},
                {"accepted", request_id, ""});
}

Result<int> MailLine::QueueClosings() {
  int queued = 0;
  for (int64_t after = 0;;) {
    TD_ASSIGN_OR_RETURN(
        auto open,
        store_->FindDocs({.kind = "mail_in", .state = "open", .after_id = after, .limit = 500}));
    if (open.empty()) break;
    after = open.back().id;
    for (const auto& rec : open) {
      json in = json::parse(rec.doc, nullptr, false);
      if (in.is_discarded()) continue;
      in["id"] = rec.id;
      const int64_t request_id = in.value("request_id", int64_t{0});
      TD_ASSIGN_OR_RETURN(auto req, store_->GetDoc(request_id));
      if (!req || (req->state != "confirmed" && req->state != "rejected")) continue;
      service::Principal who{rec.owner, service::Role::kRequester, ""};
      TD_ASSIGN_OR_RETURN(json v, wf_->GetRequest(who, request_id));
      TD_ASSIGN_OR_RETURN(auto profile, wf_->GetRequesterProfile(rec.owner));
      json data = {{"line", opt_.address},
                   {"subject", in.value("subject", std::string())},
                   {"request_id", request_id},
                   {"requester", profile.value("name", std::string())},
                   {"category", v["category"]},
                   {"case_reference", v["notice"].value("case_reference", std::string())},
                   {"received_at", v.value("received_at", std::string())}};
      std::string kind;
      if (req->state == "confirmed") {
        kind = "confirmed";
        json removals = json::array();
        for (const auto& r : v["removals"]) {
          removals.push_back({{"content_id", r["content_id"]},
                              {"chat_id", r["chat_id"]},
                              {"removed_at", r["removed_at"]},
                              {"signal", r["signal"]},
                              {"distance", r["distance"]}});
        }
        data["removals"] = removals;
        data["count"] = removals.size();
        data["none"] = removals.empty();
        data["confirmed_at"] = IsoUtc(v.value("confirmed_ms", NowMs()));
      } else {
        kind = "rejected";
        data["reason"] = v.contains("decision") ? v["decision"].value("reason", std::string()) : "";
      }
      TD_ASSIGN_OR_RETURN(
          auto r, Reply(kind, fmt::format("out:{}:{}", kind, in.value("ukey", std::string())), in,
                        profile, data));
      in["status"] = "closed";
      in["closed_ms"] = NowMs();
      TD_RETURN_IF_ERROR(Record(in, {r}, "", json(), {}).status());
      ++queued;
    }
  }
  return queued;
}

Result<int> MailLine::SendDue() {
  int sent = 0;
  TD_ASSIGN_OR_RETURN(auto due, store_->FindDocs({.kind = "mail_out",
                                                  .state = "pending",
                                                  .due_before = NowMs(),
                                                  .limit = 200,
                                                  .by_due = true}));
  for (const auto& rec : due) {
    json o = json::parse(rec.doc, nullptr, false);
    if (o.is_discarded()) continue;
    Status s =
        smtp_->Send(opt_.address, {o.value("to", std::string())}, o.value("raw", std::string()));
    const int64_t now = NowMs();
    store::Store::Changes ch;
    store::DocRecord d = rec;
    if (s.ok()) {
      ++stats_.replies_sent;
      ++sent;
      o["status"] = "sent";
      o["sent_ms"] = now;
      ch.audits.push_back({"mail", "mail.sent",
                           json{{"kind", o["kind"]},
                                {"to", o["to"]},
                                {"request_id", o["request_id"]},
                                {"in_reply_to", o["in_reply_to"]}}
                               .dump()});
    } else {
      ++stats_.reply_failures;
      const int attempts = o.value("attempts", 0) + 1;
      o["attempts"] = attempts;
      o["last_error"] = std::string(s.message());
      if (attempts >= opt_.max_send_attempts) {
        o["status"] = "failed";
        ch.audits.push_back({"mail", "mail.failed",
                             json{{"kind", o["kind"]},
                                  {"to", o["to"]},
                                  {"request_id", o["request_id"]},
                                  {"error", s.message()}}
                                 .dump()});
      } else {
        o["due_ms"] = now + std::min<int64_t>(int64_t{1000} << std::min(attempts, 10), 600'000);
      }
      spdlog::debug("mail: reply {} to {} not sent (attempt {}): {}",
                    o.value("kind", std::string()), o.value("to", std::string()), attempts,
                    s.message());
    }
    d.state = o["status"];
    d.due_ms = o.value("due_ms", int64_t{0});
    d.doc = o.dump();
    ch.docs.push_back(d);
    TD_RETURN_IF_ERROR(store_->Transact(ch).status());
    if (!s.ok()) return s;  // the server is down: the rest waits for the next round
  }
  return sent;
}

std::string MailLine::MetricsText() const {
  std::string out =
      "# HELP takedown_mail_messages_total Messages taken from the email line, by outcome.\n# TYPE "
      "takedown_mail_messages_total counter\n";
  for (const auto& [name, v] :
       std::vector<std::pair<const char*, int64_t>>{{"accepted", stats_.accepted},
                                                    {"refused", stats_.refused},
                                                    {"quarantined", stats_.quarantined},
                                                    {"duplicate", stats_.duplicates},
                                                    {"unreadable", stats_.unreadable},
                                                    {"too_large", stats_.too_large}}) {
    out += fmt::format("takedown_mail_messages_total{{outcome=\"{}\"}} {}\n", name, v);
  }
  out += fmt::format(
      "# HELP takedown_mail_replies_total Replies sent over SMTP.\n# TYPE "
      "takedown_mail_replies_total counter\ntakedown_mail_replies_total {}\n",
      stats_.replies_sent.load());
  out += fmt::format(
      "# HELP takedown_mail_reply_failures_total Failed SMTP attempts (retried).\n# TYPE "
      "takedown_mail_reply_failures_total counter\ntakedown_mail_reply_failures_total {}\n",
      stats_.reply_failures.load());
  out += fmt::format(
      "# HELP takedown_mail_poll_errors_total Failed IMAP operations.\n# TYPE "
      "takedown_mail_poll_errors_total counter\ntakedown_mail_poll_errors_total {}\n",
      stats_.poll_errors.load());
  return out;
}

}  // namespace takedown::mail
