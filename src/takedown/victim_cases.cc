#include "takedown/victim_cases.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <set>

#include "core/clock.h"
#include "core/text.h"
#include "hash/digest.h"
#include "intake/notice.h"

namespace takedown::service {

using nlohmann::json;

namespace {

constexpr int64_t kHourMs = 3'600'000;
// Crockford's base 32: no I, L, O or U, so that a number read aloud or typed is not mistaken.
constexpr std::string_view kAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr int kGroups = 3, kGroupLen = 4;  // 60 random bits each for the number and the PIN
constexpr int kPinIterations = 20000;      // PBKDF2-HMAC-SHA256
constexpr std::string_view kFormDoc = "report_form";
// The key challenges are signed with (one document), and each challenge spent (one document
// each, its ukey the challenge's SHA-256: spent once across every process on the store).
constexpr std::string_view kChallengeKeyDoc = "report_challenge_key";
constexpr std::string_view kSpentDoc = "report_challenge_spent";
// The hourly budgets' events: one document each, its state the budget's key (Budget), deleted
// once older than an hour (events_), at most every kForgetEveryMs.
constexpr std::string_view kEventDoc = "report_event";
constexpr int64_t kForgetEveryMs = 60'000;

// The one document of a kind that a store holds (its unique key is its kind): the one stored, or
// else the one `make` gives (kind, state and doc; made and stored once per store). When another
// process stored its own first, that one is returned.
Result<store::DocRecord> OncePerStore(store::DocumentStore* docs, std::string_view kind,
                                      const std::function<Result<store::DocRecord>()>& make) {
  TD_ASSIGN_OR_RETURN(
      auto known,
      docs->FindDocs({.kind = std::string(kind), .limit = 1, .ukey = std::string(kind)}));
  if (!known.empty()) return known.front();
  TD_ASSIGN_OR_RETURN(store::DocRecord d, make());
  d.kind = std::string(kind);
  d.ukey = std::string(kind);
  TD_ASSIGN_OR_RETURN(auto ids, docs->PutDocs({d}));
  TD_ASSIGN_OR_RETURN(auto rec, docs->GetDoc(std::abs(ids.at(0))));
  if (!rec) return Internal(fmt::format("the {} document was not stored", kind));
  return *rec;
}

std::string RandomCode(Env* env) {
  uint8_t bytes[kGroups * kGroupLen];
  env->RandomBytes(bytes, sizeof bytes);
  std::string out;
  for (int i = 0; i < kGroups * kGroupLen; ++i) {
    if (i > 0 && i % kGroupLen == 0) out += '-';
    out += kAlphabet[bytes[i] % 32];
  }
  return out;
}

// "td-ab12 cd34-EF56" -> "AB12-CD34-EF56" (the letters O, I and L read as 0, 1 and 1); "" when
// it is not kGroups x kGroupLen characters of the alphabet.
std::string Canonical(std::string text, bool with_prefix) {
  std::string s;
  for (char ch : text) {
    if (ch == '-' || ch == ' ') continue;
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (ch == 'O') ch = '0';
    if (ch == 'I' || ch == 'L') ch = '1';
    s += ch;
  }
  if (with_prefix) {
    if (s.rfind("TD", 0) != 0) return "";
    s = s.substr(2);
  }
  if (s.size() != kGroups * kGroupLen) return "";
  for (char ch : s) {
    if (kAlphabet.find(ch) == std::string_view::npos) return "";
  }
  std::string out;
  for (int g = 0; g < kGroups; ++g) {
    if (g > 0) out += '-';
    out += s.substr(g * kGroupLen, kGroupLen);
  }
  return out;
}

std::string PinHash(const std::string& pin, const std::string& salt_hex) {
  uint8_t out[32];
  PKCS5_PBKDF2_HMAC(pin.data(), static_cast<int>(pin.size()),
                    reinterpret_cast<const unsigned char*>(salt_hex.data()),
                    static_cast<int>(salt_hex.size()), kPinIterations, EVP_sha256(), sizeof out,
                    out);
  return hash::HexOf(out);
}

int LeadingZeroBits(const std::string& hex) {
  int bits = 0;
  for (char c : hex) {
    const int v = c >= 'a' ? c - 'a' + 10 : c - '0';
    if (v == 0) {
      bits += 4;
      continue;
    }
    for (int b = 3; b >= 0 && ((v >> b) & 1) == 0; --b) ++bits;
    break;
  }
  return bits;
}

std::string Text(const json& body, const char* key) {
  return body.contains(key) && body[key].is_string() ? body[key].get<std::string>() : "";
}

// Categories the form offers (the API's names).
bool FormCategory(const std::string& c) {
  return c == "ncii" || c == "deepfake-sexual" || c == "csam";
}

// One item as the page sends it -> an evidence item of the request; problems under items[i].
json EvidenceOfItem(const json& item, const std::string& f, int min_quality, intake::Problems* p) {
  if (!item.is_object()) {
    p->push_back({f, "must be an object"});
    return json();
  }
  const std::string kind = Text(item, "kind");
  static const std::set<std::string> kImageKeys = {"kind", "pdq",    "quality", "dihedral",
                                                   "md5",  "sha256", "robust"};
  static const std::set<std::string> kVideoKeys = {"kind", "md5", "sha256", "video"};
  if (kind != "image" && kind != "video") {
    p->push_back({f + ".kind", "must be \"image\" or \"video\""});
    return json();
  }
  const auto& allowed = kind == "image" ? kImageKeys : kVideoKeys;
  for (const auto& [k, v] : item.items()) {
    if (!allowed.contains(k)) p->push_back({f + "." + k, "is not a field of an " + kind + " item"});
  }
  json ev = json::object();
  for (const char* k : {"md5", "sha256"}) {
    if (!item.contains(k)) {
      p->push_back({f + "." + k, "missing"});
      continue;
    }
    ev[k] = item[k];
  }
  if (kind == "image") {
    if (!item.contains("pdq") || !item.contains("quality")) {
      p->push_back({f + ".pdq", "missing: an image's PDQ hash and its quality"});
      return ev;
    }
    ev["pdq"] = item["pdq"];
    ev["quality"] = item["quality"];
    if (item["quality"].is_number_integer() && item["quality"].get<int64_t>() < min_quality &&
        item["quality"].get<int64_t>() >= 0) {
      p->push_back({f + ".quality",
                    fmt::format("{} is below {}: the picture is too plain or blurred to be matched "
                                "reliably, so its hash cannot be used",
                                item["quality"].get<int64_t>(), min_quality)});
    }
    if (item.contains("dihedral")) {
      const json& d = item["dihedral"];
      bool ok = d.is_array() && d.size() == 8;
      for (size_t i = 0; ok && i < d.size(); ++i) {
        ok = d[i].is_string() && IsLowerHex(AsciiLower(d[i].get<std::string>()), 64);
      }
      if (!ok) p->push_back({f + ".dihedral", "must be the 8 dihedral PDQ hashes (64 hex digits)"});
    }
    if (item.contains("robust")) ev["robust"] = item["robust"];
  } else if (item.contains("video")) {
    // The frames the person's browser could decode (the page's vPDQ with each frame's norm,
    // mirror, crops and box): read whole when the evidence is built.
    ev["video"] = item["video"];
  }
  return ev;
}

}  // namespace

VictimCases::VictimCases(WorkflowContext* ctx, Requests* requests, RequesterProfiles* profiles)
    : ctx_(ctx),
      requests_(requests),
      profiles_(profiles),
      opt_(ctx->opt.report),
      events_(ctx->stores.docs, std::string(kEventDoc), kHourMs, kForgetEveryMs) {
  const std::string name = "takedown_report_cases_total";
  const std::string help = "Victims' form (/report): filings and additions by outcome.";
  filed_ = ctx_->metrics->Counter(name, help, {{"result", "filed"}});
  refused_invalid_ = ctx_->metrics->Counter(name, help, {{"result", "invalid"}});
  refused_work_ = ctx_->metrics->Counter(name, help, {{"result", "no_proof_of_work"}});
  refused_rate_ = ctx_->metrics->Counter(name, help, {{"result", "rate_limited"}});
  const std::string pins = "takedown_report_pin_failures_total";
  const std::string pins_help = "Victims' form: case number and PIN that opened no case.";
  pin_failed_ = ctx_->metrics->Counter(pins, pins_help, {{"result", "wrong"}});
  pin_limited_ = ctx_->metrics->Counter(pins, pins_help, {{"result", "rate_limited"}});
  withdrawn_ = ctx_->metrics->Counter("takedown_report_withdrawals_total",
                                      "Victims' form: cases withdrawn by the person.");
  items_ = ctx_->metrics->Counter("takedown_report_items_total",
                                  "Victims' form: hashed pictures and videos received.");
  const std::string rec = "takedown_report_recovery_total";
  const std::string rec_help =
      "Victims' form: recovery by email (links sent, requests that matched no case and address, "
      "refused by a limit, PINs reset with a link).";
  recovery_sent_ = ctx_->metrics->Counter(rec, rec_help, {{"result", "sent"}});
  recovery_unmatched_ = ctx_->metrics->Counter(rec, rec_help, {{"result", "no_match"}});
  recovery_limited_ = ctx_->metrics->Counter(rec, rec_help, {{"result", "rate_limited"}});
  pin_reset_ = ctx_->metrics->Counter(rec, rec_help, {{"result", "pin_reset"}});
}

Result<int64_t> VictimCases::FormKey() {
  MutexLock l(&key_mu_);
  if (form_key_id_ != 0) return form_key_id_;
  TD_ASSIGN_OR_RETURN(
      auto rec, OncePerStore(ctx_->stores.docs, kFormDoc, [&]() -> Result<store::DocRecord> {
        TD_ASSIGN_OR_RETURN(
            auto key, ctx_->svc->CreateKey(Role::kRequester, std::string(kFormKeyName), "system"));
        Principal system{0, Role::kAdmin, "system"};
        TD_RETURN_IF_ERROR(profiles_
                               ->Set(key.first,
                                     {{"source_type", "victim"},
                                      {"trusted", false},
                                      {"name", "Victims' form (/report)"}},
                                     system)
                               .status());
        store::DocRecord d;
        d.owner = key.first;
        d.state = "active";
        d.doc = json{{"key_id", key.first}}.dump();
        return d;
      }));
  form_key_id_ = rec.owner;
  return form_key_id_;
}

Result<std::string> VictimCases::ChallengeKey() {
  MutexLock l(&key_mu_);
  if (!secret_.empty()) return secret_;
  TD_ASSIGN_OR_RETURN(auto rec, OncePerStore(ctx_->stores.docs, kChallengeKeyDoc,
                                             [&]() -> Result<store::DocRecord> {
                                               uint8_t key[32];
                                               ctx_->env->RandomBytes(key, sizeof key);
                                               store::DocRecord d;
                                               d.state = "active";
                                               d.doc = json{{"key", hash::HexOf(key)}}.dump();
                                               return d;
                                             }));
  const json d = json::parse(rec.doc, nullptr, false);
  if (!d.is_object() || !d.contains("key") || !d["key"].is_string() ||
      !IsLowerHex(d["key"].get<std::string>(), 64)) {
    return Internal("the victims' form's challenge key document is damaged");
  }
  secret_ = d["key"].get<std::string>();
  return secret_;
}

Result<json> VictimCases::Challenge() {
  TD_ASSIGN_OR_RETURN(const std::string key, ChallengeKey());
  const int64_t expires = ctx_->Now() + int64_t{opt_.challenge_ttl_s} * 1000;
  uint8_t r[16];
  ctx_->env->RandomBytes(r, sizeof r);
  const std::string body = fmt::format("v1.{}.{}", expires, hash::HexOf(r));
  return json{{"challenge", body + "." + hash::HmacSha256Hex(key, body)},
              {"bits", opt_.pow_bits},
              {"expires_at", IsoUtc(expires)},
              {"recovery_by_email", RecoveryByEmail()}};
}

Status VictimCases::CheckWork(const json& body, bool spend) {
  if (opt_.pow_bits == 0) return Status::Ok();
  const std::string challenge = Text(body, "challenge"), nonce = Text(body, "nonce");
  auto refuse = [&](const std::string& why) {
    refused_work_->Inc();
    return InvalidArgument("invalid request: challenge: " + why);
  };
  if (challenge.empty() || challenge.size() > 200) {
    return refuse("missing: ask GET /v1/report/challenge and send its proof of work");
  }
  if (nonce.empty() || nonce.size() > 20 ||
      nonce.find_first_not_of("0123456789") != std::string::npos) {
    return refuse("nonce: must be 1 to 20 decimal digits");
  }
  TD_ASSIGN_OR_RETURN(const std::string key, ChallengeKey());
  const auto dot = challenge.rfind('.');
  const std::string signed_part = challenge.substr(0, dot == std::string::npos ? 0 : dot);
  if (dot == std::string::npos ||
      CRYPTO_memcmp(hash::HmacSha256Hex(key, signed_part).data(), challenge.data() + dot + 1,
                    std::min<size_t>(64, challenge.size() - dot - 1)) != 0 ||
      challenge.size() - dot - 1 != 64) {
    return refuse("not one this service gave: ask for a new one");
  }
  int64_t expires = 0;
  if (sscanf(signed_part.c_str(), "v1.%" SCNd64 ".", &expires) != 1 || expires <= ctx_->Now()) {
    return refuse("expired: ask for a new one");
  }
  if (LeadingZeroBits(hash::Sha256HexOfText(challenge + ":" + nonce)) < opt_.pow_bits) {
    return refuse(fmt::format("the nonce does not solve it ({} leading zero bits of SHA-256)",
                              opt_.pow_bits));
  }
  // Spent once across every process on the store: the spending is a document with the
  // challenge's digest as its unique key, so a second spend (here or at another replica) finds it.
  const std::string ukey = "report_challenge:" + hash::Sha256HexOfText(challenge);
  store::DocumentStore* docs = ctx_->stores.docs;
  if (!spend) {
    TD_ASSIGN_OR_RETURN(auto used,
                        docs->FindDocs({.kind = std::string(kSpentDoc), .limit = 1, .ukey = ukey}));
    if (!used.empty()) return refuse("already used: ask for a new one");
    return Status::Ok();
  }
  store::DocRecord d;
  d.kind = std::string(kSpentDoc);
  d.state = "spent";
  d.due_ms = expires;
  d.ukey = ukey;
  d.doc = json{{"expires_ms", expires}}.dump();
  TD_ASSIGN_OR_RETURN(auto ids, docs->PutDocs({d}));
  if (ids.at(0) < 0) return refuse("already used: ask for a new one");
  return Status::Ok();
}

Status VictimCases::SpendWorkAndBudget(const json& body, const std::string& address) {
  TD_RETURN_IF_ERROR(TakeFilingBudget(address));
  return CheckWork(body, true);
}

Result<std::string> VictimCases::Budget(const std::string& kind, const std::string& who) {
  if (who == "*") return kind + ":*";
  TD_ASSIGN_OR_RETURN(const std::string key, ChallengeKey());
  return kind + ":" + hash::HmacSha256Hex(key, kind + ":" + who).substr(0, 32);
}

Result<int> VictimCases::Events(const std::string& budget, int cap) {
  return events_.Count({.state = budget}, ctx_->Now(), cap + 1);
}

Status VictimCases::AddEvents(const std::vector<std::string>& budgets) {
  std::vector<store::EventWindow::Of> who;
  for (const auto& b : budgets) who.push_back({.state = b});
  TD_RETURN_IF_ERROR(events_.Add(who, ctx_->Now()));
  ForgetSpent();
  return Status::Ok();
}

void VictimCases::ForgetSpent() {
  const int64_t now = ctx_->Now();
  int64_t last = last_forget_ms_.load();
  if (now - last < kForgetEveryMs || !last_forget_ms_.compare_exchange_strong(last, now)) return;
  // A challenge spent before its lifetime ago has expired: it cannot be spent again anyway.
  auto spent = ctx_->stores.docs->DeleteDocs(std::string(kSpentDoc),
                                             now - int64_t{opt_.challenge_ttl_s} * 1000);
  if (!spent.ok()) {
    spdlog::warn("report: spent challenges past their lifetime not deleted: {}",
                 spent.status().message());
  }
}

Status VictimCases::TakeFilingBudget(const std::string& address) {
  MutexLock l(&mu_);
  TD_ASSIGN_OR_RETURN(const std::string mine, Budget("file", address));
  TD_ASSIGN_OR_RETURN(const int by_address, Events(mine, opt_.cases_per_hour_per_address));
  TD_ASSIGN_OR_RETURN(const int all, Events("file:*", opt_.cases_per_hour));
  if (by_address >= opt_.cases_per_hour_per_address || all >= opt_.cases_per_hour) {
    refused_rate_->Inc();
    return ResourceExhausted(
        "too many reports in the last hour: please try again later (your pictures stay only on "
        "your device)");
  }
  return AddEvents({mine, "file:*"});
}

Status VictimCases::PinBudget(const std::string& number, const std::string& address) {
  MutexLock l(&mu_);
  TD_ASSIGN_OR_RETURN(const std::string by_address, Budget("pin", address));
  TD_ASSIGN_OR_RETURN(const std::string by_case, Budget("case", number));
  TD_ASSIGN_OR_RETURN(const int from_address, Events(by_address, opt_.pin_failures_per_address));
  TD_ASSIGN_OR_RETURN(const int for_case, Events(by_case, opt_.pin_failures_per_case));
  if (from_address >= opt_.pin_failures_per_address || for_case >= opt_.pin_failures_per_case) {
    pin_limited_->Inc();
    return ResourceExhausted(
        "too many attempts with a wrong case number or PIN: please wait an hour and try again");
  }
  return Status::Ok();
}

void VictimCases::PinFailed(const std::string& number, const std::string& address) {
  pin_failed_->Inc();
  MutexLock l(&mu_);
  auto by_address = Budget("pin", address);
  auto by_case = Budget("case", number);
  Status st = by_address.ok() ? by_case.status() : by_address.status();
  if (st.ok()) st = AddEvents({*by_address, *by_case});
  if (!st.ok()) spdlog::error("report: a wrong PIN was not counted: {}", st.message());
}

Result<std::optional<VictimCases::Case>> VictimCases::Load(const std::string& number) {
  TD_ASSIGN_OR_RETURN(
      auto rows, ctx_->stores.docs->FindDocs(
                     {.kind = std::string(kCaseDoc), .limit = 1, .ukey = "report_case:" + number}));
  if (rows.empty()) return std::optional<Case>();
  json doc = json::parse(rows.front().doc, nullptr, false);
  if (!doc.is_object() || !doc.contains("pin_hash") || !doc.contains("pin_salt") ||
      !doc.contains("requests")) {
    return Internal(fmt::format("the document of case TD-{} is damaged", number));
  }
  return std::optional<Case>(Case{rows.front().id, "TD-" + number, rows.front().state, doc});
}

Result<VictimCases::Case> VictimCases::Open(const json& body, const std::string& address) {
  if (!body.is_object()) return InvalidArgument("invalid request: the body must be a JSON object");
  const std::string number = Canonical(Text(body, "case"), true);
  const std::string pin = Canonical(Text(body, "pin"), false);
  intake::Problems p;
  if (number.empty()) p.push_back({"case", "not a case number (TD-XXXX-XXXX-XXXX)"});
  if (pin.empty()) p.push_back({"pin", "not a PIN (XXXX-XXXX-XXXX)"});
  TD_RETURN_IF_ERROR(PinBudget(number, address));
  if (!p.empty()) return intake::ProblemsStatus(p);
  TD_ASSIGN_OR_RETURN(auto c, Load(number));
  if (c) {
    const std::string want = c->doc["pin_hash"].get<std::string>();
    const std::string got = PinHash(pin, c->doc["pin_salt"].get<std::string>());
    if (want.size() == got.size() && CRYPTO_memcmp(want.data(), got.data(), got.size()) == 0) {
      return std::move(*c);
    }
  }
  PinFailed(number, address);
  return NotFound("no case matches this case number and PIN");
}

void VictimCases::SetRecoveryMailer(RecoveryMailer compose, std::function<void()> wake) {
  compose_ = std::move(compose);
  wake_ = std::move(wake);
}

Result<json> VictimCases::Recover(const json& body, const std::string& address) {
  if (!body.is_object()) return InvalidArgument("invalid request: the body must be a JSON object");
  intake::Problems p;
  for (const auto& [k, v] : body.items()) {
    if (k != "challenge" && k != "nonce" && k != "case" && k != "email") {
      p.push_back({k, "is not a field of a recovery request"});
    }
  }
  const std::string number = Canonical(Text(body, "case"), true);
  const std::string email = Text(body, "email");
  if (number.empty()) p.push_back({"case", "not a case number (TD-XXXX-XXXX-XXXX)"});
  if (email.empty() || email.size() > 256 || email.find('@') == std::string::npos ||
      email.find_first_of(" <>") != std::string::npos || HasControlCharacter(email)) {
    p.push_back({"email", "not an email address"});
  }
  if (!p.empty()) return intake::ProblemsStatus(p);
  if (!RecoveryByEmail()) {
    return FailedPrecondition(
        "this service sends no recovery links (no email is set up): a case opens only with its "
        "case number and PIN");
  }
  TD_RETURN_IF_ERROR(CheckWork(body, false));
  {
    MutexLock l(&mu_);
    TD_ASSIGN_OR_RETURN(const std::string mine, Budget("recover", address));
    TD_ASSIGN_OR_RETURN(const int asked, Events(mine, opt_.cases_per_hour_per_address));
    if (asked >= opt_.cases_per_hour_per_address) {
      recovery_limited_->Inc();
      return ResourceExhausted(
          "too many recovery requests in the last hour: please try again later");
    }
    TD_RETURN_IF_ERROR(AddEvents({mine}));
  }
  TD_RETURN_IF_ERROR(CheckWork(body, true));
  const int minutes = (opt_.recovery_link_ttl_s + 59) / 60;
  const json answer = {
      {"sent_if_matching", true},
      {"link_minutes", minutes},
      {"message", fmt::format("If the case has this email address, a link is on its way to it. "
                              "It works once, for {} minutes; at most {} links are sent a day.",
                              minutes, opt_.recovery_links_per_case_per_day)}};
  MutexLock l(&case_mu_);
  TD_ASSIGN_OR_RETURN(auto held, ctx_->LockShared(kVictimCasesLock));
  TD_ASSIGN_OR_RETURN(auto c, Load(number));
  if (!c) {
    recovery_unmatched_->Inc();
    return answer;
  }
  TD_ASSIGN_OR_RETURN(Request first,
                      LoadRequest(ctx_->stores.docs, c->doc["requests"][0].get<int64_t>()));
  const std::string& on_file = first.notice.notifier_email;
  if (on_file.empty() || AsciiLower(TrimBlanks(on_file)) != AsciiLower(TrimBlanks(email))) {
    recovery_unmatched_->Inc();
    return answer;
  }
  const int64_t now = ctx_->Now();
  json sent = json::array();
  for (const auto& t : c->doc.value("recovery_sent_ms", json::array())) {
    if (t.is_number_integer() && t.get<int64_t>() > now - 24 * kHourMs) sent.push_back(t);
  }
  if (static_cast<int>(sent.size()) >= opt_.recovery_links_per_case_per_day) {
    recovery_limited_->Inc();
    return answer;
  }
  uint8_t raw[32];
  ctx_->env->RandomBytes(raw, sizeof raw);
  const std::string token = hash::HexOf(raw);
  const int64_t expires = now + int64_t{opt_.recovery_link_ttl_s} * 1000;
  sent.push_back(now);
  c->doc["recovery_sent_ms"] = sent;
  c->doc["recovery"] = {{"token_sha256", hash::Sha256HexOfText(token)}, {"expires_ms", expires}};
  const json data = {
      {"case", c->number},
      {"link", fmt::format("{}/report/case#recover={}.{}", opt_.public_url, c->number, token)},
      {"expires_at", IsoUtc(expires)},
      {"minutes", minutes}};
  TD_ASSIGN_OR_RETURN(
      MailOut mail,
      compose_(on_file, c->doc.value("language", std::string("en")), data,
               fmt::format("out:report_recovery:{}:{}:{}", c->number, now, sent.size())));
  store::DocumentStore::Changes ch;
  ch.docs.push_back(ToDoc(*c));
  ch.docs.push_back(service::ToDoc(mail));
  // Neither the address nor the link is recorded: the case number says whose it was.
  ch.audits.push_back({"report:" + c->number, "report_case.recovery_sent",
                       json{{"expires_at", IsoUtc(expires)}}.dump()});
  TD_RETURN_IF_ERROR(ctx_->stores.docs->Transact(ch).status());
  recovery_sent_->Inc();
  if (wake_) wake_();
  return answer;
}

Result<json> VictimCases::ResetPin(const json& body, const std::string& address) {
  if (!body.is_object()) return InvalidArgument("invalid request: the body must be a JSON object");
  intake::Problems p;
  for (const auto& [k, v] : body.items()) {
    if (k != "case" && k != "token") p.push_back({k, "is not a field of a PIN reset"});
  }
  const std::string number = Canonical(Text(body, "case"), true);
  const std::string token = Text(body, "token");
  if (number.empty()) p.push_back({"case", "not a case number (TD-XXXX-XXXX-XXXX)"});
  if (!IsLowerHex(token, 64)) p.push_back({"token", "not the token of a recovery link"});
  TD_RETURN_IF_ERROR(PinBudget(number, address));
  if (!p.empty()) return intake::ProblemsStatus(p);
  MutexLock l(&case_mu_);
  TD_ASSIGN_OR_RETURN(auto held, ctx_->LockShared(kVictimCasesLock));
  TD_ASSIGN_OR_RETURN(auto c, Load(number));
  const int64_t now = ctx_->Now();
  bool valid = false;
  if (c && c->doc.contains("recovery") && c->doc["recovery"].is_object()) {
    const json& r = c->doc["recovery"];
    const std::string want = r.value("token_sha256", std::string());
    const std::string got = hash::Sha256HexOfText(token);
    valid = r.value("expires_ms", int64_t{0}) > now && want.size() == got.size() &&
            CRYPTO_memcmp(want.data(), got.data(), got.size()) == 0;
  }
  if (!valid) {
    PinFailed(number, address);
    return NotFound(
        "this recovery link does not work (any more): a link works once, for a limited time; ask "
        "for a new one on the case page");
  }
  const std::string pin = RandomCode(ctx_->env);
  uint8_t salt[16];
  ctx_->env->RandomBytes(salt, sizeof salt);
  const std::string salt_hex = hash::HexOf(salt);
  c->doc["pin_salt"] = salt_hex;
  c->doc["pin_hash"] = PinHash(pin, salt_hex);
  c->doc.erase("recovery");
  c->doc["pin_reset_ms"] = now;
  store::DocumentStore::Changes ch;
  ch.docs.push_back(ToDoc(*c));
  ch.audits.push_back({"report:" + c->number, "report_case.pin_reset", json::object().dump()});
  TD_RETURN_IF_ERROR(ctx_->stores.docs->Transact(ch).status());
  pin_reset_->Inc();
  TD_ASSIGN_OR_RETURN(json view, View(*c));
  view["pin"] = pin;  // once: only its hash is kept
  return view;
}

Result<Request> VictimCases::FileRequest(const json& body, const json& items,
                                         const std::string& number,
                                         const std::function<Status()>& gate) {
  intake::Problems p;
  static const std::set<std::string> kFields = {"challenge", "nonce",     "category", "locations",
                                                "statement", "signature", "email",    "language",
                                                "items",     "case",      "pin"};
  for (const auto& [k, v] : body.items()) {
    if (!kFields.contains(k)) p.push_back({k, "is not a field of the form"});
  }
  intake::NoticeDraft d;
  d.category = Text(body, "category");
  if (!FormCategory(d.category)) {
    p.push_back({"category", "must be one of ncii, deepfake-sexual, csam"});
  }
  const bool statement =
      body.contains("statement") && body["statement"].is_boolean() && body["statement"].get<bool>();
  if (!statement) {
    p.push_back({"statement",
                 "must be true: a statement in good faith that the picture is shared "
                 "without the consent of the person it shows"});
  }
  d.good_faith_statement = d.accuracy_statement = statement;
  d.signature = Text(body, "signature");
  d.notifier_name = d.signature;
  d.notifier_email = Text(body, "email");
  d.contact_by_case = true;
  for (const char* k : {"signature", "email"}) {
    if (HasControlCharacter(Text(body, k))) p.push_back({k, "has control characters"});
  }
  if (d.signature.find_first_not_of(" \t") == std::string::npos) {
    p.push_back({"signature", "missing: type your full name as your signature"});
  }
  if (!items.is_array() || items.empty() || static_cast<int>(items.size()) > opt_.max_items) {
    p.push_back({"items", fmt::format("must be a list of 1 to {} hashed pictures or videos",
                                      opt_.max_items)});
  }
  std::vector<json> evidence;
  for (size_t i = 0; items.is_array() && i < items.size(); ++i) {
    evidence.push_back(
        EvidenceOfItem(items[i], fmt::format("items[{}]", i), ctx_->opt.min_quality, &p));
  }
  const size_t item_count = evidence.size();
  std::vector<std::string> seen_at;
  if (body.contains("locations")) {
    const json& l = body["locations"];
    if (!l.is_array() || static_cast<int>(l.size()) > opt_.max_locations) {
      p.push_back({"locations", fmt::format("must be a list of at most {}", opt_.max_locations)});
    } else {
      for (size_t i = 0; i < l.size(); ++i) {
        const std::string f = fmt::format("locations[{}]", i);
        if (!l[i].is_string() || l[i].get<std::string>().size() > 2000 ||
            HasControlCharacter(l[i].get<std::string>())) {
          p.push_back({f, "must be a link or message id of at most 2000 characters"});
          continue;
        }
        const std::string where = l[i].get<std::string>();
        if (where.find_first_not_of(" \t") == std::string::npos) continue;
        seen_at.push_back(where);
        // A link names its content id; anything else is taken as the message's id.
        evidence.push_back(where.find("://") != std::string::npos ? json{{"message_link", where}}
                                                                  : json{{"content_id", where}});
      }
    }
  }
  if (!p.empty()) {
    refused_invalid_->Inc();
    return intake::ProblemsStatus(p);
  }
  d.explanation = fmt::format(
      "Reported through the victims' form (case {}): {} of the person reporting, shared without "
      "their consent.{}",
      number,
      d.category == "csam" ? "sexual material of a minor"
                           : (d.category == "ncii" ? "an intimate picture" : "a sexual deepfake"),
      seen_at.empty() ? "" : fmt::format(" Seen at: {}.", fmt::join(seen_at, ", ")));
  d.evidence_given = true;
  intake::Problems problems;
  d.evidence = intake::DraftFromJson({{"evidence", evidence}}, &problems).evidence;
  if (problems.empty()) intake::Validate(d, SourceType::kVictim, &problems);
  std::optional<Request> filed;
  if (problems.empty()) {
    TD_RETURN_IF_ERROR(gate());
    TD_ASSIGN_OR_RETURN(int64_t key, FormKey());
    Principal form{key, Role::kRequester, std::string(kFormKeyName)};
    TD_ASSIGN_OR_RETURN(Submission sub, requests_->Submit(form, d, {}, {}));
    problems = std::move(sub.problems);
    filed = std::move(sub.request);
  }
  if (!problems.empty() || !filed) {
    // Problems name evidence[i]: the page's items come first, then its locations.
    for (auto& q : problems) {
      if (q.field.rfind("evidence[", 0) != 0) continue;
      const size_t close = q.field.find(']');
      const size_t i = std::stoul(q.field.substr(9, close - 9));
      q.field = (i < item_count ? fmt::format("items[{}]", i)
                                : fmt::format("locations[{}]", i - item_count)) +
                q.field.substr(close + 1);
    }
    refused_invalid_->Inc();
    if (problems.empty()) return Internal("the request was not stored");
    return intake::ProblemsStatus(problems);
  }
  items_->Inc(item_count);
  return *filed;
}

store::DocRecord VictimCases::ToDoc(const Case& c) {
  return store::DocRecord{c.doc_id,
                          std::string(kCaseDoc),
                          c.doc["requests"][0].get<int64_t>(),
                          c.state,
                          0,
                          "report_case:" + c.number.substr(3),
                          0,
                          c.doc.dump()};
}

Result<json> VictimCases::File(const json& body, const std::string& address) {
  if (!body.is_object()) return InvalidArgument("invalid request: the body must be a JSON object");
  if (body.contains("case") || body.contains("pin")) {
    return InvalidArgument("invalid request: case: a new report has no case number yet");
  }
  TD_RETURN_IF_ERROR(CheckWork(body, false));
  const std::string number = "TD-" + RandomCode(ctx_->env);
  const std::string pin = RandomCode(ctx_->env);
  TD_ASSIGN_OR_RETURN(Request r,
                      FileRequest(body, body.contains("items") ? body["items"] : json(), number,
                                  [&] { return SpendWorkAndBudget(body, address); }));
  uint8_t salt[16];
  ctx_->env->RandomBytes(salt, sizeof salt);
  const std::string salt_hex = hash::HexOf(salt);
  Case c{0, number, "open",
         json{{"case", number},
              {"pin_salt", salt_hex},
              {"pin_hash", PinHash(pin, salt_hex)},
              {"requests", {r.id}},
              {"items", body["items"].size()},
              {"language", Text(body, "language") == "ko" ? "ko" : "en"}}};
  store::DocumentStore::Changes ch;
  ch.docs.push_back(ToDoc(c));
  ch.audits.push_back({"report", "report_case.filed",
                       json{{"request_id", r.id}, {"items", body["items"].size()}}.dump()});
  TD_ASSIGN_OR_RETURN(auto ids, ctx_->stores.docs->Transact(ch));
  filed_->Inc();
  c.doc_id = ids.at(0);
  TD_ASSIGN_OR_RETURN(json view, View(c));
  view["pin"] = pin;  // once: only its hash is kept
  return view;
}

Result<json> VictimCases::CaseStatus(const json& body, const std::string& address) {
  TD_ASSIGN_OR_RETURN(Case c, Open(body, address));
  return View(c);
}

Result<json> VictimCases::AddItems(const json& body, const std::string& address) {
  TD_ASSIGN_OR_RETURN(Case c, Open(body, address));
  if (c.state == "withdrawn") {
    return FailedPrecondition("this case was withdrawn: start a new report to add pictures");
  }
  const json items = body.contains("items") ? body["items"] : json();
  const int64_t have = c.doc.value("items", int64_t{0});
  if (items.is_array() && have + static_cast<int64_t>(items.size()) > opt_.max_items) {
    return InvalidArgument(fmt::format(
        "invalid request: items: a case holds at most {} pictures and videos; it has {}",
        opt_.max_items, have));
  }
  TD_RETURN_IF_ERROR(CheckWork(body, false));
  // The first filing's category and statement stand for the additions.
  TD_ASSIGN_OR_RETURN(Request first,
                      LoadRequest(ctx_->stores.docs, c.doc["requests"][0].get<int64_t>()));
  json filing = {{"category", std::string(NameOf(first.category))},
                 {"statement", true},
                 {"signature", first.notice.signature},
                 {"email", first.notice.notifier_email}};
  TD_ASSIGN_OR_RETURN(Request r, FileRequest(filing, items, c.number,
                                             [&] { return SpendWorkAndBudget(body, address); }));
  MutexLock l(&case_mu_);
  TD_ASSIGN_OR_RETURN(auto held, ctx_->LockShared(kVictimCasesLock));
  TD_ASSIGN_OR_RETURN(auto fresh, Load(c.number.substr(3)));  // as it is now (a PIN reset...)
  if (fresh) c = std::move(*fresh);
  c.doc["requests"].push_back(r.id);
  c.doc["items"] = c.doc.value("items", int64_t{0}) + static_cast<int64_t>(items.size());
  store::DocumentStore::Changes ch;
  ch.docs.push_back(ToDoc(c));
  ch.expect_states.emplace_back(c.doc_id, "open");
  ch.audits.push_back({"report", "report_case.items_added",
                       json{{"request_id", r.id}, {"items", items.size()}}.dump()});
  TD_RETURN_IF_ERROR(ctx_->stores.docs->Transact(ch).status());
  filed_->Inc();
  return View(c);
}

Result<json> VictimCases::Withdraw(const json& body, const std::string& address) {
  TD_ASSIGN_OR_RETURN(Case c, Open(body, address));
  MutexLock l(&case_mu_);
  TD_ASSIGN_OR_RETURN(auto held, ctx_->LockShared(kVictimCasesLock));
  TD_ASSIGN_OR_RETURN(auto fresh, Load(c.number.substr(3)));
  if (fresh) c = std::move(*fresh);
  if (c.state == "withdrawn") return View(c);
  for (const auto& id : c.doc["requests"]) {
    TD_RETURN_IF_ERROR(requests_->Withdraw(id.get<int64_t>(), "report:" + c.number).status());
  }
  c.state = "withdrawn";
  c.doc["withdrawn_ms"] = ctx_->Now();
  store::DocumentStore::Changes ch;
  ch.docs.push_back(ToDoc(c));
  ch.audits.push_back({"report:" + c.number, "report_case.withdrawn",
                       json{{"requests", c.doc["requests"]}}.dump()});
  TD_RETURN_IF_ERROR(ctx_->stores.docs->Transact(ch).status());
  withdrawn_->Inc();
  return View(c);
}

Result<json> VictimCases::View(const Case& c) {
  // The case's progress: its least advanced request that was not rejected.
  static const std::vector<std::string> kOrder = {"received", "in_review", "approved", "removed",
                                                  "confirmed"};
  json requests = json::array();
  int64_t removed_total = 0;
  std::string overall, reason;
  int64_t deadline = 0, received = 0;
  for (const auto& idj : c.doc["requests"]) {
    TD_ASSIGN_OR_RETURN(Request r, LoadRequest(ctx_->stores.docs, idj.get<int64_t>()));
    int64_t removed = 0;
    TD_RETURN_IF_ERROR(
        ctx_->stores.docs->ForEachDoc({.kind = std::string(kActionDoc),
                                       .owner = r.id,
                                       .state = std::string(NameOf(ActionState::kAcknowledged)),
                                       .limit = 1000},
                                      [&](const store::DocRecord& rec) -> Status {
                                        TD_ASSIGN_OR_RETURN(Action a, ActionFromDoc(rec));
                                        if (a.kind == ActionKind::kRemove) ++removed;
                                        return Status::Ok();
                                      }));
    std::string status;
    switch (r.state) {
      case RequestState::kReceived:
        status = "received";
        break;
      case RequestState::kPendingReview:
        status = "in_review";
        break;
      case RequestState::kApproved:
        status = "approved";
        break;
      case RequestState::kActioned:
        status = removed > 0 ? "removed" : "approved";
        break;
      case RequestState::kConfirmed:
        status = "confirmed";
        break;
      case RequestState::kRejected:
        status = "rejected";
        break;
    }
    json one = {{"status", status},
                {"received_at", IsoUtc(r.received_ms)},
                {"deadline", IsoUtc(r.deadline_ms)},
                {"copies_removed", removed}};
    if (r.state == RequestState::kConfirmed) one["confirmed_at"] = IsoUtc(r.confirmed_ms);
    if (r.state == RequestState::kRejected && r.decision) one["reason"] = r.decision->reason;
    requests.push_back(one);
    removed_total += removed;
    if (received == 0) received = r.received_ms;
    deadline = std::max(deadline, r.deadline_ms);
    if (status == "rejected") {
      if (reason.empty() && r.decision) reason = r.decision->reason;
      continue;
    }
    const auto rank = [&](const std::string& s) {
      return std::find(kOrder.begin(), kOrder.end(), s) - kOrder.begin();
    };
    if (overall.empty() || rank(status) < rank(overall)) overall = status;
  }
  json out = {
      {"case", c.number},
      {"status", c.state == "withdrawn" ? "withdrawn" : (overall.empty() ? "rejected" : overall)},
      {"received_at", IsoUtc(received)},
      {"deadline", IsoUtc(deadline)},
      {"items", c.doc.value("items", int64_t{0})},
      {"copies_removed", removed_total},
      {"requests", requests}};
  if (overall == "confirmed" && requests.size() == 1) {
    out["confirmed_at"] = requests[0]["confirmed_at"];
  }
  if (overall.empty() && !reason.empty() && c.state != "withdrawn") out["reason"] = reason;
  if (c.doc.contains("withdrawn_ms")) {
    out["withdrawn_at"] = IsoUtc(c.doc["withdrawn_ms"].get<int64_t>());
  }
  return out;
}

}  // namespace takedown::service
