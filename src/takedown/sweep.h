// The sweep: an approved request's evidence goes into the bank of its category (live at the
// upload gate from then on), and every live item of the content index that any of its signals
// matches becomes one remove action. Matching holds no workflow lock; the caller holds the
// request's own lock. The actions, the request's new state and the audit record commit in one
// transaction, so a crash leaves either all of them or an approved request the next start sweeps
// again (actions carry one unique key per request and content item: a second sweep adds none).
#pragma once

#include <functional>
#include <map>
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

  // What a sweep of `r` would find now, with nothing changed: content row -> the best signal
  // (by distance) that found it, and the bank entry it came from (the spread of a request).
  struct Hit {
    std::string signal;
    int distance;
    int64_t entry_id;
  };
  Result<std::map<int64_t, Hit>> FindCopies(const Request& r, int threshold);
  // The same for signals of any origin (a bank entry's; a content item's, with its row).
  Result<std::map<int64_t, Hit>> FindCopies(const Signals& s, int64_t entry, int threshold,
                                            int64_t located_row = 0);

 private:
  // Adds what the signals find in the content index to hits (the better of two for a row).
  Status Match(const Signals& s, int64_t entry, int threshold, int64_t located_row,
               std::map<int64_t, Hit>* hits);
  // The bank a category's reported hashes go to: the category's first bank, made when there is
  // none yet. Made by one thread (bank_mu_) of one process (the store's lock kCategoryBankLock)
  // at a time, after reading the banks the others made: never two.
  Result<store::BankRecord> BankFor(Category category) TD_EXCLUDES(bank_mu_);
  WorkflowContext* ctx_;
  Evidence* evidence_;
  Mutex bank_mu_;
};

}  // namespace takedown::service
