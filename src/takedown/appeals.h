// Appeals against removals (DSA Art. 20): filed by the platform for the uploader within the
// appeal window, decided by a reviewer with a reason; an upheld appeal queues a restore action
// and may disable the bank entry that matched. Thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include "takedown/actions.h"
#include "takedown/context.h"
#include "takedown/model.h"

namespace takedown::service {

class Appeals {
 public:
  Appeals(WorkflowContext* ctx, Actions* actions) : ctx_(ctx), actions_(actions) {}
  Result<nlohmann::json> File(const Principal& who, const nlohmann::json& body);
  Result<nlohmann::json> List(const std::string& status, int64_t limit);
  Result<nlohmann::json> Decide(const Principal& who, int64_t appeal_id,
                                const nlohmann::json& body);

 private:
  static nlohmann::json View(const Appeal& a);
  WorkflowContext* ctx_;
  Actions* actions_;
};

}  // namespace takedown::service
