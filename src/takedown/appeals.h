// Appeals against removals (DSA Art. 20): filed by the platform for the uploader within the
// appeal window, decided by a reviewer with a reason; an upheld appeal queues a restore action
// and may disable the bank entry that matched. Thread-safe.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>

#include "takedown/actions.h"
#include "takedown/context.h"
#include "takedown/model.h"

namespace takedown::service {

class Appeals {
 public:
  Appeals(WorkflowContext* ctx, Actions* actions) : ctx_(ctx), actions_(actions) {}
  // upheld(removal): told once an upheld appeal against that removal is stored (its strike
  // against the uploader no longer counts). Set before serving, once.
  void SetOnUpheld(std::function<Status(const Action&)> upheld) { on_upheld_ = std::move(upheld); }
  Result<nlohmann::json> File(const Principal& who, const nlohmann::json& body);
  Result<nlohmann::json> List(const std::string& status, int64_t limit);
  Result<nlohmann::json> Decide(const Principal& who, int64_t appeal_id,
                                const nlohmann::json& body);

 private:
  static nlohmann::json View(const Appeal& a);
  WorkflowContext* ctx_;
  Actions* actions_;
  std::function<Status(const Action&)> on_upheld_;
};

}  // namespace takedown::service
