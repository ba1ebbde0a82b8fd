#include "takedown/workflow.h"

#include <openssl/hmac.h>
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

#include <fmt/format.h>

#include "core/clock.h"
#include "core/text.h"
#include "hash/digest.h"
#include "media/preview.h"

namespace takedown::service {
namespace {

std::string Iso(int64_t ms) { return IsoUtc(ms); }

const std::set<std::string> kCategories = {"ncii", "csam", "deepfake-sexual", "terrorism", "other"};
const std::set<std::string> kSourceTypes = {"authority_order", "trusted_flagger", "hotline", "victim", "notice"};

int DefaultDeadlineHours(const std::string& source) {
  if (source == "authority_order" || source == "trusted_flagger" || source == "hotline") return 24;  // Korea: 24 h
  if (source == "victim") return 48;  // TAKE IT DOWN Act
  return 72;                          // DSA: "without undue delay"
}

int PriorityOf(const std::string& source, bool trusted) {
  if (source == "authority_order") return 3;
  if (trusted || source == "trusted_flagger" || source == "hotline" || source == "victim") return 2;
  return 1;
}

// Collects every field problem of a request, so one answer names them all.
struct Problems {
  std::vector<std::string> list;
  void Add(const std::string& field, const std::string& what) { list.push_back(fmt::format("{}: {}", field, what)); }
  Status ToStatus() const {
    std::string m = "invalid request: ";
    for (size_t i = 0; i < list.size(); ++i) m += (i ? "; " : "") + list[i];
    return InvalidArgument(m);
  }
};

// A string field: absent -> "", wrong type or too long -> a problem.
std::string Str(const json& body, const std::string& key, Problems* p, size_t max = 5000) {
  if (!body.contains(key) || body[key].is_null()) return "";
  if (!body[key].is_string()) {
    p->Add(key, "must be a string");
    return "";
  }
  std::string v = body[key].get<std::string>();
  if (v.size() > max) p->Add(key, fmt::format("longer than {} characters", max));
  return v;
}

// A requester's email-line settings (see SetRequesterProfile in workflow.h); the shared secret is
// kept only as its SHA-256.
Result<json> EmailSettings(const json& e, Problems* p) {
  if (!e.is_object()) {
    p->Add("email", "must be an object");
    return json();
  }
  static const std::set<std::string> kKeys = {"addresses", "domains", "dkim", "language", "secret", "secret_sha256", "default_category",
                                              "legal_basis", "issuing_authority", "standing_statements", "template"};
  for (const auto& [k, v] : e.items()) {
    if (!kKeys.count(k)) p->Add("email." + k, "unknown setting");
  }
  json out = json::object();
  for (const char* list : {"addresses", "domains"}) {
    json arr = json::array();
    if (e.contains(list)) {
      if (!e[list].is_array()) {
        p->Add(fmt::format("email.{}", list), "must be an array of strings");
      } else {
        for (const auto& a : e[list]) {
          std::string v = a.is_string() ? AsciiLower(a.get<std::string>()) : "";
          const bool is_addr = std::string(list) == "addresses";
          if (v.empty() || v.size() > 256 || v.find_first_of(" \t\r\n<>,;") != std::string::npos || (is_addr != (v.find('@') != std::string::npos))) {
            p->Add(fmt::format("email.{}", list), is_addr ? "each must be an email address" : "each must be a domain name (no @)");
            break;
          }
          arr.push_back(v);
        }
      }
    }
    out[list] = arr;
  }
  if (out["addresses"].empty() && out["domains"].empty()) p->Add("email", "needs at least one of addresses or domains");
  const std::string dkim = e.contains("dkim") ? Str(e, "dkim", p, 16) : "required";
  if (dkim != "required" && dkim != "optional" && dkim != "off") p->Add("email.dkim", "must be required, optional or off");
  out["dkim"] = dkim;
  const std::string lang = e.contains("language") ? Str(e, "language", p, 8) : "en";
  if (lang != "en" && lang != "ko") p->Add("email.language", "must be en or ko");
  out["language"] = lang;
  const std::string cat = Str(e, "default_category", p, 64);
  if (!cat.empty() && !kCategories.count(cat)) p->Add("email.default_category", "must be one of ncii, csam, deepfake-sexual, terrorism, other");
  out["default_category"] = cat;
  out["legal_basis"] = Str(e, "legal_basis", p, 1000);
  out["issuing_authority"] = Str(e, "issuing_authority", p, 256);
  out["template"] = Str(e, "template", p, 64);
  if (out["template"].get<std::string>().find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_") != std::string::npos) {
    p->Add("email.template", "letters, digits, - and _ only");
  }
  if (e.contains("standing_statements") && !e["standing_statements"].is_boolean()) p->Add("email.standing_statements", "must be true or false");
  out["standing_statements"] = e.value("standing_statements", false) == true;
  const std::string secret = Str(e, "secret", p, 256);
  if (!secret.empty()) {
    if (secret.size() < 16) p->Add("email.secret", "shorter than 16 characters");
    out["secret_sha256"] = hash::Sha256HexOfText(secret);
  } else if (e.contains("secret_sha256")) {  // a profile read back and set again keeps its secret
    const std::string h = Str(e, "secret_sha256", p, 64);
    if (!IsLowerHex(h, 64)) p->Add("email.secret_sha256", "not 64 hex digits");
    else out["secret_sha256"] = h;
  }
  return out;
}

bool Flag(const json& body, const std::string& key, Problems* p) {
  if (!body.contains(key)) return false;
  if (!body[key].is_boolean()) {
    p->Add(key, "must be true or false");
    return false;
  }
  return body[key].get<bool>();
}

// A message link's content id: the `content_id` query parameter, else the last path segment.
std::string ContentIdOfLink(const std::string& link) {
  if (auto q = link.find("content_id="); q != std::string::npos) {
    const auto e = link.find_first_of("&#", q);
    return link.substr(q + 11, e == std::string::npos ? std::string::npos : e - q - 11);
  }
  std::string s = link.substr(0, link.find_first_of("?#"));
  while (!s.empty() && s.back() == '/') s.pop_back();
  const auto slash = s.rfind('/');
  return slash == std::string::npos ? "" : s.substr(slash + 1);
}

std::string DsaSourceType(const std::string& source, bool trusted) {
  if (source == "authority_order") return "SOURCE_TYPE_OTHER_NOTIFICATION";  // an order (Art. 9), not a notice
  if (source == "trusted_flagger" || source == "hotline" || trusted) return "SOURCE_TRUSTED_FLAGGER";
  if (source == "own_initiative") return "SOURCE_VOLUNTARY";
  return "SOURCE_ARTICLE_16";
}

std::string DsaCategory(const std::string& category) {
  if (category == "csam") return "STATEMENT_CATEGORY_PROTECTION_OF_MINORS";
  if (category == "ncii" || category == "deepfake-sexual") return "STATEMENT_CATEGORY_NON_CONSENSUAL_BEHAVIOUR";
  if (category == "terrorism") return "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY";
  return "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH";
}

double Percentile(std::vector<int64_t> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double idx = p * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(idx);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return static_cast<double>(v[lo]) + (idx - static_cast<double>(lo)) * static_cast<double>(v[hi] - v[lo]);
}

}  // namespace

store::DocRecord DocumentRecord(const std::string& kind, const json& doc) {
  store::DocRecord r;
  r.id = doc.value("id", int64_t{0});
  r.kind = kind;
  r.owner = doc.value("owner_id", int64_t{0});
  r.state = doc.value("status", std::string());
  r.due_ms = doc.value("due_ms", int64_t{0});
  r.ukey = doc.value("ukey", std::string());
  r.doc = doc.dump();
  return r;
}

Workflow::Workflow(Service* svc, std::unique_ptr<ActionSink> sink, WorkflowOptions options)
    : svc_(svc), store_(&svc->store()), sink_(std::move(sink)), opt_(std::move(options)) {
  if (sodium_init() < 0) opt_.evidence_retention_s = 0;  // no safe randomness: keep nothing
  if (opt_.evidence_key.size() != crypto_secretbox_KEYBYTES) opt_.evidence_retention_s = 0;  // callers check; never keep unencrypted
}

Workflow::~Workflow() {
  {
    std::lock_guard lock(q_mu_);
    stopping_ = true;
  }
  q_cv_.notify_all();
  for (auto& t : workers_) t.join();
  if (retention_.joinable()) retention_.join();
}

void Workflow::Start() {
  if (Status st = Recover(); !st.ok()) std::fprintf(stderr, "takedown: workflow recovery: %s\n", st.ToString().c_str());
  if (opt_.evidence_retention_s > 0) retention_ = std::thread([this] { RetentionLoop(); });
  if (sink_ == nullptr) return;
  for (int i = 0; i < std::max(1, opt_.delivery_workers); ++i) workers_.emplace_back([this] { DeliveryLoop(); });
}

Result<json> Workflow::LoadDoc(int64_t id, const std::string& kind) {
  TD_ASSIGN_OR_RETURN(auto rec, store_->GetDoc(id));
  if (!rec || rec->kind != kind) return NotFound(fmt::format("no {} {}", kind, id));
  json doc = json::parse(rec->doc, nullptr, false);
  if (doc.is_discarded()) return DataLoss(fmt::format("{} {}: stored document is not JSON", kind, id));
  doc["id"] = rec->id;
  doc["created_ms"] = rec->created_ms;
  return doc;
}

Status Workflow::SaveDoc(int64_t id, const std::string& kind, const json& doc) {
  auto r = DocumentRecord(kind, doc);
  r.id = id;
  return store_->PutDocs({r}).status();
}

// ---------------------------------------------------------------------------------------------
// Requester profiles

Result<json> Workflow::SetRequesterProfile(int64_t key_id, const json& profile, const Principal& who) {
  Problems p;
  if (!profile.is_object()) return InvalidArgument("the body must be a JSON object");
  const std::string source = Str(profile, "source_type", &p, 64);
  if (!kSourceTypes.count(source)) p.Add("source_type", "must be one of authority_order, trusted_flagger, hotline, victim, notice");
  const bool trusted = Flag(profile, "trusted", &p);
  int hours = 0;
  if (profile.contains("deadline_hours")) {
    if (!profile["deadline_hours"].is_number_integer() || profile["deadline_hours"].get<int64_t>() < 0 || profile["deadline_hours"].get<int64_t>() > 24 * 365) {
      p.Add("deadline_hours", "must be an integer from 0 to 8760");
    } else {
      hours = profile["deadline_hours"].get<int>();
    }
  }
  const std::string name = Str(profile, "name", &p, 256);
  json email;
  if (profile.contains("email") && !profile["email"].is_null()) {
    TD_ASSIGN_OR_RETURN(email, EmailSettings(profile["email"], &p));
  }
  if (!p.list.empty()) return p.ToStatus();
  std::lock_guard lock(mu_);
  if (!email.is_null()) {  // one sender, one requester: mail must never be filed under another's key
    TD_ASSIGN_OR_RETURN(auto others, store_->FindDocs({.kind = "requester", .limit = 100000}));
    for (const auto& o : others) {
      if (o.owner == key_id) continue;
      const json od = json::parse(o.doc, nullptr, false);
      if (od.is_discarded() || !od.contains("email")) continue;
      for (const char* list : {"addresses", "domains"}) {
        for (const auto& v : email[list]) {
          for (const auto& w : od["email"].value(list, json::array())) {
            if (v == w) p.Add(fmt::format("email.{}", list), fmt::format("{} is already on requester {}'s list", v.get<std::string>(), o.owner));
          }
        }
      }
    }
    if (!p.list.empty()) return p.ToStatus();
  }
  json doc = {{"key_id", key_id}, {"source_type", source}, {"trusted", trusted}, {"deadline_hours", hours}, {"name", name},
              {"owner_id", key_id}, {"status", "active"}, {"ukey", fmt::format("requester:{}", key_id)}};
  if (!email.is_null()) doc["email"] = email;
  auto existing = store_->FindDocs({.kind = "requester", .owner = key_id, .limit = 1});
  if (!existing.ok()) return existing.status();
  if (existing->empty()) {
    TD_RETURN_IF_ERROR(store_->PutDocs({DocumentRecord("requester", doc)}).status());
  } else {
    TD_RETURN_IF_ERROR(SaveDoc(existing->front().id, "requester", doc));
  }
  TD_RETURN_IF_ERROR(store_->AppendAudit(who.actor(), "requester.profile.set", doc.dump()).status());
  return doc;
}

Result<json> Workflow::ProfileOf(int64_t key_id) {
  TD_ASSIGN_OR_RETURN(auto found, store_->FindDocs({.kind = "requester", .owner = key_id, .limit = 1}));
  if (found.empty()) {
    return json{{"key_id", key_id}, {"source_type", "notice"}, {"trusted", false}, {"deadline_hours", 0}, {"name", ""}};
  }
  json doc = json::parse(found.front().doc, nullptr, false);
  if (doc.is_discarded()) return DataLoss(fmt::format("requester profile {}: not JSON", key_id));
  return doc;
}

Result<json> Workflow::GetRequesterProfile(int64_t key_id) { return ProfileOf(key_id); }

Result<json> Workflow::ListRequesterProfiles(int64_t after_key_id, int64_t limit) {
  TD_ASSIGN_OR_RETURN(auto rows, store_->FindDocs({.kind = "requester", .limit = 1'000'000}));
  std::vector<json> all;
  for (const auto& r : rows) {
    if (r.owner <= after_key_id) continue;
    json d = json::parse(r.doc, nullptr, false);
    if (d.is_discarded()) return DataLoss(fmt::format("requester profile {}: not JSON", r.owner));
    d.erase("owner_id");
    d.erase("ukey");
    all.push_back(std::move(d));
  }
  std::sort(all.begin(), all.end(), [](const json& a, const json& b) { return a["key_id"].get<int64_t>() < b["key_id"].get<int64_t>(); });
  limit = std::clamp<int64_t>(limit, 1, 1000);
  if (static_cast<int64_t>(all.size()) > limit) all.resize(static_cast<size_t>(limit));
  return json{{"requesters", all}, {"next_after_id", all.empty() ? after_key_id : all.back()["key_id"].get<int64_t>()}};
}

// ---------------------------------------------------------------------------------------------
// Intake

Result<json> Workflow::CreateRequest(const Principal& who, const json& body, const std::map<size_t, std::vector<uint8_t>>& media,
                                     const CreateRequestOptions& options) {
  if (!body.is_object()) return InvalidArgument("the body must be a JSON object");
  const std::string ukey = options.idempotency_key.empty() ? "" : "request:" + options.idempotency_key;
  if (!ukey.empty()) {  // taken before: the stored request, not a second one
    TD_ASSIGN_OR_RETURN(auto known, store_->FindDocs({.kind = "request", .owner = who.key_id, .limit = 1, .ukey = ukey}));
    if (!known.empty()) {
      TD_ASSIGN_OR_RETURN(json r, LoadDoc(known.front().id, "request"));
      return View(r);
    }
  }
  TD_ASSIGN_OR_RETURN(json profile, ProfileOf(who.key_id));
  const std::string source = profile.value("source_type", std::string("notice"));
  const bool trusted = profile.value("trusted", false);
  Problems p;
  const std::string category = Str(body, "category", &p, 64);
  if (category.empty()) p.Add("category", "missing (one of ncii, csam, deepfake-sexual, terrorism, other)");
  else if (!kCategories.count(category)) p.Add("category", "must be one of ncii, csam, deepfake-sexual, terrorism, other");
  json notice;
  notice["explanation"] = Str(body, "explanation", &p);
  if (notice["explanation"].get<std::string>().empty()) p.Add("explanation", "missing: why the content is illegal (DSA Art. 16(2)(a))");
  // Notifier: name and email, optional only for child sexual abuse material (anonymous notices).
  json notifier = body.value("notifier", json::object());
  if (!notifier.is_object()) {
    p.Add("notifier", "must be an object with name and email");
    notifier = json::object();
  }
  Problems np;
  const std::string nname = Str(notifier, "name", &np, 256), nemail = Str(notifier, "email", &np, 256);
  for (const auto& e : np.list) p.list.push_back("notifier." + e);
  const bool anonymous = nname.empty() && nemail.empty();
  if (category != "csam" && source != "authority_order") {
    if (nname.empty()) p.Add("notifier.name", "missing (anonymous notices are accepted only for csam)");
    if (nemail.empty()) p.Add("notifier.email", "missing (anonymous notices are accepted only for csam)");
  }
  if (!nemail.empty() && (nemail.find('@') == std::string::npos || nemail.find_first_of(" \r\n<>") != std::string::npos)) {
    p.Add("notifier.email", "not an email address");
  }
  notice["notifier"] = {{"name", nname}, {"email", nemail}};
  notice["anonymous"] = anonymous;
  notice["accuracy_statement"] = Flag(body, "accuracy_statement", &p);
  notice["good_faith_statement"] = Flag(body, "good_faith_statement", &p);
  notice["signature"] = Str(body, "signature", &p, 256);
  notice["legal_basis"] = Str(body, "legal_basis", &p, 1000);
  notice["issuing_authority"] = Str(body, "issuing_authority", &p, 256);
  notice["case_reference"] = Str(body, "case_reference", &p, 256);
  notice["territorial_scope"] = Str(body, "territorial_scope", &p, 256);
  if (source == "authority_order") {
    if (notice["legal_basis"].get<std::string>().empty()) p.Add("legal_basis", "missing: an authority order states its legal basis (DSA Art. 9)");
    if (notice["issuing_authority"].get<std::string>().empty()) p.Add("issuing_authority", "missing for an authority order");
  } else if (!notice["accuracy_statement"].get<bool>()) {
    p.Add("accuracy_statement", "must be true: a statement that the notice is accurate and complete (DSA Art. 16(2)(d))");
  }
  if (source == "victim") {  // TAKE IT DOWN Act
    if (notice["signature"].get<std::string>().empty()) p.Add("signature", "missing: the depicted person's or their representative's signature");
    if (!notice["good_faith_statement"].get<bool>()) p.Add("good_faith_statement", "must be true: the depiction is non-consensual, stated in good faith");
  }

  // Evidence: media (hashed here, bytes dropped), hashes, or locations.
  json evidence = json::array();
  std::map<size_t, std::shared_ptr<const match::VideoItem>> videos;  // evidence index -> a video's signals
  std::map<size_t, std::shared_ptr<const RobustImage>> robusts;       // evidence index -> an image's robust signals
  if (!body.contains("evidence") || !body["evidence"].is_array() || body["evidence"].empty()) {
    p.Add("evidence", "missing: a non-empty array of media, hashes (pdq, md5, sha256) or locations (content_id, message_link)");
  } else if (body["evidence"].size() > 1000) {
    p.Add("evidence", "more than 1000 items");
  } else {
    for (size_t i = 0; i < body["evidence"].size(); ++i) {
      const json& ev = body["evidence"][i];
      const std::string f = fmt::format("evidence[{}]", i);
      if (!ev.is_object()) {
        p.Add(f, "must be an object");
        continue;
      }
      json item = {{"index", i}};
      Signals s;
      bool any = false;
      if (auto m = media.find(i); m != media.end()) {
        auto sig = svc_->HashMedia(m->second);
        if (!sig.ok() && options.lenient_media) {
          evidence.push_back({{"index", i}, {"kind", "media"}, {"media_bytes", m->second.size()}, {"usable", false},
                              {"problem", std::string(sig.status().message())}});
          continue;
        }
        if (!sig.ok()) {
          p.Add(f + ".media", sig.status().message());
          continue;
        }
        s = *sig;
        item["kind"] = "media";
        item["media_bytes"] = m->second.size();
        if (s.robust) robusts[i] = s.robust;
        if (s.video) {
          videos[i] = s.video;
          item["video"] = {{"frames", s.video->frames.size()}, {"duration_s", s.video->duration}};
        }
        any = true;
      }
      if (ev.contains("pdq")) {
        auto h = ev["pdq"].is_string() ? hash::Hash256::FromHex(AsciiLower(ev["pdq"].get<std::string>())) : Result<hash::Hash256>(InvalidArgument("must be a string"));
        if (!h.ok()) {
          p.Add(f + ".pdq", "not 64 hex digits");
        } else {
          s.pdq = *h;
          s.quality = ev.value("quality", 100);
          if (!ev.value("quality", json(100)).is_number_integer() || s.quality < 0 || s.quality > 100) p.Add(f + ".quality", "must be an integer 0..100");
          item["kind"] = item.value("kind", std::string("hash"));
          any = true;
        }
      }
      for (const auto& [key, len] : {std::pair<const char*, size_t>{"md5", 32}, {"sha256", 64}}) {
        if (!ev.contains(key)) continue;
        const std::string v = ev[key].is_string() ? AsciiLower(ev[key].get<std::string>()) : "";
        if (!IsLowerHex(v, len)) {
          p.Add(f + "." + key, fmt::format("not {} hex digits", len));
          continue;
        }
        (std::string(key) == "md5" ? s.md5 : s.sha256) = v;
        item["kind"] = item.value("kind", std::string("hash"));
        any = true;
      }
      std::string cid = Str(ev, "content_id", &p, 256);
      const std::string link = Str(ev, "message_link", &p, 2048);
      if (!link.empty()) {
        item["message_link"] = link;
        if (cid.empty()) cid = ContentIdOfLink(link);  // an explicit content_id wins (the email line's patterns)
        if (cid.empty()) p.Add(f + ".message_link", "no content id in the link (expected .../ID or ?content_id=ID)");
      }
      if (!cid.empty()) {
        item["kind"] = item.value("kind", std::string("location"));
        item["content_id"] = cid;
        TD_ASSIGN_OR_RETURN(auto c, store_->FindContent(cid));
        if (c) {  // the located item's own signals find its copies too
          item["content_row"] = c->id;
          item["resolved"] = true;
          if (!s.pdq && !c->pdq.empty()) {
            if (auto h = hash::Hash256::FromHex(c->pdq); h.ok()) {
              s.pdq = *h;
              s.quality = c->quality;
            }
          }
          if (s.md5.empty()) s.md5 = c->md5;
          if (s.sha256.empty()) s.sha256 = c->sha256;
        } else {
          item["resolved"] = false;
          item["problem"] = "not in the content index";
        }
        any = true;
      }
      if (!any && !ev.contains("media")) p.Add(f, "has none of media, pdq, md5, sha256, content_id, message_link");
      if (s.pdq) {
        item["pdq"] = s.pdq->ToHex();
        item["quality"] = s.quality;
        if (s.quality < opt_.min_quality) item["problem"] = fmt::format("PDQ quality {} is below {}: not usable for matching", s.quality, opt_.min_quality);
      }
      if (!s.md5.empty()) item["md5"] = s.md5;
      if (!s.sha256.empty()) item["sha256"] = s.sha256;
      item["usable"] = (s.pdq && s.quality >= opt_.min_quality) || !s.md5.empty() || !s.sha256.empty() || item.contains("content_row") ||
                       s.video != nullptr;
      evidence.push_back(item);
    }
  }
  if (!p.list.empty()) return p.ToStatus();

  // A video's frame signals are large: each goes into its own document, referenced from the item.
  for (const auto& [i, v] : videos) {
    TD_ASSIGN_OR_RETURN(auto vid, store_->PutDocs({DocumentRecord("signals", {{"status", "kept"}, {"video", VideoToJson(*v)}})}));
    evidence[i]["video_signals"] = vid.at(0);
  }
  for (const auto& [i, rb] : robusts) {
    TD_ASSIGN_OR_RETURN(auto rid, store_->PutDocs({DocumentRecord("signals", {{"status", "kept"}, {"robust", RobustToJson(*rb)}})}));
    evidence[i]["image_signals"] = rid.at(0);
  }
  const int64_t now = NowMs();
  const int hours = profile.value("deadline_hours", 0) > 0 ? profile.value("deadline_hours", 0) : DefaultDeadlineHours(source);
  json r = {{"status", "received"},
            {"owner_id", who.key_id},
            {"requester", {{"key_id", who.key_id}, {"name", who.name}, {"profile", profile.value("name", std::string())}}},
            {"source_type", source},
            {"trusted", trusted},
            {"priority", PriorityOf(source, trusted)},
            {"category", category},
            {"notice", notice},
            {"evidence", evidence},
            {"received_ms", now},
            {"deadline_ms", now + int64_t{hours} * 3600 * 1000},
            {"due_ms", now + int64_t{hours} * 3600 * 1000},
            {"history", json::array({{{"status", "received"}, {"time_ms", now}}})}};
  if (!ukey.empty()) r["ukey"] = ukey;
  const bool retain = opt_.evidence_retention_s > 0 && !media.empty();
  if (retain) {
    for (auto& ev : r["evidence"]) {
      if (ev.value("kind", std::string()) == "media") ev["retained_until"] = Iso(now + opt_.evidence_retention_s * 1000);
    }
  }
  std::lock_guard lock(mu_);
  TD_ASSIGN_OR_RETURN(auto ids, store_->PutDocs({DocumentRecord("request", r)}));
  if (ids.at(0) < 0) {  // the same key raced in: that one stands
    TD_ASSIGN_OR_RETURN(json known, LoadDoc(-ids[0], "request"));
    return View(known);
  }
  r["id"] = ids.at(0);
  if (retain) {  // encrypted at rest: XSalsa20-Poly1305 (libsodium secretbox), a random nonce each
    for (const auto& [i, bytes] : media) {
      std::string nonce(crypto_secretbox_NONCEBYTES, '\0'), box(bytes.size() + crypto_secretbox_MACBYTES, '\0');
      randombytes_buf(nonce.data(), nonce.size());
      crypto_secretbox_easy(reinterpret_cast<unsigned char*>(box.data()), bytes.data(), bytes.size(),
                            reinterpret_cast<const unsigned char*>(nonce.data()), reinterpret_cast<const unsigned char*>(opt_.evidence_key.data()));
      TD_RETURN_IF_ERROR(store_->PutEvidence({ids[0], static_cast<int>(i), nonce, box, now + opt_.evidence_retention_s * 1000}));
    }
  }
  TD_RETURN_IF_ERROR(store_->AppendAudit(who.actor(), "request.received",
                                         json{{"request_id", ids[0]}, {"category", category}, {"source_type", source}, {"evidence", evidence.size()}}.dump())
                         .status());
  TD_RETURN_IF_ERROR(ApplyPolicy(r));
  return View(r);
}

// Policy: a trusted source whose every evidence item is usable is approved without a person (and
// swept at once); anything else waits for a reviewer. Under mu_.
Status Workflow::ApplyPolicy(json& r) {
  const int64_t id = r["id"].get<int64_t>();
  const bool all_usable = std::all_of(r["evidence"].begin(), r["evidence"].end(), [](const json& e) { return e.value("usable", false); });
  auto set_status = [&](const std::string& st) {
    r["status"] = st;
    r["history"].push_back({{"status", st}, {"time_ms", NowMs()}});
  };
  if (r.value("trusted", false) && all_usable) {
    r["decision"] = {{"approved", true}, {"by", "policy"}, {"automated", true}, {"time_ms", NowMs()},
                     {"reason", "trusted source; every evidence item hashed with usable quality or located"}};
    set_status("approved");
    TD_RETURN_IF_ERROR(SaveDoc(id, "request", r));
    TD_RETURN_IF_ERROR(store_->AppendAudit("system", "request.approved", json{{"request_id", id}, {"by", "policy"}}.dump()).status());
    return Sweep(r, "system");
  }
  set_status("pending_review");
  return SaveDoc(id, "request", r);
}

// After a crash or kill -9: requests stored but not yet through the policy, approved but not
// swept, or actioned with every removal acknowledged are taken up again. Sweeping twice is safe:
// actions carry one unique key per request and content item.
Status Workflow::Recover() {
  std::lock_guard lock(mu_);
  for (const char* state : {"received", "approved", "actioned"}) {
    int64_t after = 0;
    for (;;) {
      TD_ASSIGN_OR_RETURN(auto rows, store_->FindDocs({.kind = "request", .state = state, .after_id = after, .limit = 500}));
      if (rows.empty()) break;
      after = rows.back().id;
      for (const auto& rec : rows) {
        TD_ASSIGN_OR_RETURN(json r, LoadDoc(rec.id, "request"));
        if (rec.state == "received") TD_RETURN_IF_ERROR(ApplyPolicy(r));
        else if (rec.state == "approved") TD_RETURN_IF_ERROR(Sweep(r, "system"));
        else TD_RETURN_IF_ERROR(MaybeConfirm(rec.id));
      }
    }
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Sweep

Status Workflow::Sweep(json& r, const std::string& actor) {
  const int64_t id = r["id"].get<int64_t>();
  const std::string category = r["category"];
  // The bank of the request's category (created, blocking at upload, when there is none).
  TD_ASSIGN_OR_RETURN(auto banks, svc_->ListBanks());
  std::optional<store::BankRecord> bank;
  for (const auto& b : banks) {
    if (b.category == category && (!bank || b.id < bank->id)) bank = b;
  }
  if (!bank) {
    auto made = svc_->CreateBank({category, category, 31, "block"}, "system");
    if (!made.ok()) {  // a bank with that name but another category: use a distinct name
      TD_ASSIGN_OR_RETURN(made, svc_->CreateBank({"requests-" + category, category, 31, "block"}, "system"));
    }
    bank = *made;
  }
  r["bank"] = bank->name;
  struct Hit {
    std::string signal;
    int distance;
    int64_t entry_id;
  };
  std::map<int64_t, Hit> hits;  // content row -> the best signal that found it
  auto hit = [&](int64_t row, const std::string& signal, int d, int64_t entry) {
    auto it = hits.find(row);
    if (it == hits.end() || d < it->second.distance) hits[row] = {signal, d, entry};
  };
  const int64_t t0 = NowMs();
  json entry_ids = json::array();
  for (auto& ev : r["evidence"]) {
    if (!ev.value("usable", false)) continue;
    Signals s;
    if (ev.contains("pdq")) {
      s.pdq = *hash::Hash256::FromHex(ev["pdq"].get<std::string>());
      s.quality = ev.value("quality", 0);
    }
    s.md5 = ev.value("md5", std::string());
    s.sha256 = ev.value("sha256", std::string());
    if (ev.contains("video_signals")) {
      TD_ASSIGN_OR_RETURN(json vd, LoadDoc(ev["video_signals"].get<int64_t>(), "signals"));
      TD_ASSIGN_OR_RETURN(s.video, VideoFromJson(vd["video"]));
    }
    if (ev.contains("image_signals")) {
      TD_ASSIGN_OR_RETURN(json rd, LoadDoc(ev["image_signals"].get<int64_t>(), "signals"));
      TD_ASSIGN_OR_RETURN(s.robust, RobustFromJson(rd["robust"]));
    }
    int64_t entry = 0;
    if (s.pdq || !s.md5.empty() || !s.sha256.empty() || s.video) {
      EntrySpec spec{s, {}, fmt::format("request:{}", id), std::to_string(id)};
      TD_ASSIGN_OR_RETURN(auto e, svc_->AddEntry(bank->name, spec, actor));  // live at the gate from here
      entry = e.id;
      ev["entry_id"] = entry;
      entry_ids.push_back(entry);
    }
    if (s.pdq && s.quality >= opt_.min_quality) {
      for (const auto& m : svc_->QueryContentPdq(*s.pdq, bank->pdq_threshold)) hit(static_cast<int64_t>(m.id), "pdq", m.distance, entry);
    }
    if (!s.md5.empty() || !s.sha256.empty()) {
      TD_ASSIGN_OR_RETURN(auto rows, store_->FindContentByDigest(s.md5, s.sha256));
      for (const auto& c : rows) hit(c.id, c.sha256 == s.sha256 && !s.sha256.empty() ? "sha256" : "md5", 0, entry);
    }
    if (s.video) {
      for (const auto& [row, d] : svc_->QueryContentVideos(*s.video)) hit(row, "vpdq", d, entry);
    }
    if (s.robust) {  // crops, borders, captions, screenshots: the robust signals
      for (const auto& [row, name, d] : svc_->QueryContentRobust(*s.robust, bank->pdq_threshold)) hit(row, name, d, entry);
    }
    if (ev.contains("content_row")) hit(ev["content_row"].get<int64_t>(), "location", 0, entry);
  }
  // One remove action per live item found.
  std::vector<store::DocRecord> actions;
  int64_t skipped = 0;
  const int64_t now = NowMs();
  for (const auto& [row, h] : hits) {
    TD_ASSIGN_OR_RETURN(auto c, store_->GetContent(row));
    if (!c || c->state == "removed" || c->state == "blocked") {
      ++skipped;
      continue;
    }
    json a = {{"kind", "remove"},     {"status", "pending"},      {"owner_id", id},          {"request_id", id},
              {"content_row", row},   {"content_id", c->content_id}, {"chat_id", c->chat_id}, {"uploader_id", c->uploader_id},
              {"content_created_ms", c->created_ms}, {"media", c->video.empty() ? "image" : "video"},
              {"signal", h.signal},   {"distance", h.distance},   {"entry_id", h.entry_id},  {"bank", bank->name},
              {"category", category}, {"source_type", r["source_type"]}, {"trusted", r["trusted"]},
              {"automated_decision", r["decision"].value("automated", false)},
              {"ukey", fmt::format("remove:{}:{}", id, row)}, {"attempts", 0}, {"due_ms", now}};
    a["idempotency_key"] = a["ukey"];
    actions.push_back(DocumentRecord("action", a));
  }
  for (size_t i = 0; i < actions.size(); i += 1000) {
    std::vector<store::DocRecord> chunk(actions.begin() + static_cast<ptrdiff_t>(i),
                                        actions.begin() + static_cast<ptrdiff_t>(std::min(actions.size(), i + 1000)));
    TD_RETURN_IF_ERROR(store_->PutDocs(chunk).status());
  }
  r["sweep"] = {{"bank", bank->name}, {"entries", entry_ids}, {"matched", hits.size()}, {"actions", actions.size()},
                {"skipped_already_gone", skipped}, {"ms", NowMs() - t0}};
  r["status"] = "actioned";
  r["history"].push_back({{"status", "actioned"}, {"time_ms", NowMs()}});
  TD_RETURN_IF_ERROR(SaveDoc(id, "request", r));
  TD_RETURN_IF_ERROR(store_->AppendAudit(actor, "request.swept",
                                         json{{"request_id", id}, {"bank", bank->name}, {"matched", hits.size()}, {"actions", actions.size()}}.dump())
                         .status());
  q_cv_.notify_all();
  if (actions.empty()) TD_RETURN_IF_ERROR(MaybeConfirm(id));
  if (auto again = LoadDoc(id, "request"); again.ok()) r = *again;
  return Status::Ok();
}

Status Workflow::MaybeConfirm(int64_t request_id) {
  TD_ASSIGN_OR_RETURN(json r, LoadDoc(request_id, "request"));
  if (r["status"] != "actioned") return Status::Ok();
  // Any removal of this request still pending? (Indexed by kind, owner, state.)
  for (int64_t after = 0;;) {  // pages of 16: the first pending removal ends the search
    TD_ASSIGN_OR_RETURN(auto pending, store_->FindDocs({.kind = "action", .owner = request_id, .state = "pending", .after_id = after, .limit = 16}));
    if (pending.empty()) break;
    after = pending.back().id;
    for (const auto& a : pending) {
      if (json::parse(a.doc, nullptr, false).value("kind", std::string()) == "remove") return Status::Ok();
    }
  }
  r["status"] = "confirmed";
  r["confirmed_ms"] = NowMs();
  r["history"].push_back({{"status", "confirmed"}, {"time_ms", NowMs()}});
  store::Store::Changes ch;
  auto rec = DocumentRecord("request", r);
  rec.id = request_id;
  ch.docs.push_back(rec);
  ch.audits.push_back({"system", "request.confirmed", json{{"request_id", request_id}}.dump()});
  TD_RETURN_IF_ERROR(store_->Transact(ch).status());
  NotifyClosed(request_id);
  return Status::Ok();
}

void Workflow::SetClosedListener(std::function<void(int64_t)> fn) {
  std::lock_guard lock(listener_mu_);
  closed_listener_ = std::move(fn);
}

void Workflow::NotifyClosed(int64_t request_id) {
  std::lock_guard lock(listener_mu_);
  if (closed_listener_) closed_listener_(request_id);
}

// ---------------------------------------------------------------------------------------------
// Views, review

Result<json> Workflow::View(const json& request) {
  json v = request;
  v.erase("owner_id");
  v.erase("due_ms");
  v.erase("ukey");
  json removals = json::array();
  int64_t pending = 0;
  if (v.contains("id")) {
    TD_ASSIGN_OR_RETURN(auto actions, store_->FindDocs({.kind = "action", .owner = v["id"].get<int64_t>(), .limit = 10'000'000}));
    for (const auto& rec : actions) {
      json a = json::parse(rec.doc, nullptr, false);
      if (a.is_discarded() || a.value("kind", std::string()) != "remove") continue;
      if (rec.state == "acknowledged") {
        removals.push_back({{"action_id", rec.id}, {"content_id", a["content_id"]}, {"chat_id", a["chat_id"]},
                            {"removed_at", Iso(a.value("acknowledged_ms", int64_t{0}))}, {"removed_ms", a.value("acknowledged_ms", int64_t{0})},
                            {"signal", a["signal"]}, {"distance", a["distance"]}});
      } else {
        ++pending;
      }
    }
  }
  v["received_at"] = Iso(v.value("received_ms", int64_t{0}));
  v["deadline_at"] = Iso(v.value("deadline_ms", int64_t{0}));
  v["removals"] = removals;
  v["removals_pending"] = pending;
  return v;
}

Result<json> Workflow::GetRequest(const Principal& who, int64_t id) {
  auto r = LoadDoc(id, "request");
  if (!r.ok()) return r.status();
  if (who.role == Role::kRequester && r->value("owner_id", int64_t{-1}) != who.key_id) return NotFound(fmt::format("no request {}", id));
  return View(*r);
}

Result<json> Workflow::ListRequests(const Principal& who, const std::string& status, int64_t after_id, int64_t limit) {
  store::DocQuery q{.kind = "request", .state = status, .after_id = after_id, .limit = std::clamp<int64_t>(limit, 1, 1000)};
  if (who.role == Role::kRequester) q.owner = who.key_id;
  TD_ASSIGN_OR_RETURN(auto rows, store_->FindDocs(q));
  json out = json::array();
  for (const auto& rec : rows) {
    json r = json::parse(rec.doc, nullptr, false);
    if (r.is_discarded()) continue;
    out.push_back({{"id", rec.id}, {"status", rec.state}, {"category", r["category"]}, {"source_type", r["source_type"]},
                   {"priority", r["priority"]}, {"received_at", Iso(r.value("received_ms", int64_t{0}))},
                   {"deadline_at", Iso(r.value("deadline_ms", int64_t{0}))}});
  }
  return json{{"requests", out}, {"next_after_id", rows.empty() ? after_id : rows.back().id}};
}

Result<json> Workflow::ReviewQueue(int64_t limit) {
  TD_ASSIGN_OR_RETURN(auto rows, store_->FindDocs({.kind = "request", .state = "pending_review", .limit = 100'000}));
  std::vector<json> q;
  for (const auto& rec : rows) {
    json r = json::parse(rec.doc, nullptr, false);
    if (r.is_discarded()) continue;
    r["id"] = rec.id;
    q.push_back(r);
  }
  std::sort(q.begin(), q.end(), [](const json& a, const json& b) {
    if (a["priority"] != b["priority"]) return a["priority"].get<int>() > b["priority"].get<int>();
    return a["deadline_ms"].get<int64_t>() < b["deadline_ms"].get<int64_t>();
  });
  json out = json::array();
  for (size_t i = 0; i < q.size() && static_cast<int64_t>(i) < limit; ++i) {
    const json& r = q[i];
    // Hashes and locations only: no media reaches a reviewer from here.
    out.push_back({{"id", r["id"]}, {"priority", r["priority"]}, {"deadline_at", Iso(r["deadline_ms"].get<int64_t>())},
                   {"category", r["category"]}, {"source_type", r["source_type"]}, {"trusted", r["trusted"]},
                   {"explanation", r["notice"]["explanation"]}, {"evidence", r["evidence"]}});
  }
  return json{{"queue", out}, {"total", q.size()}};
}

Result<json> Workflow::Decide(const Principal& who, int64_t request_id, bool approve, const std::string& reason) {
  if (reason.empty()) return InvalidArgument("reason: missing (a decision states its reason)");
  std::lock_guard lock(mu_);
  TD_ASSIGN_OR_RETURN(json r, LoadDoc(request_id, "request"));
  if (r["status"] != "pending_review") {
    return FailedPrecondition(fmt::format("request {} is {}, not pending_review", request_id, r["status"].get<std::string>()));
  }
  r["decision"] = {{"approved", approve}, {"by", who.actor()}, {"automated", false}, {"time_ms", NowMs()}, {"reason", reason}};
  r["status"] = approve ? "approved" : "rejected";
  r["history"].push_back({{"status", r["status"]}, {"time_ms", NowMs()}});
  TD_RETURN_IF_ERROR(SaveDoc(request_id, "request", r));
  TD_RETURN_IF_ERROR(store_->AppendAudit(who.actor(), approve ? "request.approved" : "request.rejected",
                                         json{{"request_id", request_id}, {"reason", reason}}.dump())
                         .status());
  if (approve) TD_RETURN_IF_ERROR(Sweep(r, who.actor()));
  else NotifyClosed(request_id);
  return View(r);
}

// ---------------------------------------------------------------------------------------------
// Actions and delivery

Result<int64_t> Workflow::QueueAction(json action) {
  action["status"] = "pending";
  action["attempts"] = 0;
  action["due_ms"] = NowMs();
  action["idempotency_key"] = action["ukey"];
  TD_ASSIGN_OR_RETURN(auto ids, store_->PutDocs({DocumentRecord("action", action)}));
  q_cv_.notify_all();
  return ids[0] > 0 ? ids[0] : -ids[0];
}

Status Workflow::AckLocked(int64_t action_id, const std::string& via, const std::string& actor) {
  TD_ASSIGN_OR_RETURN(json a, LoadDoc(action_id, "action"));
  if (a["status"] != "pending") return Status::Ok();  // acknowledged before: nothing changes
  const int64_t now = NowMs();
  const std::string kind = a["kind"];
  // The content's state, the action and the audit record in one transaction (one sync).
  a["status"] = "acknowledged";
  a["acknowledged_ms"] = now;
  a["acknowledged_via"] = via;
  store::Store::Changes ch;
  auto rec = DocumentRecord("action", a);
  rec.id = action_id;
  ch.docs.push_back(rec);
  if (a.contains("content_row")) ch.content_states.emplace_back(a["content_row"].get<int64_t>(), kind == "restore" ? "restored" : "removed");
  ch.audits.push_back({actor, kind == "remove" ? "content.removed" : kind == "restore" ? "content.restored" : "chat.restricted",
                       json{{"action_id", action_id}, {"content_id", a.value("content_id", std::string())},
                            {"chat_id", a.value("chat_id", std::string())}, {"via", via}}.dump()});
  TD_RETURN_IF_ERROR(store_->Transact(ch).status());
  if (kind == "remove") {
    if (opt_.restrict_chat_after > 0) {
      // Confirmed removals per chat, in a small document per chat (no index over all content).
      const std::string chat = a.value("chat_id", std::string());
      json c = {{"kind", "chat"}, {"chat_id", chat}, {"removed", 0}, {"status", "counting"}, {"ukey", "chat:" + chat}};
      TD_ASSIGN_OR_RETURN(auto ids, store_->PutDocs({DocumentRecord("chat", c)}));
      const int64_t cid = ids[0] > 0 ? ids[0] : -ids[0];
      TD_ASSIGN_OR_RETURN(c, LoadDoc(cid, "chat"));
      const int64_t n = c.value("removed", int64_t{0}) + 1;
      c["removed"] = n;
      TD_RETURN_IF_ERROR(SaveDoc(cid, "chat", c));
      if (n >= opt_.restrict_chat_after) {
        TD_RETURN_IF_ERROR(QueueAction({{"kind", "restrict_chat"}, {"chat_id", chat}, {"owner_id", 0},
                                        {"confirmed_removals", n}, {"ukey", "restrict:" + chat}})
                               .status());
      }
    }
    TD_RETURN_IF_ERROR(MaybeConfirm(a["owner_id"].get<int64_t>()));
  }
  return Status::Ok();
}

Result<json> Workflow::Acknowledge(const Principal& who, int64_t action_id) {
  std::lock_guard lock(mu_);
  TD_RETURN_IF_ERROR(AckLocked(action_id, "ack", who.actor()));
  TD_ASSIGN_OR_RETURN(json a, LoadDoc(action_id, "action"));
  return json{{"action_id", action_id}, {"status", a["status"]}, {"kind", a["kind"]}};
}

Result<json> Workflow::ListActions(const std::string& state, int64_t after_id, int64_t limit) {
  TD_ASSIGN_OR_RETURN(auto rows, store_->FindDocs({.kind = "action", .state = state, .after_id = after_id, .limit = std::clamp<int64_t>(limit, 1, 1000)}));
  json out = json::array();
  for (const auto& rec : rows) {
    json a = json::parse(rec.doc, nullptr, false);
    if (a.is_discarded()) continue;
    a.erase("ukey");
    a.erase("owner_id");
    a.erase("due_ms");
    a["action_id"] = rec.id;
    out.push_back(a);
  }
  return json{{"actions", out}, {"next_after_id", rows.empty() ? after_id : rows.back().id}};
}

std::string Workflow::Sign(const std::string& ts, const std::string& body) const {
  const std::string msg = ts + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), opt_.webhook_secret.data(), static_cast<int>(opt_.webhook_secret.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), mac, &len);
  return hash::HexOf(std::span<const uint8_t>(mac, len));
}

bool Workflow::DeliverOne(int64_t action_id) {
  json a;
  {
    std::lock_guard lock(mu_);
    auto loaded = LoadDoc(action_id, "action");
    if (!loaded.ok() || (*loaded)["status"] != "pending") return true;
    a = *loaded;
  }
  json body = {{"type", "takedown.action"},
               {"action_id", action_id},
               {"kind", a["kind"]},
               {"idempotency_key", a["idempotency_key"]},
               {"attempt", a.value("attempts", 0) + 1}};
  for (const char* k : {"content_id", "chat_id", "uploader_id", "request_id", "category", "confirmed_removals"}) {
    if (a.contains(k)) body[k] = a[k];
  }
  if (a["kind"] == "remove") {
    if (auto st = Statement(action_id); st.ok()) body["statement_of_reasons"] = *st;
  }
  const std::string payload = body.dump();
  const std::string ts = std::to_string(NowMs() / 1000);
  std::vector<std::pair<std::string, std::string>> headers = {
      {"Idempotency-Key", a["idempotency_key"].get<std::string>()}, {"X-Takedown-Timestamp", ts}};
  if (!opt_.webhook_secret.empty()) headers.emplace_back("X-Takedown-Signature", "v1=" + Sign(ts, payload));
  auto status = sink_->Deliver(payload, headers);
  std::lock_guard lock(mu_);
  if (status.ok() && *status >= 200 && *status < 300) {
    (void)AckLocked(action_id, "webhook", "system");
    return true;
  }
  auto again = LoadDoc(action_id, "action");
  if (!again.ok() || (*again)["status"] != "pending") return true;
  json& b = *again;
  const int attempts = b.value("attempts", 0) + 1;
  thread_local std::mt19937_64 rng(std::random_device{}());
  const double backoff = std::min<double>(opt_.retry_max_ms, opt_.retry_base_ms * std::ldexp(1.0, std::min(attempts - 1, 30)));
  const double jitter = std::uniform_real_distribution<double>(0.5, 1.5)(rng);
  b["attempts"] = attempts;
  b["last_error"] = status.ok() ? fmt::format("HTTP {}", *status) : status.status().message();
  b["last_attempt_ms"] = NowMs();
  b["due_ms"] = NowMs() + static_cast<int64_t>(backoff * jitter);
  (void)SaveDoc(action_id, "action", b);
  return false;
}

void Workflow::DeliveryLoop() {
  for (;;) {
    int64_t next = 0;
    {
      std::unique_lock lock(q_mu_);
      if (stopping_) return;
      lock.unlock();
      auto due = store_->FindDocs({.kind = "action", .state = "pending", .due_before = NowMs(), .limit = 256, .by_due = true});
      lock.lock();
      if (stopping_) return;
      if (due.ok()) {
        for (const auto& d : *due) {
          if (!in_flight_.count(d.id)) {
            next = d.id;
            in_flight_.insert(next);
            break;
          }
        }
      }
      if (next == 0) {
        q_cv_.wait_for(lock, std::chrono::milliseconds(200));
        continue;
      }
    }
    DeliverOne(next);
    std::lock_guard lock(q_mu_);
    in_flight_.erase(next);
  }
}

void Workflow::DeliverDueNow() {
  auto due = store_->FindDocs({.kind = "action", .state = "pending", .due_before = NowMs(), .limit = 100'000, .by_due = true});
  if (!due.ok() || sink_ == nullptr) return;
  for (const auto& d : *due) DeliverOne(d.id);
}

// ---------------------------------------------------------------------------------------------
// Statements of reasons

Result<json> Workflow::Statement(int64_t action_id) {
  TD_ASSIGN_OR_RETURN(json a, LoadDoc(action_id, "action"));
  if (a["kind"] != "remove") return FailedPrecondition(fmt::format("action {} is a {}, not a removal", action_id, a["kind"].get<std::string>()));
  TD_ASSIGN_OR_RETURN(json r, LoadDoc(a["request_id"].get<int64_t>(), "request"));
  const bool automated = a.value("automated_decision", false);
  const std::string legal = r["notice"].value("legal_basis", std::string());
  const std::string facts = fmt::format(
      "Removed after a removal request ({}, category {}) received {}: the item matched the reported material by {} "
      "(distance {}){}.",
      r["source_type"].get<std::string>(), r["category"].get<std::string>(), Iso(r["received_ms"].get<int64_t>()),
      a["signal"].get<std::string>(), a["distance"].get<int>(),
      automated ? "; the request was approved automatically (trusted source, hash match)" : "; a reviewer approved the request");
  json st = {
      {"decision_visibility", json::array({"DECISION_VISIBILITY_CONTENT_REMOVED"})},
      {"decision_ground", "DECISION_GROUND_ILLEGAL_CONTENT"},
      {"illegal_content_legal_ground", legal.empty() ? std::string("Illegal content as reported (") + r["category"].get<std::string>() + ")" : legal},
      {"illegal_content_explanation", r["notice"].value("explanation", std::string()).substr(0, 2000)},
      {"content_type", json::array({a.value("media", std::string()) == "video" ? "CONTENT_TYPE_VIDEO" : "CONTENT_TYPE_IMAGE"})},
      {"category", DsaCategory(r["category"])},
      {"decision_facts", facts.substr(0, 5000)},
      {"source_type", DsaSourceType(r["source_type"], r.value("trusted", false))},
      {"source_identity", r["source_type"] == "authority_order" ? r["notice"].value("issuing_authority", std::string()) : std::string()},
      {"automated_detection", a["signal"] == "location" ? "No" : "Yes"},
      {"automated_decision", automated ? "AUTOMATED_DECISION_FULLY" : "AUTOMATED_DECISION_PARTIALLY"},
      {"application_date", Iso(a.value("acknowledged_ms", a.value("created_ms", int64_t{0}))).substr(0, 10)},
      {"content_date", Iso(a.value("content_created_ms", int64_t{0})).substr(0, 10)},
      {"territorial_scope", r["notice"].value("territorial_scope", std::string())},
      {"puid", a["content_id"]},
      {"redress", {{"internal_complaint", "appeal within 6 months through the platform (free, decided by a person)"},
                   {"out_of_court_settlement", "a certified out-of-court dispute settlement body (DSA Art. 21)"},
                   {"judicial", "the courts of the member state concerned"}}},
      {"takedown", {{"action_id", action_id}, {"request_id", a["request_id"]}, {"signal", a["signal"]}, {"distance", a["distance"]},
                    {"status", a["status"]}}}};
  return st;
}

Result<json> Workflow::Statements(int64_t from_ms, int64_t to_ms) {
  json out = json::array();
  int64_t after = 0;
  for (;;) {
    TD_ASSIGN_OR_RETURN(auto rows, store_->FindDocs({.kind = "action", .state = "acknowledged", .after_id = after, .limit = 1000}));
    if (rows.empty()) break;
    after = rows.back().id;
    for (const auto& rec : rows) {
      json a = json::parse(rec.doc, nullptr, false);
      if (a.is_discarded() || a["kind"] != "remove") continue;
      const int64_t t = a.value("acknowledged_ms", int64_t{0});
      if (t < from_ms || t >= to_ms) continue;
      TD_ASSIGN_OR_RETURN(json st, Statement(rec.id));
      out.push_back(st);
    }
  }
  return json{{"statements", out}};
}

// ---------------------------------------------------------------------------------------------
// Appeals

Result<json> Workflow::FileAppeal(const Principal& who, const json& body) {
  if (!body.is_object()) return InvalidArgument("the body must be a JSON object");
  Problems p;
  int64_t action_id = 0;
  if (!body.contains("action_id") || !body["action_id"].is_number_integer()) p.Add("action_id", "missing or not an integer");
  else action_id = body["action_id"].get<int64_t>();
  const std::string reason = Str(body, "reason", &p, 5000);
  if (reason.empty()) p.Add("reason", "missing: the uploader's grounds");
  const std::string uploader = Str(body, "uploader_id", &p, 256);
  if (!p.list.empty()) return p.ToStatus();
  std::lock_guard lock(mu_);
  TD_ASSIGN_OR_RETURN(json a, LoadDoc(action_id, "action"));
  if (a["kind"] != "remove" || a["status"] != "acknowledged") {
    return FailedPrecondition(fmt::format("action {} is not a completed removal", action_id));
  }
  const int64_t now = NowMs();
  if (now - a.value("acknowledged_ms", now) > int64_t{opt_.appeal_window_days} * 86400 * 1000) {
    return FailedPrecondition(fmt::format("the appeal window ({} days) has closed", opt_.appeal_window_days));
  }
  json ap = {{"status", "open"}, {"owner_id", action_id}, {"action_id", action_id}, {"content_id", a["content_id"]},
             {"uploader_id", uploader.empty() ? a.value("uploader_id", std::string()) : uploader}, {"reason", reason},
             {"filed_ms", now}, {"filed_by", who.actor()}, {"ukey", fmt::format("appeal:{}", action_id)}};
  TD_ASSIGN_OR_RETURN(auto ids, store_->PutDocs({DocumentRecord("appeal", ap)}));
  if (ids[0] < 0) return FailedPrecondition(fmt::format("action {} already has appeal {}", action_id, -ids[0]));
  ap["id"] = ids[0];
  TD_RETURN_IF_ERROR(store_->AppendAudit(who.actor(), "appeal.filed", json{{"appeal_id", ids[0]}, {"action_id", action_id}}.dump()).status());
  ap.erase("ukey");
  ap.erase("owner_id");
  return ap;
}

Result<json> Workflow::ListAppeals(const std::string& status, int64_t limit) {
  TD_ASSIGN_OR_RETURN(auto rows, store_->FindDocs({.kind = "appeal", .state = status, .limit = std::clamp<int64_t>(limit, 1, 1000)}));
  json out = json::array();
  for (const auto& rec : rows) {
    json ap = json::parse(rec.doc, nullptr, false);
    if (ap.is_discarded()) continue;
    ap["id"] = rec.id;
    ap.erase("ukey");
    ap.erase("owner_id");
    out.push_back(ap);
  }
  return json{{"appeals", out}};
}

Result<json> Workflow::DecideAppeal(const Principal& who, int64_t appeal_id, const json& body) {
  if (!body.is_object()) return InvalidArgument("the body must be a JSON object");
  Problems p;
  const std::string outcome = Str(body, "outcome", &p, 16);
  if (outcome != "upheld" && outcome != "rejected") p.Add("outcome", "must be upheld (the removal was wrong: restore) or rejected");
  const std::string reason = Str(body, "reason", &p, 5000);
  if (reason.empty()) p.Add("reason", "missing (a decision states its reason)");
  const bool disable_entry = Flag(body, "disable_entry", &p);
  if (!p.list.empty()) return p.ToStatus();
  std::lock_guard lock(mu_);
  TD_ASSIGN_OR_RETURN(json ap, LoadDoc(appeal_id, "appeal"));
  if (ap["status"] != "open") return FailedPrecondition(fmt::format("appeal {} is already {}", appeal_id, ap["status"].get<std::string>()));
  ap["status"] = outcome;
  ap["decided_ms"] = NowMs();
  ap["decided_by"] = who.actor();
  ap["decision_reason"] = reason;
  TD_ASSIGN_OR_RETURN(json a, LoadDoc(ap["action_id"].get<int64_t>(), "action"));
  if (outcome == "upheld") {
    TD_ASSIGN_OR_RETURN(int64_t restore, QueueAction({{"kind", "restore"}, {"owner_id", a["owner_id"]}, {"request_id", a["request_id"]},
                                                      {"appeal_id", appeal_id}, {"content_row", a["content_row"]},
                                                      {"content_id", a["content_id"]}, {"chat_id", a["chat_id"]},
                                                      {"uploader_id", a["uploader_id"]},
                                                      {"ukey", fmt::format("restore:{}", ap["action_id"].get<int64_t>())}}));
    ap["restore_action_id"] = restore;
    if (disable_entry && a.value("entry_id", int64_t{0}) > 0) {
      TD_RETURN_IF_ERROR(svc_->SetEntryEnabled(a["entry_id"].get<int64_t>(), false, who.actor()));
      ap["disabled_entry_id"] = a["entry_id"];
    }
  }
  TD_RETURN_IF_ERROR(SaveDoc(appeal_id, "appeal", ap));
  TD_RETURN_IF_ERROR(store_->AppendAudit(who.actor(), "appeal." + outcome,
                                         json{{"appeal_id", appeal_id}, {"action_id", ap["action_id"]}, {"reason", reason},
                                              {"disabled_entry", ap.value("disabled_entry_id", int64_t{0})}}.dump())
                         .status());
  ap.erase("ukey");
  ap.erase("owner_id");
  return ap;
}

// ---------------------------------------------------------------------------------------------
// Evidence for reviewers

Result<std::vector<uint8_t>> Workflow::Preview(const Principal& who, int64_t request_id, int item, bool reveal) {
  TD_ASSIGN_OR_RETURN(json r, LoadDoc(request_id, "request"));
  TD_ASSIGN_OR_RETURN(auto blob, store_->GetEvidence(request_id, item));
  if (!blob || blob->expires_ms <= NowMs()) {
    return NotFound(fmt::format("request {} evidence[{}]: no media kept (not media, evidence retention off, or its period ended)", request_id, item));
  }
  if (opt_.evidence_key.size() != crypto_secretbox_KEYBYTES || blob->data.size() < crypto_secretbox_MACBYTES ||
      blob->nonce.size() != crypto_secretbox_NONCEBYTES) {
    return DataLoss(fmt::format("request {} evidence[{}]: cannot be decrypted with the configured key", request_id, item));
  }
  std::vector<uint8_t> plain(blob->data.size() - crypto_secretbox_MACBYTES);
  if (crypto_secretbox_open_easy(plain.data(), reinterpret_cast<const unsigned char*>(blob->data.data()), blob->data.size(),
                                 reinterpret_cast<const unsigned char*>(blob->nonce.data()),
                                 reinterpret_cast<const unsigned char*>(opt_.evidence_key.data())) != 0) {
    return DataLoss(fmt::format("request {} evidence[{}]: authentication failed (altered, or another key)", request_id, item));
  }
  auto jpeg = media::ReviewerPreview(plain, reveal);
  sodium_memzero(plain.data(), plain.size());
  if (!jpeg.ok()) return jpeg.status();
  TD_RETURN_IF_ERROR(store_->AppendAudit(who.actor(), reveal ? "evidence.revealed" : "evidence.previewed",
                                         json{{"request_id", request_id}, {"item", item}}.dump())
                         .status());
  return jpeg;
}

Result<int64_t> Workflow::PurgeExpiredEvidence() {
  TD_ASSIGN_OR_RETURN(int64_t n, store_->DeleteExpiredEvidence(NowMs()));
  if (n > 0) TD_RETURN_IF_ERROR(store_->AppendAudit("system", "evidence.deleted", json{{"items", n}, {"reason", "retention period ended"}}.dump()).status());
  return n;
}

void Workflow::RetentionLoop() {
  std::unique_lock lock(q_mu_);
  while (!stopping_) {
    lock.unlock();
    (void)PurgeExpiredEvidence();
    lock.lock();
    q_cv_.wait_for(lock, std::chrono::seconds(std::max(1, opt_.retention_sweep_s)), [&] { return stopping_; });
  }
}

// ---------------------------------------------------------------------------------------------
// Transparency report

Result<json> Workflow::Report(int64_t from_ms, int64_t to_ms) {
  json by_category = json::object(), by_source = json::object(), by_status = json::object();
  int64_t requests = 0, automated = 0, removals = 0, appeals = 0, upheld = 0, rejected = 0, open = 0, restricted = 0;
  std::vector<int64_t> to_removal, to_decision;
  json removals_by_category = json::object(), removals_by_source = json::object();
  int64_t after = 0;
  for (;;) {
    TD_ASSIGN_OR_RETURN(auto rows, store_->FindDocs({.kind = "request", .created_from = from_ms, .created_to = to_ms, .after_id = after, .limit = 1000}));
    if (rows.empty()) break;
    after = rows.back().id;
    for (const auto& rec : rows) {
      json r = json::parse(rec.doc, nullptr, false);
      if (r.is_discarded()) continue;
      ++requests;
      const std::string cat = r["category"], src = r["source_type"];
      by_category[cat] = by_category.value(cat, 0) + 1;
      by_source[src] = by_source.value(src, 0) + 1;
      by_status[rec.state] = by_status.value(rec.state, 0) + 1;
      if (r.contains("decision")) {
        if (r["decision"].value("automated", false)) ++automated;
        to_decision.push_back(r["decision"].value("time_ms", int64_t{0}) - r["received_ms"].get<int64_t>());
      }
      TD_ASSIGN_OR_RETURN(auto actions, store_->FindDocs({.kind = "action", .owner = rec.id, .limit = 10'000'000}));
      for (const auto& ar : actions) {
        json a = json::parse(ar.doc, nullptr, false);
        if (a.is_discarded() || a["kind"] != "remove" || ar.state != "acknowledged") continue;
        ++removals;
        removals_by_category[cat] = removals_by_category.value(cat, 0) + 1;
        removals_by_source[src] = removals_by_source.value(src, 0) + 1;
        to_removal.push_back(a["acknowledged_ms"].get<int64_t>() - r["received_ms"].get<int64_t>());
        TD_ASSIGN_OR_RETURN(auto aps, store_->FindDocs({.kind = "appeal", .owner = ar.id, .limit = 10}));
        for (const auto& ap : aps) {
          ++appeals;
          if (ap.state == "upheld") ++upheld;
          else if (ap.state == "rejected") ++rejected;
          else ++open;
        }
      }
    }
  }
  TD_ASSIGN_OR_RETURN(auto restricts, store_->FindDocs({.kind = "action", .created_from = from_ms, .created_to = to_ms, .limit = 10'000'000}));
  for (const auto& ar : restricts) {
    if (json::parse(ar.doc, nullptr, false).value("kind", std::string()) == "restrict_chat") ++restricted;
  }
  return json{{"period", {{"from", Iso(from_ms)}, {"to", Iso(to_ms)}, {"from_ms", from_ms}, {"to_ms", to_ms}}},
              {"requests", {{"total", requests}, {"by_category", by_category}, {"by_source_type", by_source}, {"by_status", by_status},
                            {"decided_automatically", automated}}},
              {"removals", {{"total", removals}, {"by_category", removals_by_category}, {"by_source_type", removals_by_source},
                            {"time_to_removal_ms", {{"median", Percentile(to_removal, 0.5)}, {"p95", Percentile(to_removal, 0.95)}}},
                            {"time_to_decision_ms", {{"median", Percentile(to_decision, 0.5)}, {"p95", Percentile(to_decision, 0.95)}}}}},
              {"chats_restricted", restricted},
              {"appeals", {{"total", appeals}, {"upheld_reversed", upheld}, {"rejected", rejected}, {"open", open}}}};
}

std::string Workflow::ReportCsv(const json& report) {
  std::string out = "section,key,value\n";
  std::function<void(const std::string&, const json&)> walk = [&](const std::string& prefix, const json& j) {
    for (const auto& [k, v] : j.items()) {
      const std::string key = prefix.empty() ? k : prefix + "." + k;
      if (v.is_object()) {
        walk(key, v);
      } else {
        const auto dot = key.find('.');
        std::string val = v.is_string() ? v.get<std::string>() : v.dump();
        out += fmt::format("{},{},{}\n", key.substr(0, dot), dot == std::string::npos ? "" : key.substr(dot + 1), val);
      }
    }
  };
  walk("", report);
  return out;
}

}  // namespace takedown::service
