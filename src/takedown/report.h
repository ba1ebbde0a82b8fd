// The transparency report (DSA Art. 15 and 24) over requests received in a period: requests by
// category, source type and status, automated decisions, removals by category and source, time
// to removal and to decision (median, p95), restricted chats, appeals and reversals; as JSON or
// as CSV (section,key,value). Thread-safe (reads only).
#pragma once

#include <nlohmann/json.hpp>

#include "takedown/context.h"

namespace takedown::service {

class TransparencyReport {
 public:
  explicit TransparencyReport(WorkflowContext* ctx) : ctx_(ctx) {}
  Result<nlohmann::json> Build(int64_t from_ms, int64_t to_ms);
  static std::string Csv(const nlohmann::json& report);

 private:
  WorkflowContext* ctx_;
};

}  // namespace takedown::service
