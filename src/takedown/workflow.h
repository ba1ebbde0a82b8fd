// The takedown workflow: a removal request, from intake to the removal of every copy, confirmed
// back to the requester, explained to each uploader, open to appeal, counted in reports.
//
//   intake (requests.h) -> policy: trusted source and usable evidence -> approved automatically,
//   otherwise the review queue (a reviewer decides, with a reason) -> sweep (sweep.h): the
//   evidence's signals go into the bank of the request's category and every matching item of
//   the content index becomes a remove action -> the outbox (outbox.h, actions.h) delivers
//   actions to the platform -> the platform's 2xx or acknowledgement marks the content removed ->
//   when every removal of a request is acknowledged, the request is confirmed. Statements of
//   reasons (statements.h), appeals (appeals.h), evidence for reviewers (evidence.h), requester
//   profiles (profiles.h), the transparency report (report.h).
//
// This facade wires the pieces and speaks JSON to the HTTP edge; each piece is typed inside. It
// knows no HTTP: webhooks go through an ActionSink. Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "core/env.h"
#include "core/metrics.h"
#include "core/mutex.h"
#include "core/status.h"
#include "intake/notice.h"
#include "takedown/actions.h"
#include "takedown/appeals.h"
#include "takedown/context.h"
#include "takedown/disclosures.h"
#include "takedown/dsa_submit.h"
#include "takedown/evidence.h"
#include "takedown/holds.h"
#include "takedown/profiles.h"
#include "takedown/report.h"
#include "takedown/requests.h"
#include "takedown/service.h"
#include "takedown/spread.h"
#include "takedown/statements.h"
#include "takedown/sweep.h"
#include "takedown/uploaders.h"
#include "takedown/victim_cases.h"

namespace takedown::service {

using nlohmann::json;

class Workflow {
 public:
  // sink may be null: actions then wait for the platform's acknowledgement call (it can poll
  // GET /v1/actions). env and metrics default to the real environment and a private registry.
  Workflow(Service* svc, WorkflowStores stores, std::unique_ptr<ActionSink> sink,
           WorkflowOptions options, Env* env = nullptr, MetricsRegistry* metrics = nullptr);
  ~Workflow();  // stops the delivery threads; undelivered actions stay in the store
  Workflow(const Workflow&) = delete;
  Workflow& operator=(const Workflow&) = delete;

  // Takes up requests an earlier run left half-done, then starts delivering due actions (also
  // those left by an earlier run) and deleting evidence whose retention ended.
  void Start();
  // The content index split between processes (shards.h): sweeps ask every shard. Call before
  // Start(); shards must outlive the workflow.
  void SetContentShards(ContentShards* shards) { ctx_.shards = shards; }
  // Every kResumeEvery the workflow takes up requests left behind (Requests::Resume): sweeps held
  // back (a content shard with no live process, the store failing), and requests received more
  // than kResumeAfter ago that never went through the approval policy.
  static constexpr std::chrono::seconds kResumeEvery{5};
  static constexpr std::chrono::milliseconds kResumeAfter{Requests::kReceivedAgeMs};

  // Requester profiles (admin); see profiles.h.
  Result<json> SetRequesterProfile(int64_t key_id, const json& profile, const Principal& who);
  Result<json> GetRequesterProfile(int64_t key_id);
  Result<json> ListRequesterProfiles(int64_t after_key_id, int64_t limit);
  RequesterProfiles& profiles() { return *profiles_; }

