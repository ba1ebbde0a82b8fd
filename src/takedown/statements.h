// DSA Art. 17 statements of reasons for removals, in the shape of the EU DSA Transparency
// Database API, built from the removal and its request. Thread-safe (reads only).
#pragma once

#include <nlohmann/json.hpp>

#include "takedown/context.h"
#include "takedown/model.h"

namespace takedown::service {

class Statements {
 public:
  explicit Statements(WorkflowContext* ctx) : ctx_(ctx) {}
  // The statement of one removal (FailedPrecondition for another kind of action).
  Result<nlohmann::json> Of(int64_t action_id);
  Result<nlohmann::json> Of(const Action& a, const Request& r) const;
  // Those of removals acknowledged in [from_ms, to_ms).
  Result<nlohmann::json> Between(int64_t from_ms, int64_t to_ms);

 private:
  WorkflowContext* ctx_;
};

}  // namespace takedown::service
