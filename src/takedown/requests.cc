#include "takedown/requests.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <span>

#include "core/clock.h"
#include "takedown/dsa.h"

namespace takedown::service {

using nlohmann::json;

Requests::Requests(WorkflowContext* ctx, RequesterProfiles* profiles, Evidence* evidence,
                   Sweeper* sweeper, std::function<void()> actions_queued)
    : ctx_(ctx),
      profiles_(profiles),
      evidence_(evidence),
      sweeper_(sweeper),
      actions_queued_(std::move(actions_queued)) {
  const std::string help = "Media evidence items hashed after their request was stored, by result.";
  hashed_ok_ =
      ctx_->metrics->Counter("takedown_evidence_hashed_total", help, {{"result", "hashed"}});
  hashed_failed_ =
      ctx_->metrics->Counter("takedown_evidence_hashed_total", help, {{"result", "failed"}});
  hashed_over_budget_ =
      ctx_->metrics->Counter("takedown_evidence_hashed_total", help, {{"result", "over_budget"}});
}

void Requests::StartHashing() {
  if (ctx_->opt.evidence_hash_workers <= 0) return;
  hash_queue_.Start(ctx_->opt.evidence_hash_workers, [this](int64_t id) {
    if (Status st = HashEvidence(id); !st.ok())
      spdlog::error("request {}: hashing its evidence: {}", id, st.message());
  });
}

Status Requests::HashEvidence(int64_t id) {
  auto hashing = [](const Request& r) {
    return r.state == RequestState::kReceived &&
           std::any_of(r.evidence.begin(), r.evidence.end(),
                       [](const EvidenceItem& e) { return e.hashing; });
  };
  TD_ASSIGN_OR_RETURN(Request r, LoadRequest(ctx_->stores.docs, id));
  if (!hashing(r)) return Status::Ok();
  // Outside the request's lock: hashing a long video takes seconds.
  TD_ASSIGN_OR_RETURN(Evidence::Hashed h,
                      evidence_->HashStaged(r, ctx_->opt.evidence_hash_budget_ms));
  TD_ASSIGN_OR_RETURN(auto l, ctx_->request_locks.Lock(id));
  TD_ASSIGN_OR_RETURN(Request now, LoadRequest(ctx_->stores.docs, id));
  if (!hashing(now)) return Status::Ok();  // another worker finished it meanwhile
  now.evidence = std::move(r.evidence);
  json problems = json::array();
  for (const auto& [item, why] : h.problems) problems.push_back({{"item", item}, {"problem", why}});
  TD_RETURN_IF_ERROR(Commit(now, RequestState::kReceived, "system", "request.evidence_hashed",
                            {{"request_id", id},
                             {"hashed", h.hashed},
                             {"failed", h.failed},
                             {"over_budget", h.over_budget},
                             {"ms", h.ms},
                             {"problems", problems}}));
  hashed_ok_->Inc(h.hashed);
  hashed_failed_->Inc(h.failed);
  hashed_over_budget_->Inc(h.over_budget);
  if (Status st = evidence_->Unstage(id); !st.ok()) {
    spdlog::warn("request {}: deleting its staged media: {}", id, st.message());
  }
  return ApplyPolicy(now);
}

Status Requests::RestageLostMedia(int64_t id, const MediaByItem& media, bool inline_hash) {
  auto lost = [&](const EvidenceItem& e) {
    if (e.kind != EvidenceKind::kMedia || media.count(static_cast<size_t>(e.index)) == 0)
      return false;
    if (e.problem == kMediaLostProblem) return true;
    if (!e.hashing) return false;
    auto staged = ctx_->stores.evidence->GetEvidence(id, static_cast<int>(e.index));
    return staged.ok() && !staged->has_value();
  };
  {
    TD_ASSIGN_OR_RETURN(auto l, ctx_->request_locks.Lock(id));
    TD_ASSIGN_OR_RETURN(Request r, LoadRequest(ctx_->stores.docs, id));
    // Only a request the policy has not acted on: received, or waiting for a reviewer because of
    // the lost media.
    if (r.state != RequestState::kReceived && r.state != RequestState::kPendingReview)
      return Status::Ok();
    MediaByItem again;
    for (auto& e : r.evidence) {
      if (!lost(e)) continue;
      again[static_cast<size_t>(e.index)] = media.at(static_cast<size_t>(e.index));
      e.hashing = true;
      e.usable = false;
      e.problem.clear();
    }
    if (again.empty()) return Status::Ok();
    TD_RETURN_IF_ERROR(
        evidence_->Seal(id, again, ctx_->Now() + ctx_->opt.evidence_staging_s * 1000));
    const RequestState from = r.state;
    if (from != RequestState::kReceived) r.SetState(RequestState::kReceived, ctx_->Now());
    TD_RETURN_IF_ERROR(Commit(r, from, "system", "request.media_restaged",
                              {{"request_id", id}, {"items", again.size()}}));
  }
  if (inline_hash || ctx_->opt.evidence_hash_workers <= 0) return HashEvidence(id);
  hash_queue_.Add(id);
  return Status::Ok();
}

void Requests::SetClosedListener(std::function<void(int64_t)> fn) {
  MutexLock l(&listener_mu_);
  closed_listener_ = std::move(fn);
}

void Requests::NotifyClosed(int64_t id) {
  MutexLock l(&listener_mu_);
  if (closed_listener_) closed_listener_(id);
}

Status Requests::Commit(const Request& r, RequestState from, const std::string& actor,
                        const std::string& audit_kind, const json& audit) {
  store::DocumentStore::Changes ch;
  ch.docs.push_back(ToDoc(r));
  ch.expect_states.emplace_back(r.id, std::string(NameOf(from)));
  if (!audit_kind.empty()) ch.audits.push_back({actor, audit_kind, audit.dump()});
  return ctx_->stores.docs->Transact(ch).status();
}

Result<Submission> Requests::Submit(const Principal& who, const intake::NoticeDraft& draft,
                                    const MediaByItem& media, const SubmitOptions& options) {
  store::DocumentStore* docs = ctx_->stores.docs;
  const std::string ukey =
      options.idempotency_key.empty() ? "" : "request:" + options.idempotency_key;
  if (!ukey.empty()) {  // taken before: the stored request, not a second one
    TD_ASSIGN_OR_RETURN(
        auto known,
        docs->FindDocs(
            {.kind = std::string(kRequestDoc), .owner = who.key_id, .limit = 1, .ukey = ukey}));
    if (!known.empty()) {
      TD_ASSIGN_OR_RETURN(Request r, RequestFromDoc(known.front()));
      if (!media.empty() && evidence_->stages()) {
        TD_RETURN_IF_ERROR(RestageLostMedia(r.id, media, options.hash_inline));
        TD_ASSIGN_OR_RETURN(r, LoadRequest(docs, r.id));
      }
      return Submission{{}, std::move(r)};
    }
  }
  TD_ASSIGN_OR_RETURN(RequesterProfile profile, profiles_->Get(who.key_id));
  Submission out;
  intake::ValidNotice valid = intake::Validate(draft, profile.source_type, &out.problems);
  if (!out.problems.empty()) return out;
  // Media is hashed after the request is stored (staged encrypted) whenever a key allows it.
  const bool defer = evidence_->stages() && !media.empty();
  TD_ASSIGN_OR_RETURN(Evidence::Built built,
                      evidence_->Build(valid.evidence, media, options.lenient_media, defer));
  if (!built.problems.empty()) {
    out.problems = std::move(built.problems);
    return out;
  }

  const int64_t now = ctx_->Now();
  const int hours = profile.deadline_hours > 0 ? profile.deadline_hours
                                               : DefaultDeadlineHours(profile.source_type);
  Request r;
  r.owner_id = who.key_id;
  r.requester_key_id = who.key_id;
  r.requester_name = who.name;
  r.requester_profile = profile.name;
  r.requester_member_state = profile.member_state;
  r.source_type = profile.source_type;
  r.trusted = profile.trusted;
  r.priority = PriorityOf(profile.source_type, profile.trusted);
  r.category = valid.category;
  r.notice = std::move(valid.notice);
  r.evidence = std::move(built.items);
  r.received_ms = now;
  r.deadline_ms = r.due_ms = now + int64_t{hours} * 3600 * 1000;
  r.history.emplace_back(RequestState::kReceived, now);
  r.ukey = ukey;
  const bool retain = evidence_->retains() && !media.empty();
  const int64_t expires = now + evidence_->retention_s() * 1000;
  if (retain) {
    for (auto& e : r.evidence) {
      if (e.kind == EvidenceKind::kMedia) e.retained_until = IsoUtc(expires);
    }
  }
  TD_ASSIGN_OR_RETURN(auto ids, docs->PutDocs({ToDoc(r)}));
  if (ids.at(0) < 0) {  // the same key raced in, or came before: that one stands
    const int64_t known_id = -ids[0];
    if (defer) TD_RETURN_IF_ERROR(RestageLostMedia(known_id, media, options.hash_inline));
    TD_ASSIGN_OR_RETURN(Request known, LoadRequest(docs, known_id));
    return Submission{{}, std::move(known)};
  }
  r.id = ids[0];
  if (retain || defer) {
    TD_RETURN_IF_ERROR(
        evidence_->Seal(r.id, media, retain ? expires : now + ctx_->opt.evidence_staging_s * 1000));
  }
  TD_RETURN_IF_ERROR(ctx_->Audit(who.actor(), "request.received",
                                 {{"request_id", r.id},
                                  {"category", NameOf(r.category)},
                                  {"source_type", NameOf(r.source_type)},
                                  {"evidence", r.evidence.size()},
                                  {"media_to_hash", defer ? media.size() : 0}}));
  if (defer) {
    if (ctx_->opt.evidence_hash_workers > 0 && !options.hash_inline) {
      // Answered at once; hashed in the background.
      hash_queue_.Add(r.id);
      out.request = std::move(r);
      return out;
    }
    TD_RETURN_IF_ERROR(HashEvidence(r.id));
    TD_ASSIGN_OR_RETURN(out.request, LoadRequest(docs, r.id));
    return out;
  }
  {
    TD_ASSIGN_OR_RETURN(auto l, ctx_->request_locks.Lock(r.id));
    // As stored now: another process's recovery (store.workflow shared) may have put it through
    // the policy between the insert and this lock.
    TD_ASSIGN_OR_RETURN(Request now_r, LoadRequest(docs, r.id));
    if (now_r.state == RequestState::kReceived) TD_RETURN_IF_ERROR(ApplyPolicy(now_r));
    TD_ASSIGN_OR_RETURN(out.request, LoadRequest(docs, r.id));  // confirmed, when nothing matched
  }
  return out;
}

// A trusted source whose every evidence item is usable is approved without a person (and swept
// at once), unless its category is "other"; anything else waits for a reviewer.
Status Requests::ApplyPolicy(Request& r) {
  const bool all_usable = std::all_of(r.evidence.begin(), r.evidence.end(),
                                      [](const EvidenceItem& e) { return e.usable; });
  const int64_t now = ctx_->Now();
  // "other" names no DSA statement category: a reviewer chooses one.
  if (r.trusted && all_usable && r.category != Category::kOther) {
    r.decision =
        Decision{true, "policy", true, now,
                 "trusted source; every evidence item hashed with usable quality or located"};
    r.SetState(RequestState::kApproved, now);
    TD_RETURN_IF_ERROR(Commit(r, RequestState::kReceived, "system", "request.approved",
                              {{"request_id", r.id}, {"by", "policy"}}));
    return SweepLocked(r, "system");
  }
  r.SetState(RequestState::kPendingReview, now);
  return Commit(r, RequestState::kReceived, "", "", json());
}

Status Requests::SweepLocked(Request& r, const std::string& actor) {
  auto swept = sweeper_->Sweep(r, actor);
  if (!swept.ok() && (swept.status().code() == StatusCode::kUnavailable ||
                      swept.status().code() == StatusCode::kIoError)) {
    // Held back (a content shard with no live process; the store unreachable, a PostgreSQL
    // restart): the request stays approved and is swept again (Resume). The bank entries this
    // sweep made (live at the gate) are kept with it, so the next one reuses them.
    spdlog::warn("request {}: sweep held back, retried in a few seconds: {}", r.id,
                 swept.status().message());
    TD_ASSIGN_OR_RETURN(Request stored, LoadRequest(ctx_->stores.docs, r.id));
    if (stored.state == RequestState::kApproved) {
      for (size_t i = 0; i < stored.evidence.size() && i < r.evidence.size(); ++i)
        stored.evidence[i].entry_id = r.evidence[i].entry_id;
      TD_RETURN_IF_ERROR(Commit(stored, RequestState::kApproved, "", "", json()));
    }
    return Status::Ok();
  }
  TD_ASSIGN_OR_RETURN(int64_t actions, std::move(swept));
  if (actions_queued_ && actions > 0) actions_queued_();
  if (actions == 0) return MaybeConfirmLocked(r.id);
  return Status::Ok();
}

Status Requests::MaybeConfirm(int64_t id) {
  // Most acknowledgements leave removals pending: that is found without the request's lock.
  TD_ASSIGN_OR_RETURN(bool pending, RemovalsPending(id));
  if (pending) return Status::Ok();
  TD_ASSIGN_OR_RETURN(auto l, ctx_->request_locks.Lock(id));
  return MaybeConfirmLocked(id);
}

Result<bool> Requests::RemovalsPending(int64_t id) {
  // Indexed by kind, owner, state.
  for (int64_t after = 0;;) {  // pages of 16: the first pending removal ends the search
    TD_ASSIGN_OR_RETURN(auto pending, ctx_->stores.docs->FindDocs(
                                          {.kind = std::string(kActionDoc),
                                           .owner = id,
                                           .state = std::string(NameOf(ActionState::kPending)),
                                           .after_id = after,
                                           .limit = 16}));
    if (pending.empty()) break;
    after = pending.back().id;
    for (const auto& rec : pending) {
      TD_ASSIGN_OR_RETURN(Action a, ActionFromDoc(rec));
      if (a.kind == ActionKind::kRemove) return true;
    }
  }
  return false;
}

Status Requests::MaybeConfirmLocked(int64_t id) {
  TD_ASSIGN_OR_RETURN(Request r, LoadRequest(ctx_->stores.docs, id));
  if (r.state != RequestState::kActioned) return Status::Ok();
  TD_ASSIGN_OR_RETURN(bool pending, RemovalsPending(id));
  if (pending) return Status::Ok();
  const int64_t now = ctx_->Now();
  r.confirmed_ms = now;
  r.SetState(RequestState::kConfirmed, now);
  TD_RETURN_IF_ERROR(
      Commit(r, RequestState::kActioned, "system", "request.confirmed", {{"request_id", id}}));
  NotifyClosed(id);
  return Status::Ok();
}

Status Requests::ForEachIn(RequestState state, std::optional<int64_t> created_to,
                           const std::function<Status(Request&)>& fn) {
  return ctx_->stores.docs->ForEachDoc(
      {.kind = std::string(kRequestDoc),
       .state = std::string(NameOf(state)),
       .created_to = created_to,
       .limit = 500},
      [&](const store::DocRecord& rec) -> Status {
        // One another process holds is being moved on there (or is taken up at the next pass).
        TD_ASSIGN_OR_RETURN(auto l, ctx_->request_locks.TryLock(rec.id));
        if (!l) return Status::Ok();
        TD_ASSIGN_OR_RETURN(Request r, LoadRequest(ctx_->stores.docs, rec.id));
        if (r.state != state) return Status::Ok();  // moved on meanwhile
        return fn(r);
      });
}

namespace {
bool Hashing(const Request& r) {
  return std::any_of(r.evidence.begin(), r.evidence.end(),
                     [](const EvidenceItem& e) { return e.hashing; });
}
}  // namespace

Status Requests::Resume(int64_t min_age_ms) {
  // Received and never through the policy (media still hashing: its worker applies it).
  TD_RETURN_IF_ERROR(ForEachIn(RequestState::kReceived, ctx_->Now() - min_age_ms, [&](Request& r) {
    return Hashing(r) ? Status::Ok() : ApplyPolicy(r);
  }));
  // Approved and not swept, at any age (held back just now).
  return ForEachIn(RequestState::kApproved, std::nullopt,
                   [&](Request& r) { return SweepLocked(r, "system"); });
}

Status Requests::HashAgain(const std::vector<int64_t>& ids) {
  for (int64_t id : ids) {
    if (ctx_->opt.evidence_hash_workers > 0) {
      hash_queue_.Add(id);
    } else {
      TD_RETURN_IF_ERROR(HashEvidence(id));
    }
  }
  return Status::Ok();
}

int64_t Requests::StaleHashingMs() const {
  // Past any hashing's budget, with room for a backlog in the live process that queued it.
  return 2 * ctx_->opt.evidence_hash_budget_ms + 60'000;
}

Status Requests::TakeUpStranded() {
  std::vector<int64_t> to_hash;
  TD_RETURN_IF_ERROR(
      ForEachIn(RequestState::kReceived, ctx_->Now() - StaleHashingMs(), [&](Request& r) {
        if (Hashing(r)) to_hash.push_back(r.id);
        return Status::Ok();
      }));
  TD_RETURN_IF_ERROR(ForEachIn(RequestState::kActioned, std::nullopt,
                               [&](Request& r) { return MaybeConfirmLocked(r.id); }));
  TD_RETURN_IF_ERROR(HashAgain(to_hash));
  if (!to_hash.empty()) {
    spdlog::info(
        "workflow: {} requests' media hashing left unfinished by another process, taken up",
        to_hash.size());
  }
  return Status::Ok();
}

Status Requests::Recover() {
  std::vector<int64_t> to_hash;
  // Where other processes run the workflow too (shared), a received request may be one a live
  // process is filing or hashing right now: only those older than its resume age, or than the
  // stale age for hashing, are this start's to take up.
  const std::optional<int64_t> received_to =
      ctx_->opt.shared ? std::optional<int64_t>(ctx_->Now() - kReceivedAgeMs) : std::nullopt;
  TD_RETURN_IF_ERROR(ForEachIn(RequestState::kReceived, received_to, [&](Request& r) {
    if (!Hashing(r)) return ApplyPolicy(r);
    // Staged but not hashed: hashed from the staged copy (shared: only if stale, as below).
    if (!ctx_->opt.shared || r.received_ms < ctx_->Now() - StaleHashingMs())
      to_hash.push_back(r.id);
    return Status::Ok();
  }));
  TD_RETURN_IF_ERROR(ForEachIn(RequestState::kApproved, std::nullopt,
                               [&](Request& r) { return SweepLocked(r, "system"); }));
  TD_RETURN_IF_ERROR(ForEachIn(RequestState::kActioned, std::nullopt,
                               [&](Request& r) { return MaybeConfirmLocked(r.id); }));
  TD_RETURN_IF_ERROR(HashAgain(to_hash));
  if (!to_hash.empty())
    spdlog::info("recovery: {} requests' media to hash again from its staged copy", to_hash.size());
  return Status::Ok();
}

Result<Request> Requests::Decide(const Principal& who, int64_t id, bool approve,
                                 const std::string& reason, const DsaChoice& dsa) {
  if (reason.empty()) return InvalidArgument("reason: missing (a decision states its reason)");
  if (!dsa.category.empty() && !dsa::IsCategory(dsa.category)) {
    return InvalidArgument(fmt::format(
        "dsa_category: '{}' is not a statement category of the DSA Transparency Database",
        dsa.category));
  }
  for (size_t i = 0; i < dsa.keywords.size(); ++i) {
    if (!dsa::IsKeyword(dsa.keywords[i])) {
      return InvalidArgument(
          fmt::format("dsa_keywords[{}]: '{}' is not a keyword of the DSA Transparency Database", i,
                      dsa.keywords[i]));
    }
    if (std::string why = dsa::KeywordMisfit(dsa.keywords[i], dsa.category); !why.empty()) {
      return InvalidArgument(fmt::format("dsa_keywords[{}]: {}", i, why));
    }
  }
  if (!dsa.keywords.empty() && dsa.category.empty()) {
    return InvalidArgument("dsa_keywords: given without dsa_category");
  }
  const auto& grounds = approve ? std::span<const std::string_view>(kApproveGrounds)
                                : std::span<const std::string_view>(kRejectGrounds);
  const std::string ground =
      dsa.ground.empty() ? std::string(approve ? "illegal_content" : "other") : dsa.ground;
  if (std::find(grounds.begin(), grounds.end(), ground) == grounds.end()) {
    return InvalidArgument(fmt::format("ground: '{}' is not a ground for {} a request (one of {})",
                                       ground, approve ? "approving" : "rejecting",
                                       fmt::join(grounds, ", ")));
  }
  TD_ASSIGN_OR_RETURN(auto l, ctx_->request_locks.Lock(id));
  TD_ASSIGN_OR_RETURN(Request r, LoadRequest(ctx_->stores.docs, id));
  if (r.state != RequestState::kPendingReview) {
    return FailedPrecondition(
        fmt::format("request {} is {}, not pending_review", id, NameOf(r.state)));
  }
  const int64_t now = ctx_->Now();
  if (const Request::Claim* c = r.ClaimedByOther(who.key_id, now)) {
    return FailedPrecondition(fmt::format(
        "request {} is claimed by {} (key:{}) until {}: two reviewers never decide one request", id,
        c->name, c->key_id, IsoUtc(c->expires_ms)));
  }
  r.claim.reset();
  if (approve && r.category == Category::kOther && dsa.category.empty()) {
    return InvalidArgument(
        "dsa_category: required to approve a request of category 'other' (the statement of "
        "reasons must name the DSA category, e.g. STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH)");
  }
  r.decision = Decision{approve, who.actor(), false, now, reason};
  r.decision->dsa_category = dsa.category;
  r.decision->dsa_keywords = dsa.keywords;
  r.decision->ground = ground;
  r.SetState(approve ? RequestState::kApproved : RequestState::kRejected, now);
  TD_RETURN_IF_ERROR(Commit(r, RequestState::kPendingReview, who.actor(),
                            approve ? "request.approved" : "request.rejected",
                            {{"request_id", id}, {"reason", reason}, {"ground", ground}}));
  if (approve) {
    TD_RETURN_IF_ERROR(SweepLocked(r, who.actor()));
    TD_ASSIGN_OR_RETURN(r, LoadRequest(ctx_->stores.docs, id));  // confirmed, when nothing matched
  } else {
    NotifyClosed(id);
  }
  return r;
}

Result<Request> Requests::Withdraw(int64_t id, const std::string& actor) {
  TD_ASSIGN_OR_RETURN(auto l, ctx_->request_locks.Lock(id));
  TD_ASSIGN_OR_RETURN(Request r, LoadRequest(ctx_->stores.docs, id));
  const int64_t now = ctx_->Now();
  const RequestState from = r.state;
  const bool waiting = from == RequestState::kReceived || from == RequestState::kPendingReview;
  if (waiting) {
    r.claim.reset();
    r.decision =
        Decision{false, actor, false, now, "withdrawn by the person who reported it", "", {}};
    r.SetState(RequestState::kRejected, now);
  }
  int disabled = 0;
  for (const auto& e : r.evidence) {
    if (e.entry_id == 0) continue;
    TD_RETURN_IF_ERROR(ctx_->svc->SetEntryEnabled(e.entry_id, false, actor));
    ++disabled;
  }
  TD_RETURN_IF_ERROR(
      Commit(r, from, actor, "request.withdrawn",
             {{"request_id", id}, {"was", NameOf(from)}, {"entries_disabled", disabled}}));
  if (waiting) NotifyClosed(id);
  return r;
}

Result<Request> Requests::Claim(const Principal& who, int64_t id, bool release) {
  TD_ASSIGN_OR_RETURN(auto l, ctx_->request_locks.Lock(id));
  TD_ASSIGN_OR_RETURN(Request r, LoadRequest(ctx_->stores.docs, id));
  const int64_t now = ctx_->Now();
  if (const Request::Claim* c = r.ClaimedByOther(who.key_id, now)) {
    return FailedPrecondition(fmt::format("request {} is claimed by {} (key:{}) until {}", id,
                                          c->name, c->key_id, IsoUtc(c->expires_ms)));
  }
  if (release) {
    if (!r.claim || r.claim->key_id != who.key_id || r.claim->expires_ms <= now) return r;
    r.claim.reset();
    TD_RETURN_IF_ERROR(Commit(r, r.state, who.actor(), "request.released", {{"request_id", id}}));
    return r;
  }
  if (r.state != RequestState::kPendingReview) {
    return FailedPrecondition(
        fmt::format("request {} is {}, not pending_review: nothing to claim", id, NameOf(r.state)));
  }
  r.claim = Request::Claim{who.key_id, who.name, now + ctx_->opt.review_claim_s * 1000};
  TD_RETURN_IF_ERROR(Commit(r, RequestState::kPendingReview, who.actor(), "request.claimed",
                            {{"request_id", id}, {"until", IsoUtc(r.claim->expires_ms)}}));
  return r;
}

json Requests::ClaimView(const Request& r) const {
  if (!r.claim || r.claim->expires_ms <= ctx_->Now()) return nullptr;
  return {{"key_id", r.claim->key_id},
          {"name", r.claim->name},
          {"expires_at", IsoUtc(r.claim->expires_ms)}};
}

Result<json> Requests::View(const Request& r, const Principal& who) {
  json v = ToJson(r);
  for (const char* k : {"owner_id", "due_ms", "ukey"}) v.erase(k);
  v.erase("claim");
  // Who is reviewing is the platform's business, not the requester's.
  if (who.role != Role::kRequester) v["claim"] = ClaimView(r);
  if (who.role == Role::kRequester) {
    json evidence = json::array();
    for (const auto& e : r.evidence) evidence.push_back(RequesterView(e));
    v["evidence"] = std::move(evidence);
  }
  json removals = json::array();
  int64_t pending = 0;
  if (r.id != 0) {
    TD_ASSIGN_OR_RETURN(auto rows,
                        ctx_->stores.docs->FindDocs(
                            {.kind = std::string(kActionDoc), .owner = r.id, .limit = 10'000'000}));
    for (const auto& rec : rows) {
      TD_ASSIGN_OR_RETURN(Action a, ActionFromDoc(rec));
      if (a.kind != ActionKind::kRemove) continue;
      if (a.state != ActionState::kAcknowledged) {
        ++pending;
        continue;
      }
      removals.push_back({{"action_id", rec.id},
                          {"content_id", a.content_id},
                          {"chat_id", a.chat_id},
                          {"removed_at", IsoUtc(a.acknowledged_ms)},
                          {"removed_ms", a.acknowledged_ms},
                          {"signal", a.signal},
                          {"distance", a.distance}});
    }
  }
  v["received_at"] = IsoUtc(r.received_ms);
  v["deadline_at"] = IsoUtc(r.deadline_ms);
  v["removals"] = removals;
  v["removals_pending"] = pending;
  return v;
}

Result<Request> Requests::Get(const Principal& who, int64_t id) {
  TD_ASSIGN_OR_RETURN(Request r, LoadRequest(ctx_->stores.docs, id));
  if (who.role == Role::kRequester && r.owner_id != who.key_id) {
    return NotFound(fmt::format("no request {}", id));
  }
  return r;
}

Result<json> Requests::List(const Principal& who, const std::string& status, int64_t after_id,
                            int64_t limit) {
  if (!status.empty() && !EnumFromName<RequestState>(status)) {
    return InvalidArgument(fmt::format("status must be {}", EnumChoices<RequestState>()));
  }
  store::DocQuery q{.kind = std::string(kRequestDoc),
                    .state = status,
                    .after_id = after_id,
                    .limit = std::clamp<int64_t>(limit, 1, 1000)};
  if (who.role == Role::kRequester) q.owner = who.key_id;
  TD_ASSIGN_OR_RETURN(auto rows, ctx_->stores.docs->FindDocs(q));
  json out = json::array();
  for (const auto& rec : rows) {
    TD_ASSIGN_OR_RETURN(Request r, RequestFromDoc(rec));
    out.push_back({{"id", rec.id},
                   {"status", NameOf(r.state)},
                   {"category", NameOf(r.category)},
                   {"source_type", NameOf(r.source_type)},
                   {"priority", r.priority},
                   {"received_at", IsoUtc(r.received_ms)},
                   {"deadline_at", IsoUtc(r.deadline_ms)}});
  }
  return json{{"requests", out}, {"next_after_id", rows.empty() ? after_id : rows.back().id}};
}

Result<json> Requests::ReviewQueue(int64_t limit) {
  // By priority (highest first), then deadline, in the store: only the page is read and parsed,
  // however many requests wait (the deadline is the documents' due_ms, indexed).
  const std::string kind(kRequestDoc), pending(NameOf(RequestState::kPendingReview));
  TD_ASSIGN_OR_RETURN(auto rows,
                      ctx_->stores.docs->FindDocs({.kind = kind,
                                                   .state = pending,
                                                   .limit = std::clamp<int64_t>(limit, 1, 1000),
                                                   .by_due = true,
                                                   .desc_field = "priority"}));
  std::vector<Request> q;
  q.reserve(rows.size());
  for (const auto& rec : rows) {
    TD_ASSIGN_OR_RETURN(Request r, RequestFromDoc(rec));
    q.push_back(std::move(r));
  }
  TD_ASSIGN_OR_RETURN(store::DocCount total, ctx_->stores.docs->CountDocs(kind, pending));
  const int64_t now = ctx_->Now(), hour = 3'600'000;
  TD_ASSIGN_OR_RETURN(int64_t overdue, ctx_->stores.docs->CountDue(kind, pending, now));
  TD_ASSIGN_OR_RETURN(int64_t by24, ctx_->stores.docs->CountDue(kind, pending, now + 24 * hour));
  TD_ASSIGN_OR_RETURN(int64_t by48, ctx_->stores.docs->CountDue(kind, pending, now + 48 * hour));
  json out = json::array();
  for (size_t i = 0; i < q.size() && static_cast<int64_t>(i) < limit; ++i) {
    const Request& r = q[i];
    json evidence = json::array();
    for (const auto& e : r.evidence) evidence.push_back(ToJson(e));
    // Hashes and locations only: no media reaches a reviewer from here.
    out.push_back({{"id", r.id},
                   {"priority", r.priority},
                   {"received_at", IsoUtc(r.received_ms)},
                   {"requester_name", r.requester_name},
                   {"deadline_at", IsoUtc(r.deadline_ms)},
                   {"category", NameOf(r.category)},
                   {"source_type", NameOf(r.source_type)},
                   {"trusted", r.trusted},
                   {"explanation", r.notice.explanation},
                   {"claim", ClaimView(r)},
                   {"evidence", evidence}});
  }
  return json{
      {"queue", out},
      {"total", total.count},
      {"due", {{"overdue", overdue}, {"within_24h", by24 - overdue}, {"within_48h", by48 - by24}}}};
}

}  // namespace takedown::service
