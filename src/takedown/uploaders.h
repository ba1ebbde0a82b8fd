// Repeat uploaders (issue 25 item 4): every upload of an uploader that was removed (its removal
// acknowledged by the platform) or blocked at the upload gate is a strike, kept per uploader with
// its category; when the strikes of one category within the window reach a count the policy names
// (workflow.repeat_uploader_policy, per category), an account_action (warn, restrict or suspend)
// is queued for the platform with its statement of reasons. A rule fires exactly when the count is
// reached (not again at the next strike), and again only if the count falls below it (strikes
// leaving the window) and reaches it anew. A strike whose removal is reversed on appeal no longer
// counts.
//
// One small document per uploader ("uploader", unique key "uploader:ID"): its strikes within the
// window (at most kMaxStrikes, the newest) and the account actions it was given. The document and
// the actions it produces are written in one transaction. Counting is a read-modify-write under
// one lock: one process counts (a replicated deployment counts on the leader).
// Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/mutex.h"
#include "takedown/context.h"
#include "takedown/model.h"

namespace takedown::service {

struct RepeatRule {
  int count = 0;
  AccountMeasure measure = AccountMeasure::kWarn;
};

// category name ("ncii", ...; "*" for categories not named) -> its rules, by count.
struct RepeatPolicy {
  std::map<std::string, std::vector<RepeatRule>> rules;
  bool empty() const { return rules.empty(); }
  // The rules for a category: its own, else "*"'s, else none.
  const std::vector<RepeatRule>* For(Category c) const;
};

// "ncii=2:warn,3:restrict,5:suspend; csam=1:suspend; *=3:warn" (spaces allowed; "" = no rules).
// Every mistake is named: an unknown category or measure, a count outside 1..1000, a count given
// twice for one category, a category given twice.
Result<RepeatPolicy> ParseRepeatPolicy(const std::string& text);

class Uploaders {
 public:
  // wake: tells the action outbox that actions were queued.
  Uploaders(WorkflowContext* ctx, std::function<void()> wake);

  bool on() const { return !policy_.empty(); }

  struct Strike {
    std::string ref;  // "removed:ACTION_ID" or "blocked:BLOCK_ID": counted once
    Category category = Category::kOther;
    int64_t at_ms = 0;
    std::string content_id, chat_id, media;
    int64_t request_id = 0, content_created_ms = 0;
  };
  // Counts strikes (uploader -> its new strikes, in order), queueing the account actions they
  // reach. Nothing happens when the policy is empty or the uploader is "".
  Status Count(const std::vector<std::pair<std::string, Strike>>& strikes) TD_EXCLUDES(mu_);
  // The removal `ref` was reversed on appeal: its strike no longer counts (account actions
  // already taken stand until an appeal of their own).
  Status Void(const std::string& uploader, const std::string& ref) TD_EXCLUDES(mu_);
  // What the spread views show of an uploader: {uploader_id, strikes (by category, within the
  // window), last_strike, account_actions [{measure, category, strikes, at, idempotency_key}]},
  // or nullopt when it has no strikes and no actions.
  Result<std::optional<nlohmann::json>> Standing(const std::string& uploader);

  static constexpr size_t kMaxStrikes = 1000;
  static constexpr std::string_view kDoc = "uploader";

 private:
  Result<store::DocRecord> LoadOrNew(const std::string& uploader);
  int64_t window_ms() const;

  WorkflowContext* ctx_;
  std::function<void()> wake_;
  RepeatPolicy policy_;
  // Read-modify-write of the uploader documents: one thread here at a time (mu_), and one
  // process of those sharing the store (the store's lock kUploadersLock). Every process counts
  // every block at the gate (its blocked hook and the change log); a strike's ref makes the
  // second count a no-op, and the lock keeps two counts from overwriting each other.
  Mutex mu_;
};

}  // namespace takedown::service
