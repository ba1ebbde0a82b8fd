// Taking one message: parse, authenticate, read what it asks, file it through the workflow's
// intake, and record the outcome with its reply.
#include <fmt/format.h>
#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "core/clock.h"
#include "core/text.h"
#include "hash/digest.h"
#include "mail/mail_line.h"
#include "mail/sections.h"
#include "media/format.h"

namespace takedown::mail {

using service::MailIn;
using service::MailInState;
using service::MailOut;
using service::RequesterProfile;

namespace {

// Media by content type or by its first bytes (images, MP4/QuickTime, Matroska/WebM).
bool LooksLikeMedia(const Attachment& a) {
  if (a.content_type.rfind("image/", 0) == 0 || a.content_type.rfind("video/", 0) == 0) return true;
  const auto& d = a.data;
  return media::SniffImageFormat(d) != media::ImageFormat::kUnknown ||
         (d.size() > 12 && std::string(d.begin() + 4, d.begin() + 8) == "ftyp") ||
         (d.size() > 4 && d[0] == 0x1A && d[1] == 0x45 && d[2] == 0xDF && d[3] == 0xA3);
}

}  // namespace

std::string_view TakeOutcomeName(TakeOutcome o) {
  switch (o) {
    case TakeOutcome::kAccepted:
      return "accepted";
    case TakeOutcome::kRefused:
      return "refused";
    case TakeOutcome::kQuarantined:
      return "quarantined";
    case TakeOutcome::kDuplicate:
      return "duplicate";
    case TakeOutcome::kUnreadable:
      return "unreadable";
    case TakeOutcome::kTooLarge:
      return "too_large";
  }
  return "?";
}

Result<TakeResult> MailLine::Record(const MailIn& in, const std::vector<MailOut>& out,
                                    const std::string& audit_kind, const json& audit,
                                    TakeResult result) {
  store::DocumentStore::Changes ch;
  ch.docs.push_back(service::ToDoc(in));
  for (const auto& o : out) ch.docs.push_back(service::ToDoc(o));
  if (!audit_kind.empty()) ch.audits.push_back({"mail", audit_kind, audit.dump()});
  TD_RETURN_IF_ERROR(docs_->Transact(ch).status());
  if (!out.empty()) replies_->Wake();
  return result;
}

Result<TakeResult> MailLine::TakeUnreadable(std::string_view raw, const std::string& mailbox,
                                            int64_t size, const Status& why) {
  // No usable header: nobody to answer; recorded once so that the operator sees it.
  const std::string key =
      "mail-sha256:" + hash::Sha256HexOfText(raw.substr(0, std::min<size_t>(raw.size(), 1 << 20)));
  TD_ASSIGN_OR_RETURN(
      auto known,
      docs_->FindDocs({.kind = std::string(service::kMailInDoc), .limit = 1, .ukey = key}));
  if (!known.empty()) {
    Counted(TakeOutcome::kDuplicate)->Inc();
    return TakeResult{"duplicate", 0, "taken before"};
  }
  Counted(TakeOutcome::kUnreadable)->Inc();
  MailIn in;
  in.state = MailInState::kUnreadable;
  in.ukey = key;
  in.mailbox = mailbox;
  in.received_ms = wf_->env()->NowMs();
  in.reason = why.message();
  in.size = size;
  spdlog::warn("mail: an unreadable message in {}: {}", mailbox, why.message());
  return Record(in, {}, "mail.unreadable",
                {{"mailbox", mailbox}, {"reason", why.message()}, {"size", size}},
                {"unreadable", 0, why.message()});
}

Result<std::optional<TakeResult>> MailLine::Duplicate(const std::string& ukey,
                                                      const ParsedMail& m) {
  TD_ASSIGN_OR_RETURN(
      auto known,
      docs_->FindDocs({.kind = std::string(service::kMailInDoc), .limit = 1, .ukey = ukey}));
  if (known.empty()) return std::optional<TakeResult>();
  Counted(TakeOutcome::kDuplicate)->Inc();
  auto first = service::MailInFromDoc(known.front());
  store::DocumentStore::Changes ch;
  ch.audits.push_back({"mail", "mail.duplicate",
                       json{{"message_id", m.message_id},
                            {"from", m.from_address},
                            {"first", known.front().id},
                            {"first_status", known.front().state}}
                           .dump()});
  TD_RETURN_IF_ERROR(docs_->Transact(ch).status());
  return std::optional<TakeResult>(
      TakeResult{"duplicate", first.ok() ? first->request_id : 0, "this message was taken before"});
}

Result<MailLine::Authenticated> MailLine::Authenticate(std::string_view raw, const ParsedMail& m,
                                                       const std::string& secret_in_text,
                                                       bool too_large) {
  // The requester whose allowlist has the sender, DKIM aligned with the From domain (unless the
  // requester's profile says otherwise), and the shared secret if it has one.
  Authenticated a;
  TD_ASSIGN_OR_RETURN(a.sender, wf_->profiles().FindBySender(m.from_address));
  if (!a.sender) {
    a.failure = fmt::format("sender {} is on no requester's allowlist", m.from_address);
    return a;
  }
  const service::EmailSettings& e = *a.sender->profile.email;
  if (e.dkim != "off" && !too_large) {
    a.dkim = dkim_->Verify(raw);
    const std::string from_domain = DomainOf(m.from_address);
    const bool aligned = std::any_of(
        a.dkim.passed_domains.begin(), a.dkim.passed_domains.end(), [&](const std::string& signer) {
          return from_domain == signer ||
                 (from_domain.size() > signer.size() && from_domain.ends_with("." + signer));
        });
    if (!aligned && (e.dkim == "required" || a.dkim.any_signature)) {
      a.failure =
          a.dkim.passed_domains.empty()
              ? a.dkim.summary
              : fmt::format("{}, not aligned with the From domain {}", a.dkim.summary, from_domain);
      return a;
    }
  }
  if (!e.secret_sha256.empty() && !too_large) {
    const std::string given = secret_in_text.empty() ? m.takedown_secret : secret_in_text;
    const std::string got = hash::Sha256HexOfText(given);
    if (given.empty() || CRYPTO_memcmp(e.secret_sha256.data(), got.data(), got.size()) != 0) {
      a.failure = "the shared secret is missing or wrong";
    }
  }
  return a;
}

Result<TakeResult> MailLine::Quarantine(MailIn in, const ParsedMail& m, const Authenticated& auth) {
  Counted(TakeOutcome::kQuarantined)->Inc();
  in.state = MailInState::kQuarantined;
  in.reason = auth.failure;
  in.requester_key_id = auth.sender ? auth.sender->profile.key_id : 0;
  spdlog::warn("mail: quarantined <{}> from {}: {}", m.message_id, m.from_address, auth.failure);
  std::vector<MailOut> out;
  if (opt_.neutral_bounce) {
    TD_ASSIGN_OR_RETURN(auto r, Reply("bounce", "out:bounce:" + in.ukey, in, nullptr,
                                      json{{"subject", m.subject}}));
    out.push_back(std::move(r));
  }
  return Record(in, out, "mail.quarantined",
                {{"message_id", m.message_id},
                 {"from", m.from_address},
                 {"mailbox", in.mailbox},
                 {"reason", auth.failure},
                 {"dkim", auth.dkim.summary}},
                {"quarantined", 0, auth.failure});
}

// What the message asks: the structured section, then the free text's links, then media.
MailLine::Draft MailLine::DraftOf(ParsedMail& m, const Sections& u,
                                  const RequesterProfile& profile) {
  Draft d;
  d.problems = m.problems;
  const service::EmailSettings& e = *profile.email;
  auto field = [&](const char* f) -> std::string {
    auto it = u.fields.find(f);
    return it == u.fields.end() ? "" : it->second;
  };
  intake::NoticeDraft& n = d.notice;
  n.category = u.fields.count("category") ? field("category") : e.default_category;
  n.category = CanonicalCategory(n.category);
  n.explanation = field("explanation");
  if (n.explanation.empty()) n.explanation = Trim(m.subject + "\n" + Trim(u.rest).substr(0, 2000));
  n.notifier_name = m.from_name.empty() ? m.from_address : m.from_name;
  n.notifier_email = m.from_address;
  n.accuracy_statement = u.fields.count("accuracy_statement") ? Yes(field("accuracy_statement"))
                                                              : e.standing_statements;
  n.good_faith_statement = u.fields.count("good_faith_statement")
                               ? Yes(field("good_faith_statement"))
                               : e.standing_statements;
  n.case_reference = field("case_reference");
  n.territorial_scope = field("territorial_scope");
  n.signature = field("signature");
  n.legal_basis = u.fields.count("legal_basis") ? field("legal_basis") : e.legal_basis;
  n.issuing_authority = field("issuing_authority");
  if (!u.fields.count("issuing_authority")) {
    if (!e.issuing_authority.empty())
      n.issuing_authority = e.issuing_authority;
    else if (profile.source_type == service::SourceType::kAuthorityOrder)
      n.issuing_authority = profile.name;
  }
  n.evidence_given = true;
  auto add_hash = [&](const char* kind, const std::vector<std::string>& values, size_t len) {
    for (const auto& v : values) {
      if (!IsLowerHex(v, len)) {
        d.problems.push_back(
            fmt::format("{} '{}' is not {} hex digits: not used", kind, v.substr(0, 80), len));
        continue;
      }
      intake::EvidenceDraft ev;
      (std::string_view(kind) == "pdq"   ? ev.pdq
       : std::string_view(kind) == "md5" ? ev.md5
                                         : ev.sha256) = v;
      n.evidence.push_back(ev);
      d.labels.push_back(fmt::format("{} {}", kind, v));
    }
  };
  add_hash("pdq", u.pdq, 64);
  add_hash("md5", u.md5, 32);
  add_hash("sha256", u.sha256, 64);
  std::set<std::string> seen_ids;
  for (const auto& id : u.content_ids) {
    if (id.empty() || !seen_ids.insert(id).second) continue;
    n.evidence.push_back({.content_id = id});
    d.labels.push_back(fmt::format("content id {}", id));
  }
  for (const auto& re : patterns_) {
    for (std::sregex_iterator it(m.text.begin(), m.text.end(), re), end; it != end; ++it) {
      const std::string id = (*it)[1], whole = (*it)[0];
      if (id.empty() || !seen_ids.insert(id).second) continue;
      const bool link = whole.rfind("http", 0) == 0;
      intake::EvidenceDraft ev{.content_id = id};
      if (link) ev.message_link = whole;
      n.evidence.push_back(ev);
      d.labels.push_back(link ? fmt::format("link {}", whole) : fmt::format("content id {}", id));
    }
  }
  for (auto& a : m.attachments) {
    if (a.data.empty()) continue;  // over the limit: already a problem
    if (!LooksLikeMedia(a)) {
      d.problems.push_back(
          fmt::format("attachment '{}' ({}) is not an image or video: not used as evidence",
                      a.filename, a.content_type));
      continue;
    }
    d.media[n.evidence.size()] = std::move(a.data);
    n.evidence.push_back({.has_media = true});
    d.labels.push_back(fmt::format("attachment '{}' ({} bytes)", a.filename, a.size));
  }
  return d;
}

Result<TakeResult> MailLine::Refuse(MailIn in, const ParsedMail& m, const RequesterProfile& profile,
                                    json data, const std::vector<std::string>& reasons) {
  Counted(TakeOutcome::kRefused)->Inc();
  std::string joined;
  for (size_t i = 0; i < reasons.size(); ++i) joined += (i ? "; " : "") + reasons[i];
  data["reasons"] = reasons;
  in.state = MailInState::kRefused;
  in.reason = joined;
  TD_ASSIGN_OR_RETURN(auto r, Reply("refused", "out:refused:" + in.ukey, in, &profile, data));
  spdlog::info("mail: <{}> from {} refused: {}", m.message_id, m.from_address, joined);
  return Record(in, {r}, "mail.refused",
                {{"message_id", m.message_id}, {"from", m.from_address}, {"reasons", reasons}},
                {"refused", 0, joined});
}

Result<TakeResult> MailLine::Accept(MailIn in, const ParsedMail& m, const RequesterProfile& profile,
                                    json data, const service::Request& r,
                                    const std::vector<std::string>& labels,
                                    const Authenticated& auth) {
  Counted(TakeOutcome::kAccepted)->Inc();
  in.state = MailInState::kOpen;
  in.request_id = r.id;
  json items = json::array();
  for (size_t i = 0; i < r.evidence.size() && i < labels.size(); ++i) {
    // What the sender sent or what its own media gave, never what the platform holds.
    const nlohmann::json ev = service::RequesterView(r.evidence[i]);
    auto str = [&](const char* k) { return ev.value(k, std::string()); };
    std::vector<std::string> details;
    if (ev.contains("pdq")) {
      details.push_back(fmt::format("PDQ {} (quality {})", str("pdq"), ev.value("quality", 0)));
    }
    if (ev.contains("md5")) details.push_back("MD5 " + str("md5"));
    if (ev.contains("sha256")) details.push_back("SHA-256 " + str("sha256"));
    if (ev.contains("video")) {
      details.push_back(
          fmt::format("video, {} frames hashed", ev["video"].value("frames", int64_t{0})));
    }
    if (ev.contains("content_id")) details.push_back("content " + str("content_id"));
    items.push_back({{"n", i + 1},
                     {"what", labels[i]},
                     {"details", fmt::format("{}", fmt::join(details, "; "))},
                     {"problem", str("problem")},
                     {"usable", ev.value("usable", true)}});
  }
  data["request_id"] = r.id;
  data["items"] = items;
  data["status"] = service::NameOf(r.state);
  data["under_review"] = r.state == service::RequestState::kPendingReview;
  data["deadline_at"] = IsoUtc(r.deadline_ms);
  data["category"] = service::NameOf(r.category);
  data["case_reference"] = r.notice.case_reference;
  TD_ASSIGN_OR_RETURN(auto reply, Reply("ack", "out:ack:" + in.ukey, in, &profile, data));
  spdlog::info("mail: <{}> from {} filed as request {} ({})", m.message_id, m.from_address, r.id,
               service::NameOf(r.state));
  return Record(in, {reply}, "mail.accepted",
                {{"message_id", m.message_id},
                 {"from", m.from_address},
                 {"request_id", r.id},
                 {"dkim", auth.dkim.summary}},
                {"accepted", r.id, ""});
}

Result<TakeResult> MailLine::Take(std::string_view raw, const std::string& mailbox,
                                  int64_t full_size) {
  const int64_t size = std::max<int64_t>(full_size, static_cast<int64_t>(raw.size()));
  const bool too_large = size > opt_.max_message_bytes;
  auto parsed = too_large ? ParseHeaderOnly(raw, opt_.limits) : ParseMail(raw, opt_.limits);
  if (!parsed.ok()) return TakeUnreadable(raw, mailbox, size, parsed.status());
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
  MailIn in;
  in.ukey = key;
  in.mailbox = mailbox;
  in.message_id = m.message_id;
  in.from = m.from_address;
  in.subject = m.subject;
  in.references = m.references;
  in.received_ms = wf_->env()->NowMs();
  in.size = size;

  const Sections u = too_large ? Sections{} : ReadSections(m.text);
  TD_ASSIGN_OR_RETURN(Authenticated auth, Authenticate(raw, m, u.secret, too_large));
  if (!auth.failure.empty()) {
    in.ukey = "mail-q:" + raw_digest();
    TD_ASSIGN_OR_RETURN(auto dup, Duplicate(in.ukey, m));
    if (dup) return *dup;
    return Quarantine(std::move(in), m, auth);
  }
  // A message too large to read was not authenticated by DKIM (its body is not fetched): keyed
  // by its header's bytes, like a quarantined one, it cannot occupy its Message-ID either.
  if (too_large) in.ukey = "mail-big:" + raw_digest();
  TD_ASSIGN_OR_RETURN(auto dup, Duplicate(in.ukey, m));
  if (dup) return *dup;
  const RequesterProfile& profile = auth.sender->profile;
  in.requester_key_id = profile.key_id;
  json data = {{"line", opt_.address},
               {"subject", m.subject},
               {"received_at", IsoUtc(in.received_ms)},
               {"requester", profile.name.empty() ? auth.sender->key_name : profile.name}};
  if (too_large) {
    Counted(TakeOutcome::kTooLarge)->Inc();
    in.state = MailInState::kTooLarge;
    data["size"] = size;
    data["limit"] = opt_.max_message_bytes;
    TD_ASSIGN_OR_RETURN(auto r, Reply("too_large", "out:too_large:" + in.ukey, in, &profile, data));
    return Record(in, {r}, "mail.too_large",
                  {{"message_id", m.message_id},
                   {"from", m.from_address},
                   {"size", size},
                   {"limit", opt_.max_message_bytes}},
                  {"too_large", 0,
                   fmt::format("{} bytes, over the limit of {}", size, opt_.max_message_bytes)});
  }

  Draft d = DraftOf(m, u, profile);
  data["problems"] = d.problems;
  data["has_problems"] = !d.problems.empty();
  service::Principal who{profile.key_id, service::Role::kRequester, auth.sender->key_name};
  TD_ASSIGN_OR_RETURN(
      auto s, wf_->Submit(who, d.notice, d.media,
                          {.idempotency_key = key, .lenient_media = true, .hash_inline = true}));
  if (!s.problems.empty()) {
    std::vector<std::string> reasons;
    for (const auto& p : s.problems) reasons.push_back(p.ToString());
    return Refuse(std::move(in), m, profile, std::move(data), reasons);
  }
  return Accept(std::move(in), m, profile, std::move(data), *s.request, d.labels, auth);
}

}  // namespace takedown::mail