  // Intake from the API: validates (every bad or missing field named in one InvalidArgument),
  // hashes media evidence and drops the bytes, resolves locations through the content index,
  // stores the request durably, applies the approval policy (and sweeps when approved). Returns
  // the request's view. `media`: decoded media bytes by evidence index.
  Result<json> CreateRequest(const Principal& who, const json& body, const MediaByItem& media = {},
                             const SubmitOptions& options = {});
  // Intake from any channel, with the problems as data (the email line).
  Result<Submission> Submit(const Principal& who, const intake::NoticeDraft& draft,
                            const MediaByItem& media, const SubmitOptions& options);
  Result<json> GetRequest(const Principal& who, int64_t id);
  Result<json> ListRequests(const Principal& who, const std::string& status, int64_t after_id,
                            int64_t limit);
  Result<json> ReviewQueue(int64_t limit);
  // A reviewer claims a request pending review (or releases its claim): {"request_id", "claim"}.
  Result<json> ClaimRequest(const Principal& who, int64_t request_id, bool release);
  // A confirmed request's confirmation for its requester: what was removed, where and when
  // (FailedPrecondition before it is confirmed). ConfirmationCsv: one line per removal.
  Result<json> Confirmation(const Principal& who, int64_t request_id);
  static std::string ConfirmationCsv(const json& confirmation);
  Result<json> Decide(const Principal& who, int64_t request_id, bool approve,
                      const std::string& reason, const DsaChoice& dsa = {});

  // Actions. Ack is the platform's explicit acknowledgement (same effect as a 2xx webhook).
  Result<json> Acknowledge(const Principal& who, int64_t action_id);
  Result<json> ListActions(const std::string& state, int64_t after_id, int64_t limit);
  // DSA Art. 17 statement of reasons for a removal or a chat restriction (with, under
  // takedown.database_submission, where it stands with the DSA Transparency Database when
  // submission is on); Statements exports those of removals and restrictions acknowledged in
  // [from_ms, to_ms) and of uploads blocked in it.
  Result<json> Statement(int64_t action_id);
  // Where a request's content came from and how it spread (spread.h): reviewers and admins.
  Result<json> Spread(const Principal& who, int64_t request_id);
  Result<json> EntrySpread(const Principal& who, int64_t entry_id);
  // Investigators' disclosure requests and their signed packages (disclosures.h).
  Result<json> FileDisclosure(const Principal& who, const json& body,
                              const std::string& idempotency_key) {
    return disclosures_->File(who, body, idempotency_key);
  }
  Result<json> GetDisclosure(const Principal& who, int64_t id, bool preview) {
    return disclosures_->Get(who, id, preview);
  }
  Result<json> ListDisclosures(const Principal& who, const std::string& status, int64_t after_id,
                               int64_t limit) {
    return disclosures_->List(who, status, after_id, limit);
  }
  Result<json> DecideDisclosure(const Principal& who, int64_t id, const json& body) {
    return disclosures_->Decide(who, id, body);
  }
  Result<std::string> DisclosurePackage(const Principal& who, int64_t id) {
    return disclosures_->Package(who, id);
  }
  // Legal holds on a spread's records, with their preserve actions (holds.h).
  Result<json> PlaceHold(const Principal& who, const json& body,
                         const std::string& idempotency_key) {
    return holds_->Place(who, body, idempotency_key);
  }
  Result<json> ExtendHold(const Principal& who, int64_t id, const json& body) {
    return holds_->Extend(who, id, body);
  }
  Result<json> GetHold(const Principal& who, int64_t id) { return holds_->Get(who, id); }
  Result<json> ListHolds(const Principal& who, int64_t after_id, int64_t limit) {
    return holds_->List(who, after_id, limit);
  }
  // The victims' form (victim_cases.h): no key; `address` is the client's.
  VictimCases& victims() { return *victims_; }
  // The key packages are signed with ({"alg", "key_id", "public_key"}), or null without one.
  const PackageSigner* package_signer() const { return signer_.get(); }
  // What /.well-known/takedown-package-key publishes: this process's key, and under "keys" every
  // key a process of this store has signed packages with (each recorded in the store when a
  // workflow first starts with it), oldest first, so that a package made at any process, or
  // before a key was replaced, is checked against its own key (its manifest's key_id). Read from
  // the store by one caller at most every 10 s (the others answer from the last read).
  // FailedPrecondition without a key.
  Result<json> PackageKeys() TD_EXCLUDES(keys_mu_);

  // The statement of an upload blocked at the gate (CheckResult::block_id).
  Result<json> BlockStatement(int64_t block_id);
  Result<json> Statements(int64_t from_ms, int64_t to_ms, bool database_batches = false);

