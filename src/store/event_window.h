// Events counted over a sliding window, kept as documents of one kind in a DocumentStore, so
// that every process on the store counts against one budget (the victims' form's rates, the
// reviewers' clear looks at evidence, the console's failed sign-ins).
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/store.h"

namespace takedown::store {

class EventWindow {
 public:
  // Events of `kind` count for window_ms; older ones are deleted at most once every
  // purge_every_ms (a busy window is not a delete per event).
  EventWindow(DocumentStore* docs, std::string kind, int64_t window_ms,
              int64_t purge_every_ms = 60'000)
      : docs_(docs),
        kind_(std::move(kind)),
        window_ms_(window_ms),
        purge_every_ms_(purge_every_ms) {}

  // Whose an event is: its document's state (a budget's name, a client address) and, where set,
  // its owner (a key id).
  struct Of {
    std::string state;
    std::optional<int64_t> owner;
  };

  // How many of `who`'s events fall within (now - window, now], counting no further than
  // `at_most` (a budget needs to know only whether it is spent).
  Result<int> Count(const Of& who, int64_t now, int at_most) const;
  // Records one event for each of `who` in one transaction, then deletes old ones if the purge
  // period has passed (a failed delete is logged: it is tried again next period).
  Status Add(const std::vector<Of>& who, int64_t now);
  // Deletes the events older than the window if the purge period has passed since the last
  // purge by this object; true when it did.
  Result<bool> Purge(int64_t now);

 private:
  DocumentStore* docs_;
  const std::string kind_;
  const int64_t window_ms_, purge_every_ms_;
  std::atomic<int64_t> last_purge_ms_{0};
};

}  // namespace takedown::store
