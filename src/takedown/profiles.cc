#include "takedown/profiles.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "core/text.h"
#include "hash/digest.h"
#include "intake/notice.h"
#include "takedown/dsa.h"

namespace takedown::service {
namespace {

using intake::Problems;
using nlohmann::json;

constexpr std::string_view kSenderDoc = "sender";

void Add(Problems* p, std::string field, std::string what) {
  p->push_back({std::move(field), std::move(what)});
}

std::string Str(const json& j, const std::string& key, const std::string& field, size_t max,
                Problems* p) {
  if (!j.contains(key) || j[key].is_null()) return "";
  if (!j[key].is_string()) {
    Add(p, field, "must be a string");
    return "";
  }
  std::string v = j[key].get<std::string>();
  if (v.size() > max) Add(p, field, fmt::format("longer than {} characters", max));
  return v;
}

// An allowlist: addresses (with @) or domains (without), lowercased.
std::vector<std::string> SenderList(const json& e, const char* list, Problems* p) {
  std::vector<std::string> out;
  if (!e.contains(list)) return out;
  const std::string field = fmt::format("email.{}", list);
  if (!e[list].is_array()) {
    Add(p, field, "must be an array of strings");
    return out;
  }
  const bool addresses = std::string_view(list) == "addresses";
  for (const auto& a : e[list]) {
    std::string v = a.is_string() ? AsciiLower(a.get<std::string>()) : "";
    if (v.empty() || v.size() > 256 || v.find_first_of(" \t\r\n<>,;") != std::string::npos ||
        addresses != (v.find('@') != std::string::npos)) {
      Add(p, field,
          addresses ? "each must be an email address" : "each must be a domain name (no @)");
      break;
    }
    out.push_back(std::move(v));
  }
  return out;
}

// A requester's email-line settings from an admin's body; the shared secret is kept only as its
// SHA-256.
EmailSettings EmailFromBody(const json& e, Problems* p) {
  EmailSettings out;
  if (!e.is_object()) {
    Add(p, "email", "must be an object");
    return out;
  }
  static const std::set<std::string> kKeys = {"addresses",
                                              "domains",
                                              "dkim",
                                              "language",
                                              "secret",
                                              "secret_sha256",
                                              "default_category",
                                              "legal_basis",
                                              "issuing_authority",
                                              "standing_statements",
                                              "template"};
  for (const auto& [k, v] : e.items()) {
    if (!kKeys.count(k)) Add(p, "email." + k, "unknown setting");
  }
  out.addresses = SenderList(e, "addresses", p);
  out.domains = SenderList(e, "domains", p);
  if (out.addresses.empty() && out.domains.empty()) {
    Add(p, "email", "needs at least one of addresses or domains");
  }
  if (e.contains("dkim")) out.dkim = Str(e, "dkim", "email.dkim", 16, p);
  if (out.dkim != "required" && out.dkim != "optional" && out.dkim != "off") {
    Add(p, "email.dkim", "must be required, optional or off");
  }
  if (e.contains("language")) out.language = Str(e, "language", "email.language", 8, p);
  if (out.language != "en" && out.language != "ko") Add(p, "email.language", "must be en or ko");
  out.default_category = Str(e, "default_category", "email.default_category", 64, p);
  if (!out.default_category.empty() && !EnumFromName<Category>(out.default_category)) {
    Add(p, "email.default_category", fmt::format("must be one of {}", EnumChoices<Category>()));
  }
  out.legal_basis = Str(e, "legal_basis", "email.legal_basis", 1000, p);
  out.issuing_authority = Str(e, "issuing_authority", "email.issuing_authority", 256, p);
  out.template_name = Str(e, "template", "email.template", 64, p);
  if (out.template_name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_") !=
      std::string::npos) {
    Add(p, "email.template", "letters, digits, - and _ only");
  }
  if (e.contains("standing_statements") && !e["standing_statements"].is_boolean()) {
    Add(p, "email.standing_statements", "must be true or false");
  }
  out.standing_statements = e.value("standing_statements", json(false)) == json(true);
  const std::string secret = Str(e, "secret", "email.secret", 256, p);
  if (!secret.empty()) {
    if (secret.size() < 16) Add(p, "email.secret", "shorter than 16 characters");
    out.secret_sha256 = hash::Sha256HexOfText(secret);
  } else if (e.contains("secret_sha256")) {  // a profile read back and set again keeps its secret
    const std::string h = Str(e, "secret_sha256", "email.secret_sha256", 64, p);
    if (!IsLowerHex(h, 64))
      Add(p, "email.secret_sha256", "not 64 hex digits");
    else
      out.secret_sha256 = h;
  }
  return out;
}

RequesterProfile ProfileFromBody(int64_t key_id, const json& body, Problems* p) {
  RequesterProfile r;
  r.key_id = key_id;
  const std::string source = Str(body, "source_type", "source_type", 64, p);
  if (auto s = EnumFromName<SourceType>(source)) {
    r.source_type = *s;
  } else {
    Add(p, "source_type", fmt::format("must be one of {}", EnumChoices<SourceType>()));
  }
  if (body.contains("trusted")) {
    if (!body["trusted"].is_boolean())
      Add(p, "trusted", "must be true or false");
    else
      r.trusted = body["trusted"].get<bool>();
  }
  if (body.contains("deadline_hours")) {
    const json& h = body["deadline_hours"];
    if (!h.is_number_integer() || h.get<int64_t>() < 0 || h.get<int64_t>() > 24 * 365) {
      Add(p, "deadline_hours", "must be an integer from 0 to 8760");
    } else {
      r.deadline_hours = h.get<int>();
    }
  }
  r.name = Str(body, "name", "name", 256, p);
  r.member_state = Str(body, "member_state", "member_state", 2, p);
  if (!r.member_state.empty() && !dsa::IsEuEeaCountry(r.member_state)) {
    Add(p, "member_state",
        "must be the two-letter code of an EU or EEA member state (ISO 3166-1, Greece GR), or "
        "empty");
  }
  if (body.contains("email") && !body["email"].is_null()) r.email = EmailFromBody(body["email"], p);
  return r;
}

store::DocRecord SenderDoc(int64_t id, const std::string& ukey, int64_t key_id, bool active) {
  store::DocRecord d;
  d.id = id;
  d.kind = std::string(kSenderDoc);
  d.owner = key_id;
  d.state = active ? "active" : "removed";
  d.ukey = ukey;
  d.doc = json{{"sender", ukey.substr(9)}, {"key_id", key_id}}.dump();
  return d;
}

}  // namespace

int DefaultDeadlineHours(SourceType s) {
  switch (s) {
    case SourceType::kAuthorityOrder:
    case SourceType::kTrustedFlagger:
    case SourceType::kHotline:
    case SourceType::kLawEnforcement:
      return 24;  // Korea: 24 h
    case SourceType::kVictim:
      return 48;  // TAKE IT DOWN Act
    case SourceType::kNotice:
      break;
  }
  return 72;  // DSA: "without undue delay"
}

int PriorityOf(SourceType s, bool trusted) {
  if (s == SourceType::kAuthorityOrder || s == SourceType::kLawEnforcement) return 3;
  if (trusted || s == SourceType::kTrustedFlagger || s == SourceType::kHotline ||
      s == SourceType::kVictim) {
    return 2;
  }
  return 1;
}

std::vector<std::string> RequesterProfiles::SenderKeys(const EmailSettings& e) {
  std::vector<std::string> keys;
  for (const auto& a : e.addresses) keys.push_back("sender:a:" + a);
  for (const auto& d : e.domains) keys.push_back("sender:d:" + d);
  return keys;
}

Result<std::optional<store::DocRecord>> RequesterProfiles::ProfileDoc(int64_t key_id) {
  TD_ASSIGN_OR_RETURN(auto found,
                      ctx_->stores.docs->FindDocs(
                          {.kind = std::string(kRequesterDoc), .owner = key_id, .limit = 1}));
  if (found.empty()) return std::optional<store::DocRecord>();
  return std::optional<store::DocRecord>(std::move(found.front()));
}

Status RequesterProfiles::Start() {
  MutexLock l(&mu_);
  for (int64_t after = 0;;) {
    TD_ASSIGN_OR_RETURN(auto rows,
                        ctx_->stores.docs->FindDocs(
                            {.kind = std::string(kRequesterDoc), .after_id = after, .limit = 500}));
    if (rows.empty()) return Status::Ok();
    after = rows.back().id;
    std::vector<store::DocRecord> senders;
    for (const auto& row : rows) {
      TD_ASSIGN_OR_RETURN(auto p, ProfileFromDoc(row));
      if (!p.email) continue;
      for (const auto& k : SenderKeys(*p.email)) senders.push_back(SenderDoc(0, k, p.key_id, true));
    }
    // Inserts of a ukey that exists change nothing: senders indexed before stay as they are.
    if (!senders.empty()) TD_RETURN_IF_ERROR(ctx_->stores.docs->PutDocs(senders).status());
  }
}

Result<RequesterProfile> RequesterProfiles::Set(int64_t key_id, const json& body,
                                                const Principal& who) {
  if (!body.is_object()) return InvalidArgument("the body must be a JSON object");
  TD_ASSIGN_OR_RETURN(auto key, ctx_->svc->GetKey(key_id));
  if (!key) return NotFound(fmt::format("no API key {}", key_id));
  if (key->role != "requester") {
    return FailedPrecondition(
        fmt::format("key {} is a {} key: profiles are for requester keys", key_id, key->role));
  }
  Problems p;
  RequesterProfile profile = ProfileFromBody(key_id, body, &p);
  if (!p.empty()) return intake::ProblemsStatus(p);

  MutexLock l(&mu_);
  store::DocumentStore* docs = ctx_->stores.docs;
  TD_ASSIGN_OR_RETURN(auto existing, ProfileDoc(key_id));
  std::set<std::string> had;
  if (existing) {
    TD_ASSIGN_OR_RETURN(auto old, ProfileFromDoc(*existing));
    profile.id = existing->id;
    if (old.email) {
      for (const auto& k : SenderKeys(*old.email)) had.insert(k);
    }
  }
  // One sender, one requester: mail must never be filed under another's key.
  store::DocumentStore::Changes ch;
  const std::vector<std::string> wanted =
      profile.email ? SenderKeys(*profile.email) : std::vector<std::string>{};
  for (const auto& k : wanted) {
    TD_ASSIGN_OR_RETURN(auto s,
                        docs->FindDocs({.kind = std::string(kSenderDoc), .limit = 1, .ukey = k}));
    if (!s.empty() && s[0].state == "active" && s[0].owner != key_id) {
      Add(&p, k[7] == 'a' ? "email.addresses" : "email.domains",
          fmt::format("{} is already on requester {}'s list", k.substr(9), s[0].owner));
      continue;
    }
    ch.docs.push_back(SenderDoc(s.empty() ? 0 : s[0].id, k, key_id, true));
    had.erase(k);
  }
  if (!p.empty()) return intake::ProblemsStatus(p);
  for (const auto& k : had) {  // dropped from the allowlist
    TD_ASSIGN_OR_RETURN(auto s,
                        docs->FindDocs({.kind = std::string(kSenderDoc), .limit = 1, .ukey = k}));
    if (!s.empty() && s[0].owner == key_id) ch.docs.push_back(SenderDoc(s[0].id, k, key_id, false));
  }
  ch.docs.push_back(ToDoc(profile));
  json audit = ToJson(profile);
  audit["owner_id"] = key_id;
  audit["status"] = "active";
  audit["ukey"] = fmt::format("requester:{}", key_id);
  ch.audits.push_back({who.actor(), "requester.profile.set", audit.dump()});
  TD_ASSIGN_OR_RETURN(auto ids, docs->Transact(ch));
  profile.id = std::abs(ids.back());
  return profile;
}

Result<RequesterProfile> RequesterProfiles::Get(int64_t key_id) {
  TD_ASSIGN_OR_RETURN(auto doc, ProfileDoc(key_id));
  if (!doc) {
    RequesterProfile defaults;
    defaults.key_id = key_id;
    return defaults;
  }
  return ProfileFromDoc(*doc);
}

Result<std::vector<RequesterProfile>> RequesterProfiles::List(int64_t after_key_id, int64_t limit) {
  limit = std::clamp<int64_t>(limit, 1, 1000);
  std::vector<RequesterProfile> out;
  TD_RETURN_IF_ERROR(
      ctx_->stores.docs->ForEachDoc({.kind = std::string(kRequesterDoc), .limit = 1000},
                                    [&](const store::DocRecord& r) -> Status {
                                      if (r.owner <= after_key_id) return Status::Ok();
                                      TD_ASSIGN_OR_RETURN(auto p, ProfileFromDoc(r));
                                      out.push_back(std::move(p));
                                      return Status::Ok();
                                    }));
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.key_id < b.key_id; });
  if (static_cast<int64_t>(out.size()) > limit) out.resize(static_cast<size_t>(limit));
  return out;
}

