// DSA Art. 17 statements of reasons, as the EU DSA Transparency Database's API takes them (dsa.h:
// categories and keywords, territorial scope, limits, the validator), for every restriction
// takedown makes: removals (from the removal and its request), chat restrictions (a partial
// suspension of the service, own-initiative and automated, from the removal that reached the
// count), repeat uploaders' account actions (likewise, from the strike that reached the count)
// and uploads blocked at the gate (own-initiative and automated, from the gate_block
// document and the request its bank entry came from). Each is validated before it is handed out.
// Thread-safe (reads only).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "takedown/context.h"
#include "takedown/dsa.h"
#include "takedown/model.h"

namespace takedown::service {

class Statements {
 public:
  explicit Statements(WorkflowContext* ctx);
  // The statement of one removal or chat restriction (FailedPrecondition for a restore, or when
  // the database would refuse it: the field and the reason named).
  Result<nlohmann::json> Of(int64_t action_id);
  Result<nlohmann::json> Of(const Action& a, const Request& r) const;
  // The statement of an account action (a repeat uploader's warning, restriction or suspension),
  // from the request of the strike that reached the count, or its category alone (r null). A
  // suspension is DECISION_ACCOUNT_SUSPENDED, a restriction DECISION_PROVISION_PARTIAL_SUSPENSION;
  // a warning restricts nothing (not an Art. 17 decision): its statement explains it to the
  // uploader and is never sent to the database ("takedown": {"dsa_database": false}).
  Result<nlohmann::json> OfAccount(const Action& a, const Request* r) const;
  // The statement of an upload blocked at the gate (Service::Check's block_id; NotFound).
  Result<nlohmann::json> OfBlock(int64_t block_id);
  Result<nlohmann::json> OfBlock(const store::DocRecord& block);
  // Those of removals and restrictions acknowledged in [from_ms, to_ms) and of blocks made in it:
  // {"statements", "invalid"} (a statement the database would refuse is never exported: its
  // action_id or block_id and the reason are listed instead).
  // database_batches: {"batches": [{"statements": up to 100}], "invalid"}, each batch the body
  // of one call to the database's bulk endpoint, with the database's fields only.
  Result<nlohmann::json> Between(int64_t from_ms, int64_t to_ms, bool database_batches = false);
  static constexpr size_t kBatch = 100;

 private:
  static dsa::CategoryMapping CategoryOf(const Request& r);
  static std::string CategoryHint(const Request& r);
  // The fields every statement shares (ground, legal ground, category, scope, redress).
  nlohmann::json Common(const dsa::CategoryMapping& cat, const std::string& legal,
                        const std::vector<std::string>& request_scope) const;
  Result<nlohmann::json> OfRestriction(const Action& a, const Request& r) const;
  // The statement if the validator passes it, else FailedPrecondition naming every problem.
  static Result<nlohmann::json> Checked(nlohmann::json st, const std::string& what,
                                        const std::string& category_hint);

  WorkflowContext* ctx_;
  std::vector<std::string> platform_scope_;  // workflow.territorial_scope, parsed once
};

}  // namespace takedown::service
