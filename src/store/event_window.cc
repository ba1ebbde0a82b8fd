#include "store/event_window.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace takedown::store {

Result<int> EventWindow::Count(const Of& who, int64_t now, int at_most) const {
  TD_ASSIGN_OR_RETURN(auto rows, docs_->FindDocs({.kind = kind_,
                                                  .owner = who.owner,
                                                  .state = who.state,
                                                  .created_from = now - window_ms_ + 1,
                                                  .limit = std::max(1, at_most)}));
  return static_cast<int>(rows.size());
}

Status EventWindow::Add(const std::vector<Of>& who, int64_t now) {
  std::vector<DocRecord> docs;
  docs.reserve(who.size());
  for (const auto& w : who) {
    DocRecord d;
    d.kind = kind_;
    d.state = w.state;
    d.owner = w.owner.value_or(0);
    d.doc = "{}";
    docs.push_back(std::move(d));
  }
  TD_RETURN_IF_ERROR(docs_->PutDocs(docs).status());
  if (auto purged = Purge(now); !purged.ok()) {
    spdlog::warn("store: {} events older than {} s not deleted (tried again later): {}", kind_,
                 window_ms_ / 1000, purged.status().message());
  }
  return Status::Ok();
}

Result<bool> EventWindow::Purge(int64_t now) {
  int64_t last = last_purge_ms_.load();
  if (now - last < purge_every_ms_ || !last_purge_ms_.compare_exchange_strong(last, now)) {
    return false;
  }
  // Those created at or before now - window no longer count (Count reads from now - window + 1).
  TD_RETURN_IF_ERROR(docs_->DeleteDocs(kind_, now - window_ms_ + 1).status());
  return true;
}

}  // namespace takedown::store
