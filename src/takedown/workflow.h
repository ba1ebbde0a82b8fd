// The takedown workflow: a removal request, from intake to the removal of every copy, confirmed
// back to the requester, explained to each uploader, open to appeal, counted in reports.
//
//   intake (requester) -> policy: trusted source and usable evidence -> approved automatically,
//   otherwise the review queue (reviewer decides, with a reason) -> sweep: the evidence's hashes
//   go into the bank of the request's category (the upload gate blocks new copies from then on)
//   and every matching item of the content index becomes a remove action -> the outbox delivers
//   actions to the platform (signed webhooks, retried with backoff and jitter, an idempotency
//   key each) -> the platform's 2xx or acknowledgement marks the content removed -> when every
//   removal of a request is acknowledged, the request is confirmed.
//
// Request status: received -> pending_review | approved -> actioned -> confirmed; or rejected.
// Documents (requests, actions, appeals, requester profiles) live in the store as JSON with a
// few indexed columns; every change is durable and audited before the call returns. Knows no
// HTTP: webhooks go through an ActionSink. Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "takedown/service.h"

namespace takedown::service {

using nlohmann::json;

// Delivers one action to the platform: POSTs `body` with `headers`; returns the HTTP status, or
// an error when nothing came back (connection refused, timeout).
class ActionSink {
 public:
  virtual ~ActionSink() = default;
  virtual Result<int> Deliver(const std::string& body, const std::vector<std::pair<std::string, std::string>>& headers) = 0;
};

struct WorkflowOptions {
  std::string webhook_secret;        // HMAC-SHA256 key for X-Takedown-Signature; "" = unsigned
  int delivery_workers = 4;          // concurrent deliveries (a slow one holds up only itself)
  int retry_base_ms = 1000;          // first retry after ~1 s, doubling, with +-50% jitter
  int retry_max_ms = 300000;         // backoff cap: 5 min
  int restrict_chat_after = 0;       // confirmed removals in one chat that restrict it; 0 = never
  int min_quality = 50;              // PDQ quality usable as evidence (PDQ.md)
  int appeal_window_days = 183;      // DSA Art. 20: at least six months
  // Media evidence kept for reviewers: 0 = not kept (hashed, then dropped). Otherwise encrypted
  // with evidence_key (32 bytes, libsodium secretbox) and deleted when the period ends.
  int64_t evidence_retention_s = 0;
  std::string evidence_key;
  int retention_sweep_s = 60;        // how often expired evidence is deleted
};

struct CreateRequestOptions {
  // A retried intake with the same key returns the request stored the first time (the email
  // line uses "mail:" + Message-ID, so a message taken twice files one request).
  std::string idempotency_key;
  // Media that cannot be decoded becomes an unusable item with its problem, instead of refusing
  // the request (email: one bad attachment must not lose the others).
  bool lenient_media = false;
};

// A workflow document as the store keeps it: the JSON and the columns it is found by, taken
// from its id, owner_id, status, due_ms and ukey fields.
store::DocRecord DocumentRecord(const std::string& kind, const json& doc);

class Workflow {
 public:
  // sink may be null: actions then wait for the platform's acknowledgement call (it can poll
  // GET /v1/actions).
  Workflow(Service* svc, std::unique_ptr<ActionSink> sink, WorkflowOptions options);
  ~Workflow();  // stops the delivery threads; undelivered actions stay in the store
  Workflow(const Workflow&) = delete;
  Workflow& operator=(const Workflow&) = delete;

  // Takes up requests an earlier run left half-done (stored but not through the policy, approved
  // but not swept, all removals acknowledged but not confirmed), then starts delivering due
  // actions (also those left by an earlier run).
  void Start();

  // Requester profiles (admin): source type, trust, deadline.
  //   {"source_type": "authority_order|trusted_flagger|hotline|victim|notice", "trusted": bool,
  //    "deadline_hours": N (0: the source type's default), "name": "..."}
  Result<json> SetRequesterProfile(int64_t key_id, const json& profile, const Principal& who);
  Result<json> GetRequesterProfile(int64_t key_id);
  // Every profile, by key id (paged: key ids after after_key_id): who may send what, by email too.
  Result<json> ListRequesterProfiles(int64_t after_key_id, int64_t limit);

