#include "takedown/holds.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "core/clock.h"
#include "core/text.h"
#include "intake/notice.h"

namespace takedown::service {

using nlohmann::json;

namespace {

constexpr int64_t kDayMs = 86400 * 1000;

std::string Str(const json& o, const char* key, size_t max, intake::Problems* p) {
  if (!o.contains(key) || o[key].is_null()) return "";
  if (!o[key].is_string()) {
    p->push_back({key, "must be a string"});
    return "";
  }
  std::string v = o[key].get<std::string>();
  if (v.size() > max) p->push_back({key, fmt::format("longer than {} characters", max)});
  if (HasControlCharacter(v)) p->push_back({key, "has control characters"});
  return v;
}

int64_t Days(const json& o, intake::Problems* p) {
  if (!o.contains("days") || !o["days"].is_number_integer() || o["days"].get<int64_t>() < 1 ||
      o["days"].get<int64_t>() > Holds::kMaxDays) {
    p->push_back({"days", fmt::format("missing or not a whole number of days from 1 to {}",
                                      Holds::kMaxDays)});
    return 0;
  }
  return o["days"].get<int64_t>();
}

}  // namespace

json Holds::View(const Hold& h) const {
  json j = ToJson(h);
  j.erase("ukey");
  // Stored active; it ends when its time has passed.
  if (h.state == HoldState::kActive && ctx_->Now() >= h.until_ms) {
    j["status"] = NameOf(HoldState::kExpired);
  }
  j["placed_at"] = IsoUtc(h.placed_ms);
  j["until"] = IsoUtc(h.until_ms);
  return j;
}

Result<Hold> Holds::LoadVisible(const Principal& who, int64_t id) {
  auto h = LoadHold(ctx_->stores.docs, id);
  if (!h.ok()) return h.status();
  if (who.role == Role::kPlatform || (who.role == Role::kRequester && h->owner_id != who.key_id)) {
    return NotFound(fmt::format("no hold {}", id));
  }
  return h;
}

Result<int64_t> Holds::Preserve(const Hold& h) {
  Action a;
  a.kind = ActionKind::kPreserve;
  a.owner_id = h.request_id;
  a.request_id = h.request_id;
  a.hold_id = h.id;
  a.content_ids = h.content_ids;
  a.account_ids = h.account_ids;
  a.preserve_until_ms = h.until_ms;
  a.legal_reference = h.legal_reference;
  // One per hold and time: the same placement or extension never asks twice.
  a.ukey = fmt::format("preserve:{}:{}", h.id, h.until_ms);
  return actions_->Queue(std::move(a));
}

Status Holds::KeepEvidence(const Hold& h) {
  if (h.request_id == 0) return Status::Ok();
  TD_ASSIGN_OR_RETURN(Request r, LoadRequest(ctx_->stores.docs, h.request_id));
  // One statement per item that only ever moves the expiry later: two holds placed or extended
  // at once (in any processes) keep the later date, and media already deleted stays deleted.
  for (const auto& e : r.evidence) {
    TD_RETURN_IF_ERROR(
        ctx_->stores.evidence->ExtendEvidence(r.id, static_cast<int>(e.index), h.until_ms)
            .status());
  }
  return Status::Ok();
}

Result<json> Holds::Place(const Principal& who, const json& body,
                          const std::string& idempotency_key) {
  if (!body.is_object()) return InvalidArgument("the body must be a JSON object");
  intake::Problems p;
  for (const auto& [k, v] : body.items()) {
    if (k != "request_id" && k != "disclosure_id" && k != "days" && k != "reason" &&
        k != "legal_reference") {
      p.push_back({k, "is not a field of a hold"});
    }
  }
  auto id_of = [&](const char* k) -> int64_t {
    if (!body.contains(k)) return 0;
    if (!body[k].is_number_integer() || body[k].get<int64_t>() < 1) {
      p.push_back({k, "must be a positive integer"});
      return 0;
    }
    return body[k].get<int64_t>();
  };
  Hold h;
  h.request_id = id_of("request_id");
  h.disclosure_id = id_of("disclosure_id");
  if (body.contains("request_id") == body.contains("disclosure_id")) {
    p.push_back({"request_id", "a hold is on a request_id or a disclosure_id, one of the two"});
  }
  const int64_t days = Days(body, &p);
  h.reason = Str(body, "reason", 5000, &p);
  if (h.reason.empty() && !(body.contains("reason") && !body["reason"].is_string())) {
    p.push_back({"reason", "missing: why the records must be kept"});
  }
  h.legal_reference = Str(body, "legal_reference", 256, &p);
  if (!p.empty()) return intake::ProblemsStatus(p);
  if (who.role == Role::kRequester) TD_RETURN_IF_ERROR(WithinRequesterBound(who, idempotency_key));

  // What it holds: the spread's content and accounts, as the sweep's signals find them now.
  std::set<int64_t> rows;
  if (h.request_id != 0) {
    auto r = LoadRequest(ctx_->stores.docs, h.request_id);
    if (!r.ok() || who.role == Role::kPlatform ||
        (who.role == Role::kRequester && r->owner_id != who.key_id)) {
      return NotFound(fmt::format("no request {}", h.request_id));
    }
    h.owner_id = r->owner_id;
    TD_ASSIGN_OR_RETURN(auto hits, sweeper_->FindCopies(*r, 31));
    for (const auto& [row, hit] : hits) rows.insert(row);
  } else {
    TD_ASSIGN_OR_RETURN(Disclosure d, disclosures_->LoadVisible(who, h.disclosure_id));
    h.owner_id = d.owner_id;
    if (h.legal_reference.empty()) h.legal_reference = d.process.reference;
    TD_ASSIGN_OR_RETURN(rows, disclosures_->CopiesOf(d));
  }
  std::set<std::string> accounts;
  for (int64_t row : rows) {
    if (h.content_ids.size() >= kMaxContent) break;
    TD_ASSIGN_OR_RETURN(auto c, ctx_->stores.content->GetContent(row));
    if (!c) continue;
    h.content_ids.push_back(c->content_id);
    if (!c->uploader_id.empty()) accounts.insert(c->uploader_id);
  }
  h.account_ids.assign(accounts.begin(), accounts.end());
  const int64_t now = ctx_->Now();
  h.placed_ms = now;
  h.until_ms = now + days * kDayMs;
  h.placed_by = who.actor();
  if (!idempotency_key.empty()) h.ukey = fmt::format("hold:{}:{}", who.key_id, idempotency_key);
  TD_ASSIGN_OR_RETURN(auto ids, ctx_->stores.docs->PutDocs({ToDoc(h)}));
  if (ids.at(0) < 0) {  // the same placement again
    TD_ASSIGN_OR_RETURN(Hold first, LoadHold(ctx_->stores.docs, -ids[0]));
    // Done, unless a stop came before its preserve action was queued: then finish it now.
    if (!first.preserve_action_ids.empty()) return View(first);
    h = std::move(first);
  } else {
    h.id = ids[0];
  }
  TD_ASSIGN_OR_RETURN(auto l, ctx_->request_locks.Lock(h.id));
  TD_RETURN_IF_ERROR(KeepEvidence(h));
  TD_ASSIGN_OR_RETURN(int64_t action, Preserve(h));
  h.preserve_action_ids.push_back(action);
  store::DocumentStore::Changes ch;
  ch.docs.push_back(ToDoc(h));
  ch.audits.push_back({who.actor(), "hold.placed",
                       json{{"hold_id", h.id},
                            {"request_id", h.request_id},
                            {"disclosure_id", h.disclosure_id},
                            {"until_ms", h.until_ms},
                            {"content", h.content_ids.size()},
                            {"accounts", h.account_ids.size()},
                            {"preserve_action_id", action},
                            {"reason", h.reason}}
                           .dump()});
  TD_RETURN_IF_ERROR(ctx_->stores.docs->Transact(ch).status());
  TD_ASSIGN_OR_RETURN(h, LoadHold(ctx_->stores.docs, h.id));
  return View(h);
}

Status Holds::WithinRequesterBound(const Principal& who, const std::string& idempotency_key) {
  if (!idempotency_key.empty()) {  // a retry of a placement made is not a new hold
    TD_ASSIGN_OR_RETURN(auto known,
                        ctx_->stores.docs->FindDocs(
                            {.kind = std::string(kHoldDoc),
                             .limit = 1,
                             .ukey = fmt::format("hold:{}:{}", who.key_id, idempotency_key)}));
    if (!known.empty()) return Status::Ok();
  }
  const int64_t now = ctx_->Now();
  int64_t in_force = 0;
  TD_RETURN_IF_ERROR(
      ctx_->stores.docs->ForEachDoc({.kind = std::string(kHoldDoc),
                                     .owner = who.key_id,
                                     .state = std::string(NameOf(HoldState::kActive)),
                                     .limit = 1000},
                                    [&](const store::DocRecord& rec) -> Status {
                                      TD_ASSIGN_OR_RETURN(Hold h, HoldFromDoc(rec));
                                      if (h.until_ms > now) ++in_force;
                                      return Status::Ok();
                                    }));
  if (in_force >= kMaxRequesterHolds) {
    return FailedPrecondition(fmt::format(
        "this key keeps {} legal holds in force, the most a requester may: extend one of them, "
        "or ask a reviewer or administrator to place this one",
        in_force));
  }
  return Status::Ok();
}

Result<json> Holds::Extend(const Principal& who, int64_t id, const json& body) {
  if (!body.is_object()) return InvalidArgument("the body must be a JSON object");
  intake::Problems p;
  for (const auto& [k, v] : body.items()) {
    if (k != "days" && k != "reason") p.push_back({k, "is not a field of an extension"});
  }
  const int64_t days = Days(body, &p);
  const std::string reason = Str(body, "reason", 5000, &p);
  if (reason.empty() && !(body.contains("reason") && !body["reason"].is_string())) {
    p.push_back({"reason", "missing: why the records must be kept longer"});
  }
  if (!p.empty()) return intake::ProblemsStatus(p);
  TD_RETURN_IF_ERROR(LoadVisible(who, id).status());
  TD_ASSIGN_OR_RETURN(auto l, ctx_->request_locks.Lock(id));
  TD_ASSIGN_OR_RETURN(Hold h, LoadHold(ctx_->stores.docs, id));
  const int64_t now = ctx_->Now();
  if (now >= h.until_ms) {
    return FailedPrecondition(
        fmt::format("hold {} expired at {}: its records may be gone; place a new hold", id,
                    IsoUtc(h.until_ms)));
  }
  const int64_t until = h.until_ms + days * kDayMs;
  if (until > h.placed_ms + kMaxTotalDays * kDayMs) {
    return InvalidArgument(fmt::format("days: a hold lasts at most {} days from its placement ({})",
                                       kMaxTotalDays, IsoUtc(h.placed_ms)));
  }
  h.until_ms = until;
  h.extensions.push_back({now, until, who.actor(), reason});
  TD_RETURN_IF_ERROR(KeepEvidence(h));
  TD_ASSIGN_OR_RETURN(int64_t action, Preserve(h));
  h.preserve_action_ids.push_back(action);
  store::DocumentStore::Changes ch;
  ch.docs.push_back(ToDoc(h));
  ch.audits.push_back(
      {who.actor(), "hold.extended",
       json{
           {"hold_id", id}, {"until_ms", until}, {"preserve_action_id", action}, {"reason", reason}}
           .dump()});
  TD_RETURN_IF_ERROR(ctx_->stores.docs->Transact(ch).status());
  return View(h);
}

Result<json> Holds::Get(const Principal& who, int64_t id) {
  TD_ASSIGN_OR_RETURN(Hold h, LoadVisible(who, id));
  return View(h);
}

Result<json> Holds::List(const Principal& who, int64_t after_id, int64_t limit) {
  if (who.role == Role::kPlatform) return PermissionDenied("not for the platform's keys");
  store::DocQuery q{.kind = std::string(kHoldDoc),
                    .after_id = after_id,
                    .limit = std::clamp<int64_t>(limit, 1, 1000)};
  if (who.role == Role::kRequester) q.owner = who.key_id;
  TD_ASSIGN_OR_RETURN(auto rows, ctx_->stores.docs->FindDocs(q));
  json out = json::array();
  for (const auto& rec : rows) {
    TD_ASSIGN_OR_RETURN(Hold h, HoldFromDoc(rec));
    out.push_back(View(h));
  }
  return json{{"holds", out}};
}

}  // namespace takedown::service
