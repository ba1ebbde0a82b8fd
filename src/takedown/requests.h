// A removal request's life: intake (a validated notice and its evidence, stored durably), the
// approval policy (a trusted source whose every evidence item is usable is approved without a
// person; anything else waits for a reviewer), the reviewer's decision, the sweep, and the
// confirmation once every removal is acknowledged. Views for requesters (their own requests
// only) and the review queue.
//
//   received -> pending_review | approved -> actioned -> confirmed;  pending_review -> rejected
//
// State changes of one request are serialised by its lock (WorkflowContext::request_locks) and
// each is written with the state it comes from as a condition; nothing holds a lock over more
// than one request. Thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>

#include "intake/notice.h"
#include "takedown/context.h"
#include "takedown/evidence.h"
#include "takedown/id_queue.h"
#include "takedown/model.h"
#include "takedown/profiles.h"
#include "takedown/sweep.h"

namespace takedown::service {

struct SubmitOptions {
  // A retried intake with the same key returns the request stored the first time (the email line
  // uses "mail:" + Message-ID, so a message taken twice files one request).
  std::string idempotency_key;
  // Media that cannot be decoded becomes an unusable item with its problem, instead of refusing
  // the request (email: one bad attachment must not lose the others).
  bool lenient_media = false;
  // Media is hashed on the calling thread (after the request is stored) even when background
  // workers are configured: the email line answers with what each attachment gave.
  bool hash_inline = false;
};

// What intake made of a notice: the problems that refused it, or the request stored.
// A reviewer's choice of the DSA statement category and keywords for an approval.
struct DsaChoice {
  std::string category;
  std::vector<std::string> keywords;
  // The policy ground (model.h kApproveGrounds / kRejectGrounds); "": illegal_content for an
  // approval, other for a rejection.
  std::string ground;
};

struct Submission {
  intake::Problems problems;
  std::optional<Request> request;
};

class Requests {
 public:
  Requests(WorkflowContext* ctx, RequesterProfiles* profiles, Evidence* evidence, Sweeper* sweeper,
           std::function<void()> actions_queued);

