#include "takedown/actions.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "core/clock.h"
#include "hash/digest.h"
#include "takedown/dsa_submit.h"

namespace takedown::service {

using nlohmann::json;

namespace {

std::string_view AuditKindOfAck(const Action& a) {
  switch (a.kind) {
    case ActionKind::kRemove:
      return "content.removed";
    case ActionKind::kRestore:
      return a.account_action_id != 0 ? "account.restored" : "content.restored";
    case ActionKind::kPreserve:
      return "content.preserved";
    case ActionKind::kAccountAction:
      return "account.actioned";
    case ActionKind::kRestrictChat:
      break;
  }
  return "chat.restricted";
}

}  // namespace

Actions::Actions(WorkflowContext* ctx, std::unique_ptr<ActionSink> sink, Statements* statements,
                 std::function<Status(int64_t)> on_removed)
    : ctx_(ctx),
      sink_(std::move(sink)),
      statements_(statements),
      on_removed_(std::move(on_removed)) {
  OutboxOptions o;
  o.kind = std::string(kActionDoc);
  o.name = "webhook";
  o.workers = ctx_->opt.delivery_workers;
  o.backoff = {ctx_->opt.retry_base_ms, ctx_->opt.retry_max_ms, 0.5};
  o.max_attempts = 0;  // a removal is never given up: it is retried until the platform answers
  o.reclaim_at_start = !ctx_->opt.shared;
  o.lease_ms = ctx_->opt.delivery_claim_ms;
  outbox_ = std::make_unique<Outbox>(ctx_->env, ctx_->stores.docs, o, this, ctx_->metrics);
  statement_errors_ = ctx_->metrics->Counter(
      "takedown_statement_errors_total",
      "Removals delivered without their statement of reasons (the request could not be read).");
}

Actions::~Actions() { Stop(); }

void Actions::Start() {
  if (sink_ != nullptr) outbox_->Start();
}

void Actions::Stop() { outbox_->Stop(); }

void Actions::DeliverDueNow() {
  if (sink_ == nullptr) return;
  if (auto n = outbox_->DeliverDue(); !n.ok()) {
    spdlog::warn("actions: cannot read due actions: {}", n.status().message());
  }
}

Result<Action> Actions::Load(int64_t id) { return LoadAction(ctx_->stores.docs, id); }

Result<std::shared_ptr<const Request>> Actions::RequestOf(int64_t id) {
  {
    MutexLock l(&requests_mu_);
    if (auto it = requests_.find(id); it != requests_.end()) return it->second;
  }
  TD_ASSIGN_OR_RETURN(Request r, LoadRequest(ctx_->stores.docs, id));
  auto shared = std::make_shared<const Request>(std::move(r));
  MutexLock l(&requests_mu_);
  if (requests_.size() >= kCachedRequests) requests_.clear();
  requests_[id] = shared;
  return shared;
}

Result<int64_t> Actions::Queue(Action a) {
  a.state = ActionState::kPending;
  a.attempts = 0;
  a.due_ms = ctx_->Now();
  TD_ASSIGN_OR_RETURN(auto ids, ctx_->stores.docs->PutDocs({ToDoc(a)}));
  outbox_->Wake();
  return std::abs(ids.at(0));
}

std::string Actions::Sign(const std::string& ts, const std::string& body) const {
  return hash::HmacSha256Hex(ctx_->opt.webhook_secret, ts + "." + body);
}

Status Actions::Deliver(const store::DocRecord& item) {
  // Read again: the platform may have acknowledged it since it was claimed.
  TD_ASSIGN_OR_RETURN(Action a, Load(item.id));
  if (a.state != ActionState::kPending) return Status::Ok();
  json body = {{"type", "takedown.action"},
               {"action_id", a.id},
               {"kind", NameOf(a.kind)},
               {"idempotency_key", a.ukey},
               {"attempt", a.attempts + 1}};
  if (a.kind == ActionKind::kPreserve) {
    // Keep the platform's own copies and account data of these, under a legal hold.
    body.update({{"hold_id", a.hold_id},
                 {"content_ids", a.content_ids},
                 {"account_ids", a.account_ids},
                 {"preserve_until", IsoUtc(a.preserve_until_ms)},
                 {"preserve_until_ms", a.preserve_until_ms},
                 {"legal_reference", a.legal_reference}});
  } else {
    body["chat_id"] = a.chat_id;
  }
  if (a.kind == ActionKind::kAccountAction) {
    // The measure against the uploader's account, and the uploads that earned it.
    body.update({{"uploader_id", a.uploader_id},
                 {"measure", NameOf(a.measure)},
                 {"strikes", a.strikes},
                 {"window_days", a.window_days},
                 {"content_ids", a.content_ids},
                 {"request_id", a.request_id}});
  } else if (a.kind == ActionKind::kPreserve) {
    // no content, chat or category of its own
  } else if (a.kind == ActionKind::kRestrictChat) {
    body["confirmed_removals"] = a.confirmed_removals;
  } else {
    body["content_id"] = a.content_id;
    body["uploader_id"] = a.uploader_id;
    body["request_id"] = a.request_id;
    if (a.account_action_id != 0) {  // a restore that lifts an account action
      body["account_action_id"] = a.account_action_id;
      body["measure"] = NameOf(a.measure);
    }
  }
  if (a.kind != ActionKind::kRestore && a.kind != ActionKind::kPreserve) {
    body["category"] = NameOf(a.category);
  }
  // A restriction made before restrictions kept their cause has no statement (request_id 0).
  if (a.kind == ActionKind::kRemove || a.kind == ActionKind::kAccountAction ||
      (a.kind == ActionKind::kRestrictChat && a.request_id > 0)) {
    // The statement travels with the removal; a request that cannot be read must not hold the
    // removal up, but it is said. An account action of a bank entry made without a request has
    // its statement from its category alone.
    auto st = [&]() -> Result<json> {
      if (a.kind == ActionKind::kAccountAction && a.request_id == 0)
        return statements_->OfAccount(a, nullptr);
      auto r = RequestOf(a.request_id);
      return r.ok() ? statements_->Of(a, **r) : Result<json>(r.status());
    }();
    if (st.ok()) {
      body["statement_of_reasons"] = *st;
    } else {
      statement_errors_->Inc();
      spdlog::error("action {}: delivered without its statement of reasons: {}", a.id,
                    st.status().message());
    }
  }
  const std::string payload = body.dump();
  const std::string ts = std::to_string(ctx_->Now() / 1000);
  std::vector<std::pair<std::string, std::string>> headers = {{"Idempotency-Key", a.ukey},
                                                              {"X-Takedown-Timestamp", ts}};
  if (!ctx_->opt.webhook_secret.empty()) {
    headers.emplace_back("X-Takedown-Signature", "v1=" + Sign(ts, payload));
  }
  auto status = sink_->Deliver(payload, headers);
  if (!status.ok()) return status.status();
  if (*status < 200 || *status >= 300) return IoError(fmt::format("HTTP {}", *status));
  return Status::Ok();
}

Status Actions::Delivered(const store::DocRecord& item) {
  // The document as claimed: this worker is its only writer while it is in flight, and the
  // condition in Ack catches an acknowledgement that came meanwhile.
  TD_ASSIGN_OR_RETURN(Action a, ActionFromDoc(item));
  return Ack(std::move(a), "webhook", "system");
}

std::string Actions::GiveUpAudit(const store::DocRecord& item, const std::string& error) {
  return json{{"action_id", item.id}, {"error", error}}.dump();
}

void Actions::AddAck(Action& a, const std::string& via, const std::string& actor,
                     store::DocumentStore::Changes* ch) {
  a.state = ActionState::kAcknowledged;
  a.acknowledged_ms = ctx_->Now();
  a.acknowledged_via = via;
  ch->docs.push_back(ToDoc(a));
  // Written only if the action is still pending: a webhook's 2xx and the platform's explicit
  // acknowledgement may race, and one of them changes it.
  ch->expect_states.emplace_back(a.id, std::string(NameOf(ActionState::kPending)));
  if (a.content_row) {
    ch->content_states.emplace_back(*a.content_row,
                                    a.kind == ActionKind::kRestore ? "restored" : "removed");
  }
  // Its statement of reasons, queued for the DSA Transparency Database in the same transaction
  // (the document's unique key makes it once per removal).
  if (ctx_->opt.dsa_submission &&
      (a.kind == ActionKind::kRemove || a.kind == ActionKind::kRestrictChat ||
       (a.kind == ActionKind::kAccountAction && a.measure != AccountMeasure::kWarn)))
    ch->docs.push_back(DsaStatementQueued(a.id, ctx_->Now()));
  ch->audits.push_back({actor, std::string(AuditKindOfAck(a)),
                        a.kind == ActionKind::kAccountAction ? json{{"action_id", a.id},
                                                                    {"uploader_id", a.uploader_id},
                                                                    {"measure", NameOf(a.measure)},
                                                                    {"via", via}}
                                                                   .dump()
                                                             : json{{"action_id", a.id},
                                                                    {"content_id", a.content_id},
                                                                    {"chat_id", a.chat_id},
                                                                    {"via", via}}
                                                                   .dump()});
}

Status Actions::AfterAcks(const std::vector<Action>& acked) {
  std::set<int64_t> requests;
  std::vector<Action> removals;
  for (const Action& a : acked) {
    if (a.kind != ActionKind::kRemove) continue;
    if (ctx_->opt.restrict_chat_after > 0) TD_RETURN_IF_ERROR(CountChatRemoval(a));
    requests.insert(a.owner_id);
    if (on_removals_) removals.push_back(a);
  }
  if (!removals.empty()) TD_RETURN_IF_ERROR(on_removals_(removals));
  for (int64_t r : requests) {
    if (on_removed_) TD_RETURN_IF_ERROR(on_removed_(r));
  }
  return Status::Ok();
}

Status Actions::Ack(Action a, const std::string& via, const std::string& actor) {
  if (a.state != ActionState::kPending) return Status::Ok();  // acknowledged before
  // The action, the content's state and the audit record: one transaction, one sync.
  store::DocumentStore::Changes ch;
  AddAck(a, via, actor, &ch);
  if (auto done = ctx_->stores.docs->Transact(ch); !done.ok()) {
    if (done.status().code() == StatusCode::kFailedPrecondition) return Status::Ok();
    return done.status();
  }
  return AfterAcks({a});
}

Status Actions::DeliveredBatch(const std::vector<store::DocRecord>& items) {
  // Everything delivered while the last batch committed: one transaction, one sync. If any of
  // them was acknowledged meanwhile the condition fails the whole batch, and the outbox records
  // them one by one (Delivered).
  store::DocumentStore::Changes ch;
  std::vector<Action> acked;
  for (const auto& item : items) {
    TD_ASSIGN_OR_RETURN(Action a, ActionFromDoc(item));
    if (a.state != ActionState::kPending) continue;
    AddAck(a, "webhook", "system", &ch);
    acked.push_back(std::move(a));
  }
  if (acked.empty()) return Status::Ok();
  TD_RETURN_IF_ERROR(ctx_->stores.docs->Transact(ch).status());
  return AfterAcks(acked);
}

// Confirmed removals per chat, in a small document per chat (no index over all content); a chat
// that reaches the configured count gets a restrict_chat action (once per chat: its unique key),
// which keeps the request and category of the removal that reached the count.
Status Actions::CountChatRemoval(const Action& a) {
  MutexLock l(&chat_mu_);
  store::DocRecord rec;
  rec.kind = "chat";
  rec.state = "counting";
  rec.ukey = "chat:" + a.chat_id;
  rec.doc = json{{"kind", "chat"},
                 {"chat_id", a.chat_id},
                 {"removed", 0},
                 {"status", "counting"},
                 {"ukey", rec.ukey}}
                .dump();
  TD_ASSIGN_OR_RETURN(auto ids, ctx_->stores.docs->PutDocs({rec}));
  const int64_t id = std::abs(ids.at(0));
  // Other processes sharing the store count this chat's removals too: one at a time.
  TD_ASSIGN_OR_RETURN(auto held, ctx_->LockShared(id));
  TD_ASSIGN_OR_RETURN(auto stored, ctx_->stores.docs->GetDoc(id));
  if (!stored) return DataLoss(fmt::format("chat {}: its count went missing", a.chat_id));
  json c = json::parse(stored->doc, nullptr, false);
  if (c.is_discarded() || !c.is_object() || !c.value("removed", json(0)).is_number_integer()) {
    return DataLoss(fmt::format("chat {}: the stored count is not JSON", a.chat_id));
  }
  const int64_t n = c.value("removed", int64_t{0}) + 1;
  c["removed"] = n;
  stored->doc = c.dump();
  TD_RETURN_IF_ERROR(ctx_->stores.docs->PutDocs({*stored}).status());
  if (n < ctx_->opt.restrict_chat_after) return Status::Ok();
  Action r;
  r.kind = ActionKind::kRestrictChat;
  r.chat_id = a.chat_id;
  r.confirmed_removals = n;
  r.ukey = "restrict:" + a.chat_id;
  // What its statement of reasons is made of: the removal that reached the count.
  r.request_id = a.request_id;
  r.category = a.category;
  r.media = a.media;
  r.content_created_ms = a.content_created_ms;
  return Queue(r).status();
}

Result<json> Actions::Acknowledge(const Principal& who, int64_t action_id) {
  TD_ASSIGN_OR_RETURN(Action known, Load(action_id));
  TD_RETURN_IF_ERROR(Ack(std::move(known), "ack", who.actor()));
  TD_ASSIGN_OR_RETURN(Action a, Load(action_id));
  return json{{"action_id", action_id}, {"status", NameOf(a.state)}, {"kind", NameOf(a.kind)}};
}

Result<json> Actions::List(ActionState state, int64_t after_id, int64_t limit) {
  TD_ASSIGN_OR_RETURN(auto rows,
                      ctx_->stores.docs->FindDocs({.kind = std::string(kActionDoc),
                                                   .state = std::string(NameOf(state)),
                                                   .after_id = after_id,
                                                   .limit = std::clamp<int64_t>(limit, 1, 1000)}));
  json out = json::array();
  for (const auto& rec : rows) {
    TD_ASSIGN_OR_RETURN(Action a, ActionFromDoc(rec));
    json j = ToJson(a);
    for (const char* k : {"ukey", "owner_id", "due_ms", "id", "created_ms"}) j.erase(k);
    j["action_id"] = rec.id;
    out.push_back(std::move(j));
  }
  return json{{"actions", out}, {"next_after_id", rows.empty() ? after_id : rows.back().id}};
}

}  // namespace takedown::service
