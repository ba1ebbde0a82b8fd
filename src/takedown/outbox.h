// A durable outbox: documents of one kind in the store, each a piece of work to hand to
// something outside (the platform's webhook, an SMTP server), delivered until it succeeds.
// Webhook actions and the email line's replies both go through it.
//
//   claim due work -> Handler::Deliver (no lock held) -> delivered: Handler::Delivered records
//   the outcome durably (or, for handlers that batch, a recorder thread records everything
//   delivered meanwhile in one transaction while the workers deliver on: the sync of one
//   commit no longer holds a worker) -> failed: rescheduled with the backoff policy (attempts,
//   last_error, last_attempt_ms, due_ms written to the document) -> after max_attempts: status
//   "failed" and an audit record.
//
// An outbox document has these fields of its own: "status" (pending -> the handler's done state,
// or "failed"), "attempts", "last_error", "last_attempt_ms", "due_ms" (also its due_ms column).
// Nothing is lost across restarts: pending documents stay in the store and are claimed again.
// Claims are leases in the store (DocumentStore::ClaimDocs: the document's due_ms moves to the
// lease's end; SKIP LOCKED on PostgreSQL): however many processes deliver a store's outbox, a
// document is delivered by one at a time, and one claimed by a process that died is due again
// when its lease runs out. A claimed document whose lease is more than half gone before a worker
// takes it is not delivered here (it goes back to the store's next claimer).
//
// Thread-safe. Start() runs `workers` delivery threads; without it, DeliverDue() delivers on the
// calling thread (tests, a clock under the test's control).
#pragma once

#include <cstdint>
#include <deque>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/env.h"
#include "core/metrics.h"
#include "core/mutex.h"
#include "core/status.h"
#include "store/store.h"

namespace takedown::service {

// Retry n (1-based) waits min(max, base * 2^(n-1)) times a uniform jitter in [1-j, 1+j].
struct BackoffPolicy {
  int64_t base_ms = 1000;
  int64_t max_ms = 300'000;
  double jitter = 0.5;
  int64_t DelayMs(int attempts, Env* env) const;
};

struct OutboxOptions {
  std::string kind;  // the documents' kind ("action", "mail_out")
  std::string name;  // metrics label ("webhook", "mail")
  int workers = 4;   // concurrent deliveries (a slow one holds up only itself)
  BackoffPolicy backoff;
  int max_attempts = 0;  // give up after this many failed attempts; 0 = never
  // Due documents claimed per look at the store, at most (and at most four a worker): enough to
  // keep the workers busy, few enough to be delivered well inside their lease.
  size_t claim_batch = 32;
  // How long a claim holds a document: far longer than one delivery (a webhook attempt is
  // bounded by its 2 s connect and 5 s read and write timeouts); a process that dies mid-delivery
  // leaves it to be delivered again (same idempotency key) after this.
  int64_t lease_ms = 120'000;
  // Start() takes over the claims of an earlier run: every pending item due within one lease is
  // due now (a claim a killed process left would otherwise wait out its lease; an item backing
  // off gets its next attempt early). Right only where this process alone delivers the outbox (the
  // SQLite file's lock, or the PostgreSQL workflow lease, says so); false where several do.
  bool reclaim_at_start = true;
  std::string audit_actor = "system";
  std::string give_up_audit_kind;  // audit record when an item is given up ("mail.failed")
  int64_t idle_poll_ms = 200;      // how often an idle worker looks for due work
};

class Outbox {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    // Delivers the item (its stored document, as claimed). OK when it was delivered; an error
    // (its message goes into last_error) to retry later. May find the item no longer needs
    // delivering (done meanwhile): then OK without sending, and Delivered records nothing new.
    virtual Status Deliver(const store::DocRecord& item) = 0;
    // Records that the item was delivered (durably, before returning).
    virtual Status Delivered(const store::DocRecord& item) = 0;
    // Records many deliveries at once, in one transaction (one sync): the workers go on
    // delivering while a batch commits. Handlers that return true from batches() implement it;
    // an error makes the outbox record the batch's items one by one.
    virtual bool batches() const { return false; }
    virtual Status DeliveredBatch(const std::vector<store::DocRecord>& items) {
      (void)items;
      return Unsupported("no batches");
    }
    // The audit payload of an item given up (JSON text).
    virtual std::string GiveUpAudit(const store::DocRecord& item, const std::string& error) = 0;
  };

  Outbox(Env* env, store::DocumentStore* docs, OutboxOptions options, Handler* handler,
         MetricsRegistry* metrics);
  ~Outbox();  // stops the workers; undelivered items stay in the store
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  void Start();  // see OutboxOptions::reclaim_at_start
  void Stop();
  // What Start() does with reclaim_at_start, for an outbox delivered only through DeliverDue
  // rounds (the email line's): pending items due within one lease are due now.
  void TakeOverClaims();
  // New work was queued: idle workers look now instead of at their next poll.
  void Wake();
  // Delivers every item due now, on the calling thread; returns how many were delivered. With
  // stop_at_failure, the first failed delivery ends the round and is returned (a server that is
  // down: the rest wait for the next round).
  Result<int> DeliverDue(bool stop_at_failure = false);

  // Pending items: how many, the oldest one's creation time (for /metrics).
  Result<store::DocCount> Pending() const;

 private:
  // Claims one due item not in flight here (its lease at least half left), or none.
  std::optional<store::DocRecord> Claim() TD_EXCLUDES(mu_);
  void Release(int64_t id) TD_EXCLUDES(mu_);
  enum class Outcome { kDelivered, kRescheduled, kNotRecorded };
  // Delivers one claimed item and records the outcome; *error gets a failed delivery's error.
  Outcome DeliverOne(const store::DocRecord& item, Status* error = nullptr);
  Status Reschedule(const store::DocRecord& item, const std::string& error);
  void Loop();
  void RecordLoop() TD_EXCLUDES(mu_);
  // Records a batch of delivered items (falling back to one by one) and releases their claims.
  void RecordDelivered(const std::vector<store::DocRecord>& items);

  Env* env_;
  store::DocumentStore* docs_;
  OutboxOptions opt_;
  Handler* handler_;
  MetricsRegistry::CounterMetric *delivered_, *failed_attempts_, *given_up_, *record_errors_,
      *lapsed_;

  mutable Mutex mu_;
  CondVar cv_;
  std::deque<store::DocRecord> queue_ TD_GUARDED_BY(mu_);  // claimed from the store, not yet taken
  std::set<int64_t> in_flight_ TD_GUARDED_BY(mu_);         // queued or being delivered
  bool stopping_ TD_GUARDED_BY(mu_) = false;
  bool woken_ TD_GUARDED_BY(mu_) = false;
  std::vector<store::DocRecord> delivered_queue_ TD_GUARDED_BY(mu_);  // waiting to be recorded
  CondVar record_cv_;                                                 // with mu_
  bool recording_stopped_ TD_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
  std::thread recorder_;
};

}  // namespace takedown::service
