// The sweep: an approved request's evidence goes into the bank of its category (live at the
// upload gate from then on), and every live item of the content index that any of its signals
// matches becomes one remove action. Matching holds no workflow lock; the caller holds the
// request's own lock. The actions, the request's new state and the audit record commit in one
// transaction, so a crash leaves either all of them or an approved request the next start sweeps
// again (actions carry one unique key per request and content item: a second sweep adds none).
#pragma once

#include <functional>
#include <string>

#include "takedown/context.h"
#include "takedown/evidence.h"
#include "takedown/model.h"

namespace takedown::service {

class Sweeper {
 public:
  Sweeper(WorkflowContext* ctx, Evidence* evidence) : ctx_(ctx), evidence_(evidence) {}

  // Sweeps `r` (approved) and commits it as actioned; r is updated to what was stored. Returns
  // how many actions were queued.
  Result<int64_t> Sweep(Request& r, const std::string& actor);

 private:
  Result<store::BankRecord> BankFor(Category category);
  WorkflowContext* ctx_;
  Evidence* evidence_;
};

}  // namespace takedown::service
