// DSA Art. 17 statements of reasons for removals, as the EU DSA Transparency Database's API takes
// them (dsa.h: categories and keywords, territorial scope, limits, the validator), built from
// the removal and its request; each is validated before it is handed out. Thread-safe (reads
// only).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "takedown/context.h"
#include "takedown/model.h"

namespace takedown::service {

class Statements {
 public:
  explicit Statements(WorkflowContext* ctx);
  // The statement of one removal (FailedPrecondition for another kind of action).
  Result<nlohmann::json> Of(int64_t action_id);
  Result<nlohmann::json> Of(const Action& a, const Request& r) const;
  // Those of removals acknowledged in [from_ms, to_ms): {"statements", "invalid"} (a statement
  // the database would refuse is never exported: its action and reason are listed instead).
  // database_batches: {"batches": [{"statements": up to 100}], "invalid"}, each batch the body
  // of one call to the database's bulk endpoint, with the database's fields only.
  Result<nlohmann::json> Between(int64_t from_ms, int64_t to_ms, bool database_batches = false);
  static constexpr size_t kBatch = 100;

 private:
  WorkflowContext* ctx_;
  std::vector<std::string> platform_scope_;  // workflow.territorial_scope, parsed once
};

}  // namespace takedown::service
