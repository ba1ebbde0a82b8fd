#include "takedown/disclosures.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "core/clock.h"
#include "core/text.h"
#include "hash/digest.h"
#include "hash/hash256.h"
#include "intake/notice.h"

namespace takedown::service {

using nlohmann::json;

namespace {

// A string field: absent is "", a non-string or an over-long one or one with control characters
// is a problem.
std::string Str(const json& o, const char* key, const std::string& where, size_t max,
                intake::Problems* p) {
  if (!o.is_object() || !o.contains(key) || o[key].is_null()) return "";
  const std::string f = where + key;
  if (!o[key].is_string()) {
    p->push_back({f, "must be a string"});
    return "";
  }
  std::string v = o[key].get<std::string>();
  if (v.size() > max) p->push_back({f, fmt::format("longer than {} characters", max)});
  if (HasControlCharacter(v)) p->push_back({f, "has control characters"});
  return v;
}

bool Covers(const std::vector<std::string>& covers, std::string_view what) {
  return covers.empty() || std::find(covers.begin(), covers.end(), what) != covers.end();
}

}  // namespace

json CutToCovers(json spread, const std::vector<std::string>& covers) {
  // Each field of a spread and what covers it (content ids are always disclosed).
  static const std::map<std::string, std::string_view> kField = {
      {"chat_id", "chats"},       {"from_chat", "chats"},
      {"to_chat", "chats"},       {"reached_from_chat", "chats"},
      {"chats", "chats"},         {"uploader_id", "uploaders"},
      {"uploaders", "uploaders"}, {"recorded_ms", "times"},
      {"recorded_at", "times"},   {"first_ms", "times"},
      {"first_at", "times"},      {"last_ms", "times"},
      {"pdq", "hashes"},          {"md5", "hashes"},
      {"sha256", "hashes"},       {"signal", "signals"},
      {"distance", "signals"},    {"from_how", "signals"},
      {"how", "signals"}};
  std::function<void(json&)> cut = [&](json& j) {
    if (j.is_object()) {
      for (auto it = j.begin(); it != j.end();) {
        auto f = kField.find(it.key());
        if (f != kField.end() && !Covers(covers, f->second)) {
          it = j.erase(it);
        } else {
          cut(*it);
          ++it;
        }
      }
    } else if (j.is_array()) {
      for (auto& e : j) cut(e);
    }
  };
  cut(spread);
  return spread;
}

Result<json> Disclosures::File(const Principal& who, const json& body,
                               const std::string& idempotency_key) {
  if (who.role != Role::kRequester) {
    return PermissionDenied("only a requester's key files disclosure requests");
  }
  TD_ASSIGN_OR_RETURN(RequesterProfile profile, profiles_->Get(who.key_id));
  if (profile.source_type != SourceType::kLawEnforcement) {
    return PermissionDenied(
        "only a law-enforcement requester files disclosure requests (an administrator sets the "
        "key's profile source_type to law_enforcement)");
  }
  if (!body.is_object()) return InvalidArgument("the body must be a JSON object");
  intake::Problems p;
  for (const auto& [k, v] : body.items()) {
    if (k != "legal_process" && k != "items") p.push_back({k, "is not a field of a disclosure"});
  }
  Disclosure d;
  const json lp = body.contains("legal_process") ? body["legal_process"] : json();
  if (!lp.is_object()) {
    p.push_back({"legal_process", "missing: the legal process the request is made under"});
  } else {
    static const std::set<std::string> kKnown = {
        "kind", "reference", "issuing_authority", "jurisdiction", "scope", "emergency", "covers"};
    for (const auto& [k, v] : lp.items()) {
      if (!kKnown.count(k)) p.push_back({"legal_process." + k, "is not a field of a process"});
    }
    const std::string kind = Str(lp, "kind", "legal_process.", 64, &p);
    if (auto k = EnumFromName<ProcessKind>(kind)) {
      d.process.kind = *k;
    } else {
      p.push_back({"legal_process.kind", fmt::format("must be {}", EnumChoices<ProcessKind>())});
    }
    d.process.reference = Str(lp, "reference", "legal_process.", 256, &p);
    d.process.issuing_authority = Str(lp, "issuing_authority", "legal_process.", 512, &p);
    d.process.jurisdiction = Str(lp, "jurisdiction", "legal_process.", 128, &p);
    d.process.scope = Str(lp, "scope", "legal_process.", 5000, &p);
    for (const auto& [k, v] : {std::pair{"reference", &d.process.reference},
                               {"issuing_authority", &d.process.issuing_authority},
                               {"jurisdiction", &d.process.jurisdiction},
                               {"scope", &d.process.scope}}) {
      if (v->empty() && !(lp.contains(k) && !lp[k].is_string())) {
        p.push_back({fmt::format("legal_process.{}", k), "missing"});
      }
    }
    if (lp.contains("emergency")) {
      if (!lp["emergency"].is_boolean()) {
        p.push_back({"legal_process.emergency", "must be true or false"});
      } else {
        d.process.emergency = lp["emergency"].get<bool>();
      }
    }
    if (lp.contains("covers")) {
      const json& c = lp["covers"];
      if (!c.is_array() || c.empty()) {
        p.push_back({"legal_process.covers", "must be a non-empty array (absent: everything)"});
      } else {
        for (const auto& v : c) {
          if (!v.is_string() || std::find(kCoverNames.begin(), kCoverNames.end(),
                                          v.get<std::string>()) == kCoverNames.end()) {
            p.push_back({"legal_process.covers",
                         "each must be one of chats, uploaders, times, hashes, signals"});
            break;
          }
          if (std::find(d.process.covers.begin(), d.process.covers.end(), v) ==
              d.process.covers.end()) {
            d.process.covers.push_back(v.get<std::string>());
          }
        }
      }
    }
  }
  const json items = body.contains("items") ? body["items"] : json();
  if (!items.is_array() || items.empty() || items.size() > kMaxItems) {
    p.push_back({"items", fmt::format("must be an array of 1 to {} items, each a content_id or "
                                      "hashes (pdq, md5, sha256)",
                                      kMaxItems)});
  } else {
    for (size_t i = 0; i < items.size(); ++i) {
      const std::string f = fmt::format("items[{}].", i);
      const json& e = items[i];
      if (!e.is_object()) {
        p.push_back({f.substr(0, f.size() - 1), "must be an object"});
        continue;
      }
      for (const auto& [k, v] : e.items()) {
        if (k != "content_id" && k != "pdq" && k != "md5" && k != "sha256") {
          p.push_back({f + k, "is not a field of an item (content_id, pdq, md5, sha256)"});
        }
      }
      DisclosureItem it;
      it.index = static_cast<int64_t>(i);
      it.content_id = Str(e, "content_id", f, 256, &p);
      it.pdq = AsciiLower(Str(e, "pdq", f, 64, &p));
      it.md5 = AsciiLower(Str(e, "md5", f, 32, &p));
      it.sha256 = AsciiLower(Str(e, "sha256", f, 64, &p));
      if (!it.pdq.empty() && !hash::Hash256::FromHex(it.pdq).ok()) {
        p.push_back({f + "pdq", "not 64 hex digits"});
      }
      if (!it.md5.empty() && !IsLowerHex(it.md5, 32)) p.push_back({f + "md5", "not 32 hex digits"});
      if (!it.sha256.empty() && !IsLowerHex(it.sha256, 64)) {
        p.push_back({f + "sha256", "not 64 hex digits"});
      }
      const bool hashes = !it.pdq.empty() || !it.md5.empty() || !it.sha256.empty();
      if (it.content_id.empty() == !hashes) {
        p.push_back(
            {f.substr(0, f.size() - 1),
             "names content by a content_id or by hashes (pdq, md5, sha256), one of the two"});
      }
      d.items.push_back(std::move(it));
    }
  }
  if (!p.empty()) return intake::ProblemsStatus(p);

  const int64_t now = ctx_->Now();
  d.owner_id = who.key_id;
  d.requester_name = profile.name.empty() ? who.name : profile.name;
  d.filed_ms = now;
  const int hours = profile.deadline_hours > 0 ? profile.deadline_hours
                                               : DefaultDeadlineHours(profile.source_type);
  d.due_ms = now + (d.process.emergency ? kEmergencyDueMs : int64_t{hours} * 3600 * 1000);
  if (!idempotency_key.empty())
    d.ukey = fmt::format("disclosure:{}:{}", who.key_id, idempotency_key);
  TD_ASSIGN_OR_RETURN(auto ids, ctx_->stores.docs->PutDocs({ToDoc(d)}));
  if (ids.at(0) < 0) {  // the same filing again
    TD_ASSIGN_OR_RETURN(Disclosure first, LoadDisclosure(ctx_->stores.docs, -ids[0]));
    return View(first, false);
  }
  d.id = ids[0];
  TD_ASSIGN_OR_RETURN(auto rec,
                      ctx_->stores.audit->AppendAudit(who.actor(), "disclosure.filed",
                                                      json{{"disclosure_id", d.id},
                                                           {"process_kind", NameOf(d.process.kind)},
                                                           {"reference", d.process.reference},
                                                           {"emergency", d.process.emergency},
                                                           {"items", d.items.size()}}
                                                          .dump()));
  d.audit_from_seq = rec.seq;
  TD_RETURN_IF_ERROR(ctx_->stores.docs->PutDocs({ToDoc(d)}).status());
  TD_ASSIGN_OR_RETURN(d, LoadDisclosure(ctx_->stores.docs, d.id));
  return View(d, false);
}

json Disclosures::View(const Disclosure& d, bool full) const {
  json j = ToJson(d);
  for (const char* k : {"ukey", "audit_from_seq", "package_doc"}) j.erase(k);
  j["filed_at"] = IsoUtc(d.filed_ms);
  j["due_at"] = IsoUtc(d.due_ms);
  if (d.decided_ms != 0) j["decided_at"] = IsoUtc(d.decided_ms);
  j["package_available"] = d.state == DisclosureState::kApproved;
  if (!full) {
    // A requester sees its filing and the decisions, not who decided or what a package holds
    // until it downloads it.
    for (auto& it : j["items"]) it.erase("decided_by");
    j.erase("decided_by");
    j.erase("deliveries");
  }
  return j;
}

Result<Disclosure> Disclosures::LoadVisible(const Principal& who, int64_t id) {
  auto d = LoadDisclosure(ctx_->stores.docs, id);
  if (!d.ok()) return d.status();
  if (who.role == Role::kRequester && d->owner_id != who.key_id) {
    return NotFound(fmt::format("no disclosure {}", id));  // another's: as if absent
  }
  if (who.role == Role::kPlatform) return NotFound(fmt::format("no disclosure {}", id));
  return d;
}

Result<Signals> Disclosures::SignalsOf(const DisclosureItem& it, int64_t* located_row) {
  Signals s;
  *located_row = 0;
  if (!it.content_id.empty()) {
    TD_ASSIGN_OR_RETURN(auto c, ctx_->stores.content->FindContent(it.content_id));
    if (c) {
      *located_row = c->id;
      if (!c->pdq.empty()) {
        if (auto h = hash::Hash256::FromHex(c->pdq); h.ok()) {
          s.pdq = *h;
          s.quality = c->quality;
        }
      }
      s.md5 = c->md5;
      s.sha256 = c->sha256;
      if (!c->video.empty()) {
        TD_ASSIGN_OR_RETURN(s.video, VideoFromJson(json::parse(c->video, nullptr, false)));
      }
    }
  } else {
    if (!it.pdq.empty()) {
      TD_ASSIGN_OR_RETURN(s.pdq, hash::Hash256::FromHex(it.pdq));
    }
    s.md5 = it.md5;
    s.sha256 = it.sha256;
  }
  return s;
}

Result<json> Disclosures::ItemSpread(const Disclosure& d, const DisclosureItem& it) {
  int64_t row = 0;
  TD_ASSIGN_OR_RETURN(Signals s, SignalsOf(it, &row));
  if (!s.pdq && s.md5.empty() && s.sha256.empty() && !s.video && row == 0) {
    return json{{"totals", {{"copies", 0}}}, {"copies", json::array()}, {"truncated", false}};
  }
  TD_ASSIGN_OR_RETURN(json sp, spread_->OfSignals(s, row, json::object()));
  sp.erase("computed_at");  // the package says when it was made
  return CutToCovers(std::move(sp), d.process.covers);
}

Result<std::set<int64_t>> Disclosures::CopiesOf(const Disclosure& d) {
  std::set<int64_t> rows;
  for (const auto& it : d.items) {
    int64_t row = 0;
    TD_ASSIGN_OR_RETURN(Signals s, SignalsOf(it, &row));
    TD_ASSIGN_OR_RETURN(auto hits, sweeper_->FindCopies(s, 0, 31, row));
    for (const auto& [r, h] : hits) rows.insert(r);
  }
  return rows;
}

Result<json> Disclosures::Get(const Principal& who, int64_t id, bool preview) {
  TD_ASSIGN_OR_RETURN(Disclosure d, LoadVisible(who, id));
  const bool staff = who.role == Role::kReviewer || who.role == Role::kAdmin;
  json out = View(d, staff);
  if (preview && staff) {
    json pv = json::array();
    for (const auto& it : d.items) {
      if (it.decision != ItemDecision::kPending) continue;
      TD_ASSIGN_OR_RETURN(json sp, ItemSpread(d, it));
      json one = {{"item", it.index}, {"totals", sp["totals"]}, {"truncated", sp["truncated"]}};
      if (sp.contains("first")) one["first"] = sp["first"];
      pv.push_back(std::move(one));
    }
    out["preview"] = pv;
    TD_RETURN_IF_ERROR(ctx_->Audit(who.actor(), "disclosure.previewed",
                                   {{"disclosure_id", id}, {"items", pv.size()}}));
  }
  return out;
}

Result<json> Disclosures::List(const Principal& who, const std::string& status, int64_t after_id,
                               int64_t limit) {
  if (!status.empty() && !EnumFromName<DisclosureState>(status)) {
    return InvalidArgument(fmt::format("status must be {}", EnumChoices<DisclosureState>()));
  }
  if (who.role == Role::kPlatform) return PermissionDenied("not for the platform's keys");
  store::DocQuery q{.kind = std::string(kDisclosureDoc),
                    .state = status,
                    .after_id = after_id,
                    .limit = std::clamp<int64_t>(limit, 1, 1000)};
  if (who.role == Role::kRequester) q.owner = who.key_id;
  TD_ASSIGN_OR_RETURN(auto rows, ctx_->stores.docs->FindDocs(q));
  json out = json::array();
  for (const auto& rec : rows) {
    TD_ASSIGN_OR_RETURN(Disclosure d, DisclosureFromDoc(rec));
    out.push_back(View(d, who.role != Role::kRequester));
  }
  return json{{"disclosures", out}};
}

Result<json> Disclosures::Decide(const Principal& who, int64_t id, const json& body) {
  if (!body.is_object() || !body.contains("items") || !body["items"].is_array() ||
      body["items"].empty()) {
    return InvalidArgument(
        "the body must be {\"items\": [{\"item\": N, \"decision\": \"approved\"|\"refused\", "
        "\"reason\": \"...\"}]}");
  }
  TD_ASSIGN_OR_RETURN(auto l, ctx_->request_locks.Lock(id));
  TD_ASSIGN_OR_RETURN(Disclosure d, LoadDisclosure(ctx_->stores.docs, id));
  if (d.state != DisclosureState::kPendingReview) {
    return FailedPrecondition(fmt::format("disclosure {} is already {}", id, NameOf(d.state)));
  }
  intake::Problems p;
  const int64_t now = ctx_->Now();
  json decided = json::array();
  std::set<int64_t> seen;
  for (size_t i = 0; i < body["items"].size(); ++i) {
    const json& e = body["items"][i];
    const std::string f = fmt::format("items[{}].", i);
    if (!e.is_object() || !e.contains("item") || !e["item"].is_number_integer()) {
      p.push_back({f + "item", "missing or not an integer"});
      continue;
    }
    const int64_t n = e["item"].get<int64_t>();
    if (n < 0 || n >= static_cast<int64_t>(d.items.size())) {
      p.push_back(
          {f + "item", fmt::format("disclosure {} has items 0 to {}", id, d.items.size() - 1)});
      continue;
    }
    if (!seen.insert(n).second) {
      p.push_back({f + "item", fmt::format("item {} is decided twice", n)});
      continue;
    }
    DisclosureItem& it = d.items[static_cast<size_t>(n)];
    if (it.decision != ItemDecision::kPending) {
      p.push_back({f + "item", fmt::format("item {} is already {}", n, NameOf(it.decision))});
      continue;
    }
    const std::string decision = Str(e, "decision", f, 16, &p);
    const std::string reason = Str(e, "reason", f, 5000, &p);
    if (decision != "approved" && decision != "refused") {
      p.push_back({f + "decision", "must be approved or refused"});
    }
    if (reason.empty()) p.push_back({f + "reason", "missing (a decision states its reason)"});
    it.decision = decision == "approved" ? ItemDecision::kApproved : ItemDecision::kRefused;
    it.reason = reason;
    it.decided_by = who.actor();
    it.decided_ms = now;
    decided.push_back({{"item", n}, {"decision", decision}, {"reason", reason}});
  }
  if (!p.empty()) return intake::ProblemsStatus(p);
  const bool all = std::none_of(d.items.begin(), d.items.end(), [](const DisclosureItem& it) {
    return it.decision == ItemDecision::kPending;
  });
  if (all) {
    const bool any = std::any_of(d.items.begin(), d.items.end(), [](const DisclosureItem& it) {
      return it.decision == ItemDecision::kApproved;
    });
    d.state = any ? DisclosureState::kApproved : DisclosureState::kRefused;
    d.decided_ms = now;
    d.decided_by = who.actor();
  }
  store::DocumentStore::Changes ch;
  ch.docs.push_back(ToDoc(d));
  ch.expect_states.emplace_back(id, std::string(NameOf(DisclosureState::kPendingReview)));
  ch.audits.push_back(
      {who.actor(), "disclosure.items_decided",
       json{{"disclosure_id", id}, {"items", decided}, {"status", NameOf(d.state)}}.dump()});
  TD_RETURN_IF_ERROR(ctx_->stores.docs->Transact(ch).status());
  if (d.state == DisclosureState::kApproved) TD_RETURN_IF_ERROR(MakePackage(d));
  return View(d, true);
}

Result<json> Disclosures::AuditTrail(const Disclosure& d) {
  // The records of this disclosure from its filing on (the chain's fields, so each can be
  // checked against the audit log: GET /v1/audit, takedown admin verify-audit).
  json out = json::array();
  int64_t from = std::max<int64_t>(1, d.audit_from_seq);
  for (;;) {
    TD_ASSIGN_OR_RETURN(auto recs, ctx_->stores.audit->ReadAudit(from, 1000));
    if (recs.empty()) break;
    for (const auto& r : recs) {
      from = r.seq + 1;
      if (r.kind.rfind("disclosure.", 0) != 0) continue;
      const json p = json::parse(r.payload, nullptr, false);
      if (!p.is_object() || p.value("disclosure_id", int64_t{0}) != d.id) continue;
      out.push_back({{"seq", r.seq},
                     {"time_ms", r.time_ms},
                     {"actor", r.actor},
                     {"kind", r.kind},
                     {"payload", r.payload},
                     {"prev_hash", r.prev_hash},
                     {"hash", r.hash}});
    }
  }
  return out;
}

Status Disclosures::MakePackage(Disclosure& d) {
  if (d.package_doc != 0) return Status::Ok();
  if (signer_ == nullptr) {
    return FailedPrecondition(
        "no package signing key: the service signs packages with packages.signing_key_file");
  }
  json items = json::array();
  int64_t copies = 0;
  for (auto& it : d.items) {
    json j = {{"item", it.index},
              {"decision", NameOf(it.decision)},
              {"reason", it.reason},
              {"decided_by", it.decided_by},
              {"decided_at", IsoUtc(it.decided_ms)}};
    json named = json::object();
    for (const auto& [k, v] : {std::pair{"content_id", &it.content_id},
                               {"pdq", &it.pdq},
                               {"md5", &it.md5},
                               {"sha256", &it.sha256}}) {
      if (!v->empty()) named[k] = *v;
    }
    j["named"] = named;
    if (it.decision == ItemDecision::kApproved) {
      TD_ASSIGN_OR_RETURN(json sp, ItemSpread(d, it));
      it.copies = static_cast<int64_t>(sp["copies"].size());
      copies += it.copies;
      j["spread"] = std::move(sp);
    }
    items.push_back(std::move(j));
  }
  const LegalProcess& lp = d.process;
  const int64_t now = ctx_->Now();
  json payload = {
      {"disclosure",
       {{"id", d.id},
        {"requester", {{"key_id", d.owner_id}, {"name", d.requester_name}}},
        {"filed_at", IsoUtc(d.filed_ms)},
        {"decided_at", IsoUtc(d.decided_ms)},
        {"legal_process",
         {{"kind", NameOf(lp.kind)},
          {"reference", lp.reference},
          {"issuing_authority", lp.issuing_authority},
          {"jurisdiction", lp.jurisdiction},
          {"scope", lp.scope},
          {"emergency", lp.emergency},
          {"covers", lp.covers.empty()
                         ? json(std::vector<std::string>(kCoverNames.begin(), kCoverNames.end()))
                         : json(lp.covers)}}},
        {"made_at", IsoUtc(now)},
        {"never_included", "media: no picture or video of the reported content is in a package"}}},
      {"items", items}};
  TD_ASSIGN_OR_RETURN(payload["audit"], AuditTrail(d));
  TD_ASSIGN_OR_RETURN(json signed_package, signer_->Sign(std::move(payload)));
  store::DocRecord doc;
  doc.kind = std::string(kPackageDoc);
  doc.owner = d.id;
  doc.state = "made";
  doc.ukey = fmt::format("package:{}", d.id);
  doc.doc = signed_package.dump();
  TD_ASSIGN_OR_RETURN(auto ids, ctx_->stores.docs->PutDocs({doc}));
  d.package_doc = ids.at(0) < 0 ? -ids[0] : ids[0];
  if (ids[0] < 0) {  // made before (a stop before the disclosure was updated): that one stands
    TD_ASSIGN_OR_RETURN(auto rec, ctx_->stores.docs->GetDoc(d.package_doc));
    if (!rec) return DataLoss(fmt::format("package {} vanished", d.package_doc));
    doc.doc = rec->doc;
  }
  d.package_sha256 = hash::Sha256HexOfText(doc.doc);
  d.package_made_ms = now;
  d.package_copies = copies;
  store::DocumentStore::Changes ch;
  ch.docs.push_back(ToDoc(d));
  ch.audits.push_back({"system", "disclosure.package_made",
                       json{{"disclosure_id", d.id},
                            {"package_sha256", d.package_sha256},
                            {"copies", copies},
                            {"key_id", signer_->key_id()}}
                           .dump()});
  return ctx_->stores.docs->Transact(ch).status();
}

Result<std::string> Disclosures::Package(const Principal& who, int64_t id) {
  TD_ASSIGN_OR_RETURN(Disclosure seen, LoadVisible(who, id));
  if (seen.state == DisclosureState::kPendingReview) {
    return FailedPrecondition(
        fmt::format("disclosure {} is not decided yet: nothing is disclosed before approval", id));
  }
  if (seen.state == DisclosureState::kRefused) {
    return FailedPrecondition(fmt::format("disclosure {} was refused: nothing is disclosed", id));
  }
  TD_ASSIGN_OR_RETURN(auto l, ctx_->request_locks.Lock(id));
  TD_ASSIGN_OR_RETURN(Disclosure d, LoadDisclosure(ctx_->stores.docs, id));
  TD_RETURN_IF_ERROR(MakePackage(d));
  TD_ASSIGN_OR_RETURN(auto rec, ctx_->stores.docs->GetDoc(d.package_doc));
  if (!rec || rec->kind != kPackageDoc) {
    return DataLoss(fmt::format("disclosure {}: its package {} is missing", id, d.package_doc));
  }
  ++d.deliveries;
  store::DocumentStore::Changes ch;
  ch.docs.push_back(ToDoc(d));
  ch.audits.push_back({who.actor(), "disclosure.package_delivered",
                       json{{"disclosure_id", id}, {"package_sha256", d.package_sha256}}.dump()});
  TD_RETURN_IF_ERROR(ctx_->stores.docs->Transact(ch).status());
  return rec->doc;
}

}  // namespace takedown::service
