// What every piece of the workflow shares: the environment, the engine (Service: banks, the
// content index, media hashing), the narrow stores the workflow may use, its options, the
// metrics registry, and the per-request locks. Built once by the Workflow facade and handed to
// each piece by pointer; it outlives them all.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "core/env.h"
#include "core/metrics.h"
#include "core/mutex.h"
#include "store/store.h"
#include "takedown/service.h"

namespace takedown::service {

// Delivers one action to the platform: POSTs `body` with `headers`; returns the HTTP status, or
// an error when nothing came back (connection refused, timeout).
class ActionSink {
 public:
  virtual ~ActionSink() = default;
  virtual Result<int> Deliver(const std::string& body,
                              const std::vector<std::pair<std::string, std::string>>& headers) = 0;
  // The same POST, with the answer's body (at most kMaxAnswerBytes kept) for callers that keep
  // what the receiver said (the DSA Transparency Database's answer). Sinks that cannot read
  // answers return an empty body.
  struct Answer {
    int status = 0;
    std::string body;
  };
  static constexpr size_t kMaxAnswerBytes = 1 << 20;
  virtual Result<Answer> Exchange(const std::string& body,
                                  const std::vector<std::pair<std::string, std::string>>& headers) {
    auto s = Deliver(body, headers);
    if (!s.ok()) return s.status();
    return Answer{*s, ""};
  }
};

// The victims' form's bounds (victim_cases.h).
struct ReportOptions {
  int pow_bits = 16;  // leading zero bits of SHA-256(challenge ":" nonce); 0 = no proof of work
  int challenge_ttl_s = 600;
  int cases_per_hour_per_address = 10;  // filings and additions from one client address
  int cases_per_hour = 500;             // filings and additions from all addresses together
  int pin_failures_per_case = 5;        // wrong PINs for one case number in an hour
  int pin_failures_per_address = 20;    // wrong PINs (or unknown cases) from one address in an hour
  int max_items = 50;                   // hashed pictures and videos in one case, all together
  int max_locations = 20;               // where it was seen, per filing
  // Recovery of a case by a link sent to the case's email address (needs an SMTP sender, the
  // mail.* settings): the page's public address the link starts with ("" = no recovery by email),
  // how long a link works, and how many links one case may be sent in a day.
  std::string public_url;
  int recovery_link_ttl_s = 3600;
  int recovery_links_per_case_per_day = 3;
};

struct WorkflowOptions {
  std::string webhook_secret;           // HMAC-SHA256 key for X-Takedown-Signature; "" = unsigned
  int delivery_workers = 4;             // concurrent deliveries (a slow one holds up only itself)
  int64_t delivery_claim_ms = 120'000;  // a delivery's claim on its action (the outbox's lease)
  int retry_base_ms = 1000;             // first retry after ~1 s, doubling, with +-50% jitter
  int retry_max_ms = 300000;            // backoff cap: 5 min
  int restrict_chat_after = 0;  // confirmed removals in one chat that restrict it; 0 = never
  // Repeat uploaders (uploaders.h): "CATEGORY=N:MEASURE,...; ..." ("" = never), counting the
  // uploads removed or blocked within the window.
  std::string repeat_uploader_policy;
  int repeat_uploader_window_days = 90;
  int min_quality = 50;          // PDQ quality usable as evidence (PDQ.md)
  int appeal_window_days = 183;  // DSA Art. 20: at least six months
  int64_t review_claim_s = 900;  // how long a reviewer's claim on a request lasts (a lease)
  // Clear looks at evidence (reveals) each reviewer may take in any hour; 0 = none at all.
  int reveals_per_hour = 20;
  // Media evidence kept for reviewers: 0 = not kept (hashed, then dropped). Otherwise encrypted
  // with evidence_key (32 bytes, libsodium secretbox) and deleted when the period ends.
  int64_t evidence_retention_s = 0;
  std::string evidence_key;
  int retention_sweep_s = 60;  // how often expired evidence is deleted
  // Media evidence is hashed after its request is stored, from a staged copy encrypted with
  // evidence_key (without a key: before the request is stored, on the submitting thread):
  // 0 workers = on the submitting thread; N = by N background threads, the submission answering
  // at once with the items "hashing". A request's hashing stops at budget_ms (items left get a
  // problem); staged media not kept for reviewers is deleted once hashed, or after staging_s.
  int evidence_hash_workers = 0;
  int64_t evidence_hash_budget_ms = 120000;
  int64_t evidence_staging_s = 7 * 86400;
  // Where the platform's removals take effect, for statements of reasons whose request names no
  // scope: EU/EEA country codes ("DE FR"), or "EU" for all of the EU and EEA; "" none stated.
  std::string territorial_scope;
  // Statements of reasons submitted to the DSA Transparency Database (dsa_submit.h): queued with
  // each acknowledged removal when on, sent in batches of up to 100.
  bool dsa_submission = false;
  // Other processes run this store's workflow at the same time (store.workflow shared): nothing
  // another process may be delivering is taken over at start; claims lapse by their leases.
  bool shared = false;
  std::string dsa_database_token;          // the database's API token (Bearer); never logged
  int64_t dsa_submit_interval_ms = 10000;  // how often queued statements are sent
  // The Ed25519 seed (32 bytes) signing investigators' packages (package.h); "" = none made.
  std::string package_signing_seed;
  // The victims' form's bounds (victim_cases.h).
  ReportOptions report;
};

// The stores the workflow may use (never API keys or banks directly: those go through Service).
struct WorkflowStores {
  WorkflowStores(store::Store* s)  // NOLINT(google-explicit-constructor): all four in one
      : docs(s), content(s), evidence(s), audit(s) {}
  WorkflowStores(store::DocumentStore* d, store::ContentStore* c, store::EvidenceStore* e,
                 store::AuditLog* a)
      : docs(d), content(c), evidence(e), audit(a) {}
  store::DocumentStore* docs;
  store::ContentStore* content;
  store::EvidenceStore* evidence;
  store::AuditLog* audit;
};

// Serialises the state changes of one request (or one appeal, hold or disclosure): between this
// process's threads a fixed table of mutexes, an id taking the one it hashes to; where other
// processes run the workflow on the store too (store.workflow shared), also between processes:
// the store's lock on the document (DocumentStore::LockDoc), taken after the mutex, so a process
// waits for it on one thread at most per mutex. Two ids may share a mutex; no code holds two.
class LockTable {
 public:
  // docs: the store to lock documents in, or null where this process runs the workflow alone.
  explicit LockTable(store::DocumentStore* docs) : docs_(docs) {}

