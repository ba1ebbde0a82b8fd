#include "takedown/outbox.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

namespace takedown::service {

using nlohmann::json;

int64_t BackoffPolicy::DelayMs(int attempts, Env* env) const {
  const double base = std::min<double>(
      static_cast<double>(max_ms),
      static_cast<double>(base_ms) * std::ldexp(1.0, std::clamp(attempts - 1, 0, 30)));
  const double j = jitter > 0 ? env->RandomUniform(1 - jitter, 1 + jitter) : 1.0;
  return std::max<int64_t>(1, static_cast<int64_t>(base * j));
}

Outbox::Outbox(Env* env, store::DocumentStore* docs, OutboxOptions options, Handler* handler,
               MetricsRegistry* metrics)
    : env_(env), docs_(docs), opt_(std::move(options)), handler_(handler) {
  const MetricLabels l = {{"outbox", opt_.name}};
  delivered_ = metrics->Counter("takedown_outbox_deliveries_total", "Outbox deliveries by outcome.",
                                {{"outbox", opt_.name}, {"outcome", "delivered"}});
  failed_attempts_ =
      metrics->Counter("takedown_outbox_deliveries_total", "Outbox deliveries by outcome.",
                       {{"outbox", opt_.name}, {"outcome", "failed"}});
  given_up_ = metrics->Counter("takedown_outbox_deliveries_total", "Outbox deliveries by outcome.",
                               {{"outbox", opt_.name}, {"outcome", "given_up"}});
  lapsed_ = metrics->Counter(
      "takedown_outbox_lapsed_claims_total",
      "Claimed items not delivered because more than half of their lease passed before a worker "
      "was free (they go back to the store; a sign of too few workers or a slow receiver).",
      l);
  record_errors_ = metrics->Counter(
      "takedown_outbox_record_errors_total",
      "Outcomes of deliveries that could not be written to the store (logged; retried).", l);
}

Outbox::~Outbox() { Stop(); }

void Outbox::TakeOverClaims() {
  // A claim "until now" of everything due within a lease: due now, claimed by nobody.
  const int64_t now = env_->NowMs();
  auto back = docs_->ClaimDocs(opt_.kind, "pending", now + opt_.lease_ms, now,
                               std::numeric_limits<int32_t>::max());
  if (!back.ok()) {
    spdlog::warn(
        "outbox {}: cannot take over an earlier run's claims (they wait out their lease): {}",
        opt_.name, back.status().message());
  } else if (!back->empty()) {
    spdlog::info("outbox {}: {} pending item(s) due now (claims of an earlier run taken over)",
                 opt_.name, back->size());
  }
}

void Outbox::Start() {
  if (opt_.reclaim_at_start) TakeOverClaims();
  if (handler_->batches()) recorder_ = std::thread([this] { RecordLoop(); });
  for (int i = 0; i < std::max(1, opt_.workers); ++i) workers_.emplace_back([this] { Loop(); });
}

void Outbox::Stop() {
  {
    MutexLock l(&mu_);
    stopping_ = true;
  }
  cv_.SignalAll();
  for (auto& t : workers_) t.join();
  workers_.clear();
  // The workers are gone: what they delivered is recorded before the recorder stops.
  {
    MutexLock l(&mu_);
    recording_stopped_ = true;
  }
  record_cv_.SignalAll();
  if (recorder_.joinable()) recorder_.join();
}

void Outbox::RecordLoop() {
  for (;;) {
    std::vector<store::DocRecord> batch;
    {
      MutexLock l(&mu_);
      while (delivered_queue_.empty() && !recording_stopped_) record_cv_.Wait(&mu_);
      if (delivered_queue_.empty()) return;  // stopped, nothing left
      batch.swap(delivered_queue_);
    }
    RecordDelivered(batch);
  }
}

void Outbox::RecordDelivered(const std::vector<store::DocRecord>& items) {
  Status st = handler_->DeliveredBatch(items);
  if (!st.ok()) {
    // One by one: an item acknowledged meanwhile, or a store error, concerns that item only.
    for (const auto& item : items) {
      if (Status one = handler_->Delivered(item); !one.ok()) {
        record_errors_->Inc();
        spdlog::error("outbox {}: the outcome of {} {} could not be recorded: {}", opt_.name,
                      opt_.kind, item.id, one.message());
      }
    }
  }
  {
    MutexLock l(&mu_);
    for (const auto& item : items) in_flight_.erase(item.id);
    woken_ = true;  // claims released: what they held back may be due for others
  }
  cv_.SignalAll();
}

void Outbox::Wake() {
  {
    MutexLock l(&mu_);
    woken_ = true;
  }
  cv_.SignalAll();
}

Result<store::DocCount> Outbox::Pending() const { return docs_->CountDocs(opt_.kind, "pending"); }

std::optional<store::DocRecord> Outbox::Claim() {
  MutexLock l(&mu_);
  const int64_t now = env_->NowMs();
  // A claim whose lease is more than half gone is left to lapse: delivering it now could overlap
  // another process's claim of it once the lease runs out.
  while (!queue_.empty() && queue_.front().due_ms - now < opt_.lease_ms / 2) {
    lapsed_->Inc();
    spdlog::warn("outbox {}: {} {} waited past half its claim's lease here; it goes back",
                 opt_.name, opt_.kind, queue_.front().id);
    in_flight_.erase(queue_.front().id);
    queue_.pop_front();
  }
  if (queue_.empty()) {
    // A read first: idle workers look often, and a claim is a write.
    auto n = docs_->CountDue(opt_.kind, "pending", now);
    if (!n.ok() || *n == 0) {
      if (!n.ok())
        spdlog::warn("outbox {}: cannot read due work: {}", opt_.name, n.status().message());
      return std::nullopt;
    }
    // Four items a worker: a batch is delivered well inside its lease (4 x 12 s at worst for a
    // webhook, against half of 120 s), and a claim (a write) serves several deliveries.
    const auto batch =
        std::min<int64_t>(static_cast<int64_t>(opt_.claim_batch), 4 * std::max(1, opt_.workers));
    auto due = docs_->ClaimDocs(opt_.kind, "pending", now, now + opt_.lease_ms, batch);
    if (!due.ok()) {
      spdlog::warn("outbox {}: cannot claim due work: {}", opt_.name, due.status().message());
      return std::nullopt;
    }
    for (auto& d : *due) {
      if (in_flight_.insert(d.id).second) queue_.push_back(std::move(d));
    }
  }
  if (queue_.empty()) return std::nullopt;
  store::DocRecord next = std::move(queue_.front());
  queue_.pop_front();
  return next;
}

void Outbox::Release(int64_t id) {
  MutexLock l(&mu_);
  in_flight_.erase(id);
}

Status Outbox::Reschedule(const store::DocRecord& item, const std::string& error) {
  json d = json::parse(item.doc, nullptr, false);
  if (d.is_discarded() || !d.is_object()) {
    return DataLoss(fmt::format("{} {}: the stored document is not JSON", opt_.kind, item.id));
  }
  const int attempts =
      (d.contains("attempts") && d["attempts"].is_number_integer() ? d["attempts"].get<int>() : 0) +
      1;
  const int64_t now = env_->NowMs();
  d["attempts"] = attempts;
  d["last_error"] = error;
  d["last_attempt_ms"] = now;
  store::DocumentStore::Changes ch;
  store::DocRecord rec = item;
  if (opt_.max_attempts > 0 && attempts >= opt_.max_attempts) {
    d["status"] = "failed";
    rec.state = "failed";
    given_up_->Inc();
    spdlog::warn("outbox {}: {} {} given up after {} attempts: {}", opt_.name, opt_.kind, item.id,
                 attempts, error);
    if (!opt_.give_up_audit_kind.empty()) {
      ch.audits.push_back(
          {opt_.audit_actor, opt_.give_up_audit_kind, handler_->GiveUpAudit(item, error)});
    }
  } else {
    d["due_ms"] = now + opt_.backoff.DelayMs(attempts, env_);
    rec.due_ms = d["due_ms"].get<int64_t>();
    spdlog::warn("outbox {}: {} {} not delivered (attempt {}): {}", opt_.name, opt_.kind, item.id,
                 attempts, error);
  }
  rec.doc = d.dump();
  ch.docs.push_back(std::move(rec));
  ch.expect_states.emplace_back(item.id, "pending");  // acknowledged meanwhile: leave it
  auto done = docs_->Transact(ch);
  if (!done.ok() && done.status().code() == StatusCode::kFailedPrecondition) return Status::Ok();
  return done.status();
}

Outbox::Outcome Outbox::DeliverOne(const store::DocRecord& item, Status* error) {
  Status sent = handler_->Deliver(item);
  if (error != nullptr) *error = sent;
  Status recorded;
  if (sent.ok()) {
    delivered_->Inc();
    recorded = handler_->Delivered(item);
  } else {
    failed_attempts_->Inc();
    recorded = Reschedule(item, sent.message());
  }
  if (!recorded.ok()) {
    // The item stays pending and is delivered again (under the same idempotency key): never
    // lost, never silent.
    record_errors_->Inc();
    spdlog::error("outbox {}: the outcome of {} {} could not be recorded: {}", opt_.name, opt_.kind,
                  item.id, recorded.message());
  }
  if (!recorded.ok()) return Outcome::kNotRecorded;
  return sent.ok() ? Outcome::kDelivered : Outcome::kRescheduled;
}

Result<int> Outbox::DeliverDue(bool stop_at_failure) {
  int delivered = 0;
  // One claim at a time: a round that stops at a failure leaves the rest unclaimed (due now).
  // At most what was due when the round began: work queued meanwhile waits for the next round.
  TD_ASSIGN_OR_RETURN(const int64_t due_now, docs_->CountDue(opt_.kind, "pending", env_->NowMs()));
  for (int64_t i = 0; i < due_now; ++i) {
    const int64_t now = env_->NowMs();
    TD_ASSIGN_OR_RETURN(auto due,
                        docs_->ClaimDocs(opt_.kind, "pending", now, now + opt_.lease_ms, 1));
    if (due.empty()) break;
    const store::DocRecord& d = due.front();
    {
      MutexLock l(&mu_);
      if (!in_flight_.insert(d.id).second) continue;  // a worker's lapsed claim, still here
    }
    Status error;
    const Outcome out = DeliverOne(d, &error);
    Release(d.id);
    delivered += out == Outcome::kDelivered ? 1 : 0;
    if (stop_at_failure && !error.ok()) return error;
  }
  return delivered;
}

void Outbox::Loop() {
  for (;;) {
    {
      MutexLock l(&mu_);
      if (stopping_) return;
    }
    auto item = Claim();
    if (!item) {
      MutexLock l(&mu_);
      if (stopping_) return;
      if (!woken_) cv_.WaitFor(&mu_, std::chrono::milliseconds(opt_.idle_poll_ms));
      woken_ = false;
      continue;
    }
    if (handler_->batches()) {
      // Delivered items are recorded by the recorder thread, which releases their claims.
      Status sent = handler_->Deliver(*item);
      if (sent.ok()) {
        delivered_->Inc();
        {
          MutexLock l(&mu_);
          delivered_queue_.push_back(std::move(*item));
        }
        record_cv_.Signal();
        continue;
      }
      failed_attempts_->Inc();
      Status rescheduled = Reschedule(*item, sent.message());
      Release(item->id);
      if (!rescheduled.ok()) {
        record_errors_->Inc();
        spdlog::error("outbox {}: the failure of {} {} could not be recorded: {}", opt_.name,
                      opt_.kind, item->id, rescheduled.message());
        MutexLock l(&mu_);
        if (!stopping_) cv_.WaitFor(&mu_, std::chrono::milliseconds(opt_.idle_poll_ms));
      }
      continue;
    }
    const Outcome out = DeliverOne(*item);
    Release(item->id);
    if (out == Outcome::kNotRecorded) {
      // A failing store must not become a tight loop: wait before the next claim.
      MutexLock l(&mu_);
      if (!stopping_) cv_.WaitFor(&mu_, std::chrono::milliseconds(opt_.idle_poll_ms));
    }
  }
}

}  // namespace takedown::service