  // Statements of reasons sent to the DSA Transparency Database (dsa_submit.h): `database` POSTs
  // to its bulk endpoint. Needs options.dsa_submission; call before Start().
  void EnableDsaSubmission(std::unique_ptr<ActionSink> database);
  // One round of submission now, on the calling thread (tests).
  Result<DsaSubmitter::Round> SubmitStatementsNow();

  // Appeals (platform, for the uploader) and their decision (reviewer).
  Result<json> FileAppeal(const Principal& who, const json& body);
  Result<json> ListAppeals(const std::string& status, int64_t limit);
  Result<json> DecideAppeal(const Principal& who, int64_t appeal_id, const json& body);

  // A reviewer's look at a request's media evidence item (kept only with evidence retention);
  // for a video, one of its keyframes (frame 0..Evidence::kPreviewKeyframes-1).
  Result<Evidence::Look> Preview(const Principal& who, int64_t request_id, int item, bool reveal,
                                 const std::string& reason, int frame = 0);
  Result<int64_t> PurgeExpiredEvidence();

  // Transparency report over requests received in [from_ms, to_ms).
  Result<json> Report(int64_t from_ms, int64_t to_ms);
  static std::string ReportCsv(const json& report) { return TransparencyReport::Csv(report); }

  // Called after a request reaches a final status (confirmed or rejected); it must only signal
  // (never call back into the workflow) and return.
  void SetClosedListener(std::function<void(int64_t request_id)> fn);

  // Delivers every due action now, on the calling thread (tests; the workers do this normally).
  void DeliverDueNow();
  // Takes up requests left behind now, as the workflow does every few seconds, and (shared)
  // what other processes left half done, as it does every minute (tests).
  Status ResumeNow();

  Env* env() const { return ctx_.env; }
  MetricsRegistry* metrics() const { return ctx_.metrics; }

 private:
  void RetentionLoop() TD_EXCLUDES(stop_mu_);
  void ResumeLoop() TD_EXCLUDES(stop_mu_);
  // Strikes of blocks at the gate that no hook was told of (made while no process ran the
  // workflow): counted at Start from the last mark, which the running workflow moves on.
  Status CountMissedBlocks();
  Status MarkBlocksCounted(int64_t to_ms);
  Result<std::optional<store::DocRecord>> BlocksCountedMark();
  void RegisterMetrics();

  std::unique_ptr<MetricsRegistry> own_metrics_;
  WorkflowContext ctx_;
  std::unique_ptr<RequesterProfiles> profiles_;
  std::unique_ptr<Evidence> evidence_;
  std::unique_ptr<Sweeper> sweeper_;
  std::unique_ptr<service::Statements> statements_;
  std::unique_ptr<Uploaders> uploaders_;
  std::unique_ptr<service::Spread> spread_;
  Status AddSubmission(json* st, const std::string& queue_key);
  std::unique_ptr<Requests> requests_;
  std::unique_ptr<Actions> actions_;
  std::unique_ptr<Appeals> appeals_;
  std::unique_ptr<TransparencyReport> report_;
  std::unique_ptr<PackageSigner> signer_;  // null without packages.signing_key_file
  // Records signer_'s public key in the store (once per key; audited when new) and warns when
  // the store knows other keys.
  void RecordPackageKey();
  // Every key recorded in the store, oldest first (at most 1,000), each {"alg", "key_id",
  // "public_key", "first_used_ms"}.
  Result<std::vector<json>> RecordedPackageKeys();
  Mutex keys_mu_;
  json keys_ TD_GUARDED_BY(keys_mu_);
  int64_t keys_read_ms_ TD_GUARDED_BY(keys_mu_) = -1;
  std::unique_ptr<Disclosures> disclosures_;
  std::unique_ptr<Holds> holds_;
  std::unique_ptr<VictimCases> victims_;
  std::unique_ptr<DsaSubmitter> dsa_;  // null unless submission is on
  Mutex stop_mu_;
  CondVar stop_cv_;
  bool stopping_ TD_GUARDED_BY(stop_mu_) = false;
  std::thread retention_;
  std::thread resume_;
};

}  // namespace takedown::service