  // Intake: validates (every bad or missing field named), hashes media evidence and drops the
  // bytes, resolves locations through the content index, stores the request durably, applies
  // the approval policy (and sweeps when approved). Returns the request's view.
  // `media`: decoded media bytes by evidence index (the HTTP layer decodes evidence[i].media).
  Result<json> CreateRequest(const Principal& who, const json& body,
                             const std::map<size_t, std::vector<uint8_t>>& media = {}, const CreateRequestOptions& options = {});
  // A request's view with its confirmation (each removed item: content, chat, time, signal).
  // Requesters see only their own (another's is NotFound, as if absent).
  Result<json> GetRequest(const Principal& who, int64_t id);
  Result<json> ListRequests(const Principal& who, const std::string& status, int64_t after_id, int64_t limit);
  // The review queue: pending requests by priority (highest first), then deadline.
  Result<json> ReviewQueue(int64_t limit);
  Result<json> Decide(const Principal& who, int64_t request_id, bool approve, const std::string& reason);

  // Actions. Ack is the platform's explicit acknowledgement (same effect as a 2xx webhook).
  Result<json> Acknowledge(const Principal& who, int64_t action_id);
  Result<json> ListActions(const std::string& state, int64_t after_id, int64_t limit);
  // DSA Art. 17 statement of reasons for a removal, in the shape of the EU DSA Transparency
  // Database API; Statements exports those of removals acknowledged in [from_ms, to_ms).
  Result<json> Statement(int64_t action_id);
  Result<json> Statements(int64_t from_ms, int64_t to_ms);

  // Appeals (platform, for the uploader) and their decision (reviewer).
  Result<json> FileAppeal(const Principal& who, const json& body);
  Result<json> ListAppeals(const std::string& status, int64_t limit);
  Result<json> DecideAppeal(const Principal& who, int64_t appeal_id, const json& body);

  // A reviewer's look at a request's media evidence item (kept only with evidence retention):
  // a blurred greyscale JPEG, or with reveal the clear picture; every look is audited.
  Result<std::vector<uint8_t>> Preview(const Principal& who, int64_t request_id, int item, bool reveal);
  // Deletes evidence whose retention period has ended (the retention thread calls it); returns
  // how many items went.
  Result<int64_t> PurgeExpiredEvidence();

  // Transparency report over requests received in [from_ms, to_ms).
  Result<json> Report(int64_t from_ms, int64_t to_ms);
  static std::string ReportCsv(const json& report);

  // Called after a request reaches a final status (confirmed or rejected), so that a channel that
  // answers requesters (the email line) can answer at once. It may run under the workflow's lock:
  // it must only signal (never call back into the workflow) and return.
  void SetClosedListener(std::function<void(int64_t request_id)> fn);

  // Delivers every due action now, on the calling thread (tests; the workers do this normally).
  void DeliverDueNow();

 private:
  Result<json> LoadDoc(int64_t id, const std::string& kind);
  Status SaveDoc(int64_t id, const std::string& kind, const json& doc);
  Result<json> ProfileOf(int64_t key_id);
  Result<json> View(const json& request);
  Status Sweep(json& request, const std::string& actor);  // under mu_
  Status ApplyPolicy(json& request);                      // under mu_
  Status Recover();
  Status AckLocked(int64_t action_id, const std::string& via, const std::string& actor);
  Status MaybeConfirm(int64_t request_id);
  Result<int64_t> QueueAction(json action);  // returns the id (existing one for a known key)
  void DeliveryLoop();
  void RetentionLoop();
  bool DeliverOne(int64_t action_id);  // false when it failed and was rescheduled
  std::string Sign(const std::string& ts, const std::string& body) const;

  Service* svc_;
  store::Store* store_;
  std::unique_ptr<ActionSink> sink_;
  WorkflowOptions opt_;
  std::mutex mu_;  // serialises read-modify-write of documents
  std::mutex q_mu_;
  std::condition_variable q_cv_;
  std::set<int64_t> in_flight_;  // GUARDED_BY(q_mu_)
  bool stopping_ = false;        // GUARDED_BY(q_mu_)
  std::vector<std::thread> workers_;
  std::thread retention_;
  std::mutex listener_mu_;
  std::function<void(int64_t)> closed_listener_;  // GUARDED_BY(listener_mu_)
  void NotifyClosed(int64_t request_id);
};

}  // namespace takedown::service