  Result<Submission> Submit(const Principal& who, const intake::NoticeDraft& draft,
                            const MediaByItem& media, const SubmitOptions& options);
  // The view requesters and reviewers see: the request with its removals (each removed item:
  // content, chat, time, signal) and how many are pending.
  // A request as `who` may see it: a requester sees its evidence through RequesterView.
  Result<nlohmann::json> View(const Request& r, const Principal& who);
  // Requesters see only their own (another's is NotFound, as if absent).
  Result<Request> Get(const Principal& who, int64_t id);
  Result<nlohmann::json> List(const Principal& who, const std::string& status, int64_t after_id,
                              int64_t limit);
  // Pending requests by priority (highest first), then deadline; hashes and locations only.
  Result<nlohmann::json> ReviewQueue(int64_t limit);
  // dsa: the statement category (and keywords) an approval chooses; required when the request's
  // category ("other") maps to none.
  Result<Request> Decide(const Principal& who, int64_t id, bool approve, const std::string& reason,
                         const DsaChoice& dsa = {});
  // A reviewer claims a request pending review for options.review_claim_s (again: extended), or
  // releases its claim (release). FailedPrecondition while another reviewer's claim is in force,
  // or when the request is not pending review. Audited (request.claimed, request.released).
  Result<Request> Claim(const Principal& who, int64_t id, bool release);
  // The claim in force as {"key_id", "name", "expires_at"}, or null.
  nlohmann::json ClaimView(const Request& r) const;
  // The person who reported it takes the request back (the victims' form): one still waiting for
  // review is closed as rejected with that reason; the bank entries its sweep made are disabled in
  // any state, so its hashes block nothing more. Audited (request.withdrawn). Removals already
  // made stay made.
  Result<Request> Withdraw(int64_t id, const std::string& actor);
  // Confirms a request once none of its removals is pending (called after acknowledgements).
  Status MaybeConfirm(int64_t id);
  // After a crash: requests stored but not hashed or not through the policy, approved but not
  // swept, or actioned with every removal acknowledged are taken up again.
  Status Recover();
  // Requests left behind while the service runs, taken up again: approved and not swept (a sweep
  // held back: Unavailable from a content shard with no live process or no answer in time, an
  // IoError from the store), or received more than min_age_ms ago and not through the approval
  // policy (the store failed after storing it; media still hashing is left to its worker). The
  // workflow calls this every few seconds; until then such a request stays approved, its bank
  // entries live at the upload gate.
  Status Resume(int64_t min_age_ms);
  // With other processes running the workflow (store.workflow shared), what one of them left
  // half done when it died, which no Recover of a live process takes up: media hashing of a
  // request received more than StaleHashingMs() ago that never finished (queued here: hashed
  // twice at worst, its outcome recorded once) and actioned requests whose removals are all
  // acknowledged (confirmed). The workflow calls this every minute in that mode.
  Status TakeUpStranded();
  // Twice the hashing budget and a minute.
  int64_t StaleHashingMs() const;
  // A received request younger than this may be one a live process is filing (Recover, shared).
  static constexpr int64_t kReceivedAgeMs = 30'000;
  // Starts the background hashing of media evidence (options.evidence_hash_workers threads), and
  // stops it (work in progress finishes; what waits is taken up again by Recover at the next
  // start).
  void StartHashing();
  void StopHashing() { hash_queue_.Stop(); }
  // Requests whose media waits to be hashed, or is being hashed.
  size_t HashingBacklog() { return hash_queue_.Size(); }
  // Hashes a stored request's staged media, then puts it through the policy (background workers;
  // tests).
  Status HashEvidence(int64_t id);
  // The same submission again (idempotency key) for a request whose staged media was lost (the
  // service stopped between storing the request and staging its media): the media is staged
  // again and hashed, and the request goes through the policy as if it had just arrived.
  Status RestageLostMedia(int64_t id, const MediaByItem& media, bool inline_hash);

  // Called after a request reaches a final status (confirmed or rejected), so that a channel
  // that answers requesters (the email line) can answer at once. It must only signal.
  void SetClosedListener(std::function<void(int64_t)> fn) TD_EXCLUDES(listener_mu_);

 private:
  Status ApplyPolicy(Request& r);                            // under r's lock
  Status SweepLocked(Request& r, const std::string& actor);  // under r's lock
  Status MaybeConfirmLocked(int64_t id);
  // Staged media hashed from its staged copy: by the background workers, or here when none.
  Status HashAgain(const std::vector<int64_t>& ids);
  // fn for each request in `state` (created before created_to, when given), with its lock held
  // and as stored then; one that moved on meanwhile is passed over.
  Status ForEachIn(RequestState state, std::optional<int64_t> created_to,
                   const std::function<Status(Request&)>& fn);
  Result<bool> RemovalsPending(int64_t id);  // any remove action of the request still pending
  // Writes r (with its audit record) if its stored state is still `from`.
  Status Commit(const Request& r, RequestState from, const std::string& actor,
                const std::string& audit_kind, const nlohmann::json& audit);
  void NotifyClosed(int64_t id) TD_EXCLUDES(listener_mu_);

  WorkflowContext* ctx_;
  RequesterProfiles* profiles_;
  Evidence* evidence_;
  Sweeper* sweeper_;
  std::function<void()> actions_queued_;
  IdQueue hash_queue_;
  MetricsRegistry::CounterMetric* hashed_ok_ = nullptr;
  MetricsRegistry::CounterMetric* hashed_failed_ = nullptr;
  MetricsRegistry::CounterMetric* hashed_over_budget_ = nullptr;
  Mutex listener_mu_;
  std::function<void(int64_t)> closed_listener_ TD_GUARDED_BY(listener_mu_);
};

}  // namespace takedown::service
