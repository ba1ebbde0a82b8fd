// Legal holds (issue 25 item 3): removal must not destroy what an investigation needs. A hold on
// a request's or a disclosure's spread keeps its records past their normal retention until a set
// time (extendable): the request's kept evidence is not purged before it, and the platform is
// sent a `preserve` action (signed, retried, idempotent like every action) naming the content
// ids and the accounts (uploader ids) to keep, with the time, at each placement and extension.
// Placed by the requester whose request or disclosure it is, or by reviewers and admins; each
// placement and extension is audited. Thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "takedown/actions.h"
#include "takedown/context.h"
#include "takedown/disclosures.h"
#include "takedown/model.h"
#include "takedown/sweep.h"

namespace takedown::service {

class Holds {
 public:
  Holds(WorkflowContext* ctx, Sweeper* sweeper, Disclosures* disclosures, Actions* actions)
      : ctx_(ctx), sweeper_(sweeper), disclosures_(disclosures), actions_(actions) {}

  static constexpr int64_t kMaxDays = 730;        // one placement or extension
  static constexpr int64_t kMaxTotalDays = 3650;  // from placement to the last day held
  static constexpr size_t kMaxContent = 10000;    // content ids named in one preserve action
  // Legal holds a requester may keep in force at once (each sweeps the content index and sends
  // the platform a preserve action); reviewers and administrators are not bounded.
  static constexpr int64_t kMaxRequesterHolds = 50;

  // {"request_id" | "disclosure_id", "days": 1..730, "reason", "legal_reference"?}.
  // NotFound for a request or disclosure `who` may not see; InvalidArgument naming bad fields.
  Result<nlohmann::json> Place(const Principal& who, const nlohmann::json& body,
                               const std::string& idempotency_key);
  // {"days": 1..730, "reason"}: held that much longer; a new preserve action with the new time.
  // FailedPrecondition for a hold that has expired.
  Result<nlohmann::json> Extend(const Principal& who, int64_t id, const nlohmann::json& body);
  Result<nlohmann::json> Get(const Principal& who, int64_t id);
  Result<nlohmann::json> List(const Principal& who, int64_t after_id, int64_t limit);

 private:
  Result<Hold> LoadVisible(const Principal& who, int64_t id);
  nlohmann::json View(const Hold& h) const;
  // FailedPrecondition when the requester keeps kMaxRequesterHolds in force (a retry of a
  // placement already made passes).
  Status WithinRequesterBound(const Principal& who, const std::string& idempotency_key);
  // Queues the preserve action for the hold's current time; returns its id.
  Result<int64_t> Preserve(const Hold& h);
  // The request's kept evidence is kept until the hold's time at least.
  Status KeepEvidence(const Hold& h);

  WorkflowContext* ctx_;
  Sweeper* sweeper_;
  Disclosures* disclosures_;
  Actions* actions_;
};

}  // namespace takedown::service
