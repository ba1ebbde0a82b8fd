// Statements of reasons submitted to the EU's DSA Transparency Database (issue 24 item 3). Off
// unless dsa.database_url is set. Each acknowledged removal or chat restriction queues its
// statement in the same transaction as the acknowledgement, and each upload blocked at the gate in
// the block's transaction (a "dsa_statement" document whose unique key is the action or the
// blocked content item: queued once, whatever retries or races happen), and a submitter sends the
// queued ones to the database's bulk endpoint, up to 100 a call ({"statements": [...]}, Bearer
// token):
//   2xx          -> each statement "submitted", the database's answer for it kept in its document
//   400, 422     -> the batch was refused: each statement "refused" with the answer (not retried:
//                   the same statement would be refused again; the validator should have caught
//                   it, so this is an error in the log and a metric), one audit record
//   other, none  -> retried with backoff (1 s doubling to 5 min), the error kept
// A statement that the project's own validator refuses is never sent: "invalid", with the reason.
// Thread-safe; Start() runs a thread that submits every interval (at once again after a full
// batch); SubmitDue() does one round on the calling thread (tests).
#pragma once

#include <memory>
#include <thread>

#include "core/metrics.h"
#include "core/mutex.h"
#include "takedown/context.h"
#include "takedown/outbox.h"
#include "takedown/statements.h"

namespace takedown::service {

inline constexpr std::string_view kDsaStatementDoc = "dsa_statement";

// The document that queues the statement of removal `action_id` (added to the acknowledgement's
// transaction).
store::DocRecord DsaStatementQueued(int64_t action_id, int64_t now_ms);
// The document that queues the statement of the upload block of `content_row` (added to the
// block's transaction through Service::SetBlockHook; once per blocked content item).
store::DocRecord DsaBlockStatementQueued(int64_t content_row, int64_t now_ms);

class DsaSubmitter {
 public:
  DsaSubmitter(WorkflowContext* ctx, Statements* statements, std::unique_ptr<ActionSink> database);
  ~DsaSubmitter();
  DsaSubmitter(const DsaSubmitter&) = delete;
  DsaSubmitter& operator=(const DsaSubmitter&) = delete;

  struct Round {
    size_t submitted = 0, refused = 0, invalid = 0, retried = 0;
  };
  // One call to the database with the due statements (at most Statements::kBatch).
  Result<Round> SubmitDue();
  void Start();

 private:
  void Loop() TD_EXCLUDES(mu_);
  Status Reschedule(std::vector<store::DocRecord> docs, const std::string& error);
  // The statement a queued document stands for: a removal's or restriction's, or a block's.
  Result<nlohmann::json> StatementOf(const store::DocRecord& queued);

  WorkflowContext* ctx_;
  Statements* statements_;
  std::unique_ptr<ActionSink> database_;
  BackoffPolicy backoff_;
  MetricsRegistry::CounterMetric* submitted_;
  MetricsRegistry::CounterMetric* refused_;
  MetricsRegistry::CounterMetric* invalid_;
  MetricsRegistry::CounterMetric* retried_;
  // How long a round's claim on its statements lasts: far past the database call's timeouts.
  static constexpr int64_t kClaimMs = 120'000;
  Mutex round_mu_;  // one round at a time here
  Mutex mu_;
  CondVar cv_;
  bool stopping_ TD_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace takedown::service