Result<std::optional<RequesterProfiles::Sender>> RequesterProfiles::FindBySender(
    const std::string& address) {
  std::vector<std::string> keys = {"sender:a:" + address};
  const auto at = address.rfind('@');
  for (std::string d = at == std::string::npos ? "" : address.substr(at + 1); !d.empty();) {
    keys.push_back("sender:d:" + d);
    const auto dot = d.find('.');
    d = dot == std::string::npos ? "" : d.substr(dot + 1);
  }
  for (const auto& k : keys) {
    TD_ASSIGN_OR_RETURN(
        auto s, ctx_->stores.docs->FindDocs(
                    {.kind = std::string(kSenderDoc), .state = "active", .limit = 1, .ukey = k}));
    if (s.empty()) continue;
    const int64_t key_id = s[0].owner;
    TD_ASSIGN_OR_RETURN(auto key, ctx_->svc->GetKey(key_id));
    if (!key || key->revoked || key->role != "requester") return std::optional<Sender>();
    TD_ASSIGN_OR_RETURN(auto profile, Get(key_id));
    if (!profile.email) return std::optional<Sender>();  // an index left behind: not trusted
    return std::optional<Sender>(Sender{std::move(profile), key->name});
  }
  return std::optional<Sender>();
}

}  // namespace takedown::service