  // Holds both until destroyed (the store's lock is given back first).
  class Held {
   public:
    Held(Held&& o) noexcept : mu_(std::exchange(o.mu_, nullptr)), doc_(std::move(o.doc_)) {}
    Held& operator=(Held&&) = delete;
    Held(const Held&) = delete;
    ~Held() TD_NO_THREAD_SAFETY_ANALYSIS {
      doc_.reset();
      if (mu_ != nullptr) mu_->Unlock();
    }

   private:
    friend class LockTable;
    Held(Mutex* mu, std::unique_ptr<store::DocumentStore::DocLock> doc)
        : mu_(mu), doc_(std::move(doc)) {}
    Mutex* mu_;
    std::unique_ptr<store::DocumentStore::DocLock> doc_;
  };

  // Waits for the id's turn; an error when the store could not lock it (its mutex is not kept).
  Result<Held> Lock(int64_t id) {
    TD_ASSIGN_OR_RETURN(auto held, Take(id, /*wait=*/true));
    return std::move(*held);
  }
  // As Lock, but passes over an id another process holds at this moment (nullopt): a scan of many
  // documents does not wait on one another process is moving on. This process's own holder is
  // waited for (its mutex).
  Result<std::optional<Held>> TryLock(int64_t id) { return Take(id, /*wait=*/false); }

 private:
  // The id's mutex, then the store's lock (waited for, or only tried): nullopt only when tried and
  // another process holds it.
  Result<std::optional<Held>> Take(int64_t id, bool wait) TD_NO_THREAD_SAFETY_ANALYSIS {
    Mutex* mu = &mu_[static_cast<uint64_t>(id) % mu_.size()];
    mu->Lock();
    if (docs_ == nullptr) return std::optional<Held>(Held(mu, nullptr));
    using DocLock = std::unique_ptr<store::DocumentStore::DocLock>;
    auto take = [&]() -> Result<std::optional<DocLock>> {
      if (!wait) return docs_->TryLockDoc(id);
      TD_ASSIGN_OR_RETURN(DocLock l, docs_->LockDoc(id));
      return std::optional<DocLock>(std::move(l));
    };
    auto doc = take();
    if (!doc.ok() || !doc->has_value()) {
      mu->Unlock();
      if (!doc.ok()) return doc.status();
      return std::optional<Held>();
    }
    return std::optional<Held>(Held(mu, std::move(**doc)));
  }

  store::DocumentStore* docs_;
  std::array<Mutex, 64> mu_;
};

// The store's locks that name no document (DocumentStore::LockDoc), one for each kind of state
// changed as a whole by one process at a time (store.workflow shared): every uploader's strikes,
// every victim's case, the mailboxes' reading, the making of a category's bank, the reviewers'
// budgets of clear looks at evidence.
inline constexpr int64_t kUploadersLock = -1, kVictimCasesLock = -2, kMailboxesLock = -3,
                         kCategoryBankLock = -4, kRevealBudgetLock = -5;
// (-6 is Service's kImportLock.)

class ContentShards;

struct WorkflowContext {
  Env* env;
  Service* svc;
  WorkflowStores stores;
  WorkflowOptions opt;
  MetricsRegistry* metrics;
  // A request's status, decision, sweep and confirmation; an appeal's, a hold's, a disclosure's.
  LockTable request_locks{opt.shared ? stores.docs : nullptr};
  // The content index split between processes (shards.h): sweeps ask every shard. Null: this
  // process's content index is whole.
  ContentShards* shards = nullptr;

  int64_t Now() const { return env->NowMs(); }
  // The store's lock on a document or on a whole kind (kUploadersLock ...) where other processes
  // run this workflow too (opt.shared); none where this process runs it alone (its mutexes do).
  Result<std::unique_ptr<store::DocumentStore::DocLock>> LockShared(int64_t id) const {
    if (!opt.shared) return std::unique_ptr<store::DocumentStore::DocLock>();
    return stores.docs->LockDoc(id);
  }
  // Appends an audit record (a change already made durable).
  Status Audit(const std::string& actor, const std::string& kind,
               const nlohmann::json& payload) const {
    return stores.audit->AppendAudit(actor, kind, payload.dump()).status();
  }
};

}  // namespace takedown::service
