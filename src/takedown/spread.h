// The spread of a reported item (issue 25 item 1): every copy and near-copy the content index
// holds, found by the same signals as the sweep (whether or not it was removed since), in the order
// the platform recorded them: where it first appeared, each chat it reached and when, and from
// which earlier copy each one most likely came. For reviewers and administrators (it names
// uploaders); every look is audited. Thread-safe (reads only, and one audit record).
//
// "Most likely came from": among the copies recorded before it, the one whose signals are closest
// (identical bytes first, then the smallest PDQ distance between the two copies' own hashes), the
// most recent of those on a tie (resharing follows quickly). It is an estimate from hashes and
// times, said as such; the platform's own forwarding records, where it keeps them, are the truth.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "takedown/context.h"
#include "takedown/evidence.h"
#include "takedown/model.h"
#include "takedown/sweep.h"
#include "takedown/uploaders.h"

namespace takedown::service {

class Spread {
 public:
  // uploaders: for the repeat uploaders among those the spread names (may be null).
  Spread(WorkflowContext* ctx, Sweeper* sweeper, Uploaders* uploaders = nullptr)
      : ctx_(ctx), sweeper_(sweeper), uploaders_(uploaders) {}
  // At most this many copies are listed (the earliest; "truncated" says so).
  static constexpr size_t kMaxCopies = 10000;
  // At most this many distinct uploaders are looked up for repeat_uploaders.
  static constexpr size_t kMaxUploaders = 2000;
  // {request_id, computed_at, first, totals, copies[], chats[], edges[], truncated,
  // repeat_uploaders[]}: repeat_uploaders are those of the copies' uploaders with strikes or
  // account actions (uploaders.h), the most struck first.
  Result<nlohmann::json> Of(const Principal& who, int64_t request_id);
  // The same for a bank entry's signals ({entry_id, bank, ...}; NotFound for no such entry).
  Result<nlohmann::json> OfEntry(const Principal& who, int64_t entry_id);
  // The copies as CSV: one row each, RFC 4180 quoting.
  static std::string Csv(const nlohmann::json& spread);

  // The spread of signals of any origin (an investigator's named content: its own signals and
  // its row), each copy with its hashes (pdq, md5, sha256); `subject` is merged into the answer.
  // Not audited here: the caller records why it looked.
  Result<nlohmann::json> OfSignals(const Signals& s, int64_t located_row, nlohmann::json subject,
                                   int threshold = 31);

 private:
  // The spread of what `hits` found; `subject` holds the request_id or entry_id it is of.
  Result<nlohmann::json> Build(const Principal& who, nlohmann::json subject,
                               const std::map<int64_t, Sweeper::Hit>& hits);
  Result<nlohmann::json> Compute(nlohmann::json subject,
                                 const std::map<int64_t, Sweeper::Hit>& hits, bool with_hashes);
  WorkflowContext* ctx_;
  Sweeper* sweeper_;
  Uploaders* uploaders_;
};

}  // namespace takedown::service
