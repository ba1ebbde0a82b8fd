#include "takedown/sweep.h"

#include <fmt/format.h>

#include <map>

#include "takedown/shards.h"

namespace takedown::service {

using nlohmann::json;

Result<store::BankRecord> Sweeper::BankFor(Category category) {
  const std::string name(NameOf(category));
  auto known = [&]() -> Result<std::optional<store::BankRecord>> {
    TD_ASSIGN_OR_RETURN(auto banks, ctx_->svc->ListBanks());
    std::optional<store::BankRecord> bank;
    for (const auto& b : banks) {
      if (b.category == name && (!bank || b.id < bank->id)) bank = b;
    }
    return bank;
  };
  // The store's banks, which include those other processes made a moment ago (an entry is then
  // added by the bank's name, which Service::BankIdOf also looks up in the store).
  TD_ASSIGN_OR_RETURN(auto bank, known());
  if (bank) return *bank;
  MutexLock l(&bank_mu_);
  TD_ASSIGN_OR_RETURN(auto held, ctx_->LockShared(kCategoryBankLock));
  TD_ASSIGN_OR_RETURN(bank, known());  // one another process made while this one waited
  if (bank) return *bank;
  // None yet: one is made, blocking at upload (under another name when the category's name is
  // taken by a bank of another category).
  auto made = ctx_->svc->CreateBank({name, name, 31, "block"}, "system");
  if (made.ok()) return *made;
  return ctx_->svc->CreateBank({"requests-" + name, name, 31, "block"}, "system");
}

Status Sweeper::Match(const Signals& s, int64_t entry, int threshold, int64_t located_row,
                      std::map<int64_t, Hit>* hits) {
  auto hit = [&](int64_t row, const std::string& signal, int d) {
    auto it = hits->find(row);
    if (it == hits->end() || d < it->second.distance) (*hits)[row] = {signal, d, entry};
  };
  // The content index in memory: every shard of it (shards.h), or this process's whole one with
  // what the other replicas recorded until now read first.
  std::vector<Service::ContentHit> found;
  if (ctx_->shards != nullptr) {
    TD_ASSIGN_OR_RETURN(found, ctx_->shards->Match(s, threshold, ctx_->opt.min_quality));
  } else {
    TD_RETURN_IF_ERROR(ctx_->svc->CatchUp());
    found = ctx_->svc->MatchContent(s, threshold, ctx_->opt.min_quality);
  }
  // PDQ first, then the exact digests, then the rest: of signals at one distance, the first named
  // is the one an action reports.
  for (const auto& h : found) {
    if (h.signal == "pdq") hit(h.row, h.signal, h.distance);
  }
  if (!s.md5.empty() || !s.sha256.empty()) {  // the store holds every shard
    TD_ASSIGN_OR_RETURN(auto rows, ctx_->stores.content->FindContentByDigest(s.md5, s.sha256));
    for (const auto& c : rows) {
      hit(c.id, !s.sha256.empty() && c.sha256 == s.sha256 ? "sha256" : "md5", 0);
    }
  }
  for (const auto& h : found) {
    if (h.signal != "pdq") hit(h.row, h.signal, h.distance);
  }
  if (located_row != 0) hit(located_row, "location", 0);
  return Status::Ok();
}

Result<std::map<int64_t, Sweeper::Hit>> Sweeper::FindCopies(const Request& r, int threshold) {
  std::map<int64_t, Hit> hits;
  for (const auto& ev : r.evidence) {
    if (!ev.usable) continue;
    TD_ASSIGN_OR_RETURN(Signals s, evidence_->SignalsOf(ev));
    TD_RETURN_IF_ERROR(Match(s, ev.entry_id, threshold, ev.content_row, &hits));
  }
  return hits;
}

Result<std::map<int64_t, Sweeper::Hit>> Sweeper::FindCopies(const Signals& s, int64_t entry,
                                                            int threshold, int64_t located_row) {
  std::map<int64_t, Hit> hits;
  TD_RETURN_IF_ERROR(Match(s, entry, threshold, located_row, &hits));
  return hits;
}

Result<int64_t> Sweeper::Sweep(Request& r, const std::string& actor) {
  TD_ASSIGN_OR_RETURN(store::BankRecord bank, BankFor(r.category));
  std::map<int64_t, Hit> hits;  // content row -> the best signal that found it
  const int64_t t0 = ctx_->Now();
  std::vector<int64_t> entry_ids;
  for (auto& ev : r.evidence) {
    if (!ev.usable) continue;
    TD_ASSIGN_OR_RETURN(Signals s, evidence_->SignalsOf(ev));
    int64_t entry = ev.entry_id;  // made by an earlier sweep of r that was held back
    if (entry == 0 && (s.pdq || !s.md5.empty() || !s.sha256.empty() || s.video)) {
      EntrySpec spec{s, {}, fmt::format("request:{}", r.id), std::to_string(r.id)};
      TD_ASSIGN_OR_RETURN(auto e, ctx_->svc->AddEntry(bank.name, spec, actor));  // live at the gate
      entry = e.id;
      ev.entry_id = entry;
    }
    if (entry != 0) entry_ids.push_back(entry);
    TD_RETURN_IF_ERROR(Match(s, entry, bank.pdq_threshold, ev.content_row, &hits));
  }

  // One remove action per live item found; with the request's new state, in one transaction.
  store::DocumentStore::Changes ch;
  int64_t skipped = 0;
  const int64_t now = ctx_->Now();
  for (const auto& [row, h] : hits) {
    TD_ASSIGN_OR_RETURN(auto c, ctx_->stores.content->GetContent(row));
    if (!c || c->state == "removed" || c->state == "blocked") {
      ++skipped;
      continue;
    }
    Action a;
    a.kind = ActionKind::kRemove;
    a.owner_id = r.id;
    a.request_id = r.id;
    a.content_row = row;
    a.content_id = c->content_id;
    a.chat_id = c->chat_id;
    a.uploader_id = c->uploader_id;
    a.content_created_ms = c->created_ms;
    a.media = c->video.empty() ? "image" : "video";
    a.signal = h.signal;
    a.distance = h.distance;
    a.entry_id = h.entry_id;
    a.bank = bank.name;
    a.category = r.category;
    a.source_type = r.source_type;
    a.trusted = r.trusted;
    a.automated_decision = r.decision && r.decision->automated;
    a.ukey = fmt::format("remove:{}:{}", r.id, row);
    a.due_ms = now;
    ch.docs.push_back(ToDoc(a));
  }
  const int64_t actions = static_cast<int64_t>(ch.docs.size());
  r.bank = bank.name;
  r.sweep = SweepSummary{bank.name, entry_ids, static_cast<int64_t>(hits.size()),
                         actions,   skipped,   ctx_->Now() - t0};
  r.SetState(RequestState::kActioned, ctx_->Now());
  ch.docs.push_back(ToDoc(r));
  ch.expect_states.emplace_back(r.id, std::string(NameOf(RequestState::kApproved)));
  ch.audits.push_back({actor, "request.swept",
                       json{{"request_id", r.id},
                            {"bank", bank.name},
                            {"matched", hits.size()},
                            {"actions", actions}}
                           .dump()});
  TD_RETURN_IF_ERROR(ctx_->stores.docs->Transact(ch).status());
  return actions;
}

}  // namespace takedown::service
