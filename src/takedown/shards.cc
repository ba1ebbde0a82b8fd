#include "takedown/shards.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

namespace takedown::service {
namespace {

using nlohmann::json;

constexpr int64_t kEpochMs = 600'000;      // a new heartbeat document every 10 minutes
constexpr int64_t kKeepMs = 3'600'000;     // queries and answers are deleted after an hour
constexpr int64_t kCommitSkewMs = 10'000;  // a query's insert commits within this of its time

std::string Missing(const std::vector<int>& shards, int total) {
  return fmt::format("content shard{} {} of {}", shards.size() == 1 ? "" : "s", ShardList(shards),
                     total);
}

}  // namespace

ContentShards::ContentShards(Service* svc, store::DocumentStore* docs, Env* env, Options opt)
    : svc_(svc), docs_(docs), env_(env != nullptr ? env : Env::Default()), opt_(opt) {
  unsigned char r[4];
  env_->RandomBytes(r, sizeof(r));
  char host[256] = {0};
  if (::gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  holder_ = fmt::format("pid {} on {}/{:02x}{:02x}{:02x}{:02x}", ::getpid(), host, r[0], r[1], r[2],
                        r[3]);
}

ContentShards::~ContentShards() {
  {
    MutexLock l(&mu_);
    stop_ = true;
  }
  cv_.SignalAll();
  if (thread_.joinable()) thread_.join();
  if (notice_thread_.joinable()) notice_thread_.join();
  CloseAsked();
  if (holder_doc_ != 0) {
    if (Status st = Heartbeat(false); !st.ok())
      spdlog::warn("content shards: saying this holder is gone: {}", st.message());
  }
}

void ContentShards::Start() {
  if (!svc_->shards().HoldsNone()) {
    // Seen by the others before this returns: a sweep started right after finds the shards held.
    if (Status st = Heartbeat(true); !st.ok())
      spdlog::warn("content shards: first heartbeat: {} (retried)", st.message());
  }
  thread_ = std::thread([this] { Run(); });
  if (notices_) notice_thread_ = std::thread([this] { ListenForNotices(); });
}

void ContentShards::SetNotices(std::unique_ptr<store::NoticeWaiter> notices) {
  notices_ = std::move(notices);
}

Result<std::unique_ptr<store::NoticeWaiter>> ContentShards::OpenNotices(const std::string& url) {
  return store::OpenNoticeWaiter(
      url, {std::string(store::kShardQueryChannel), std::string(store::kShardAnswerChannel)});
}

void ContentShards::ListenForNotices() {
  while (!Stopping()) {
    bool queries = false, answers = false;
    // A notice ends the wait at once; the timeout only bounds how late a stop is seen.
    for (const auto& ch : notices_->Wait(std::chrono::milliseconds(200))) {
      queries |= ch == store::kShardQueryChannel;
      answers |= ch == store::kShardAnswerChannel;
    }
    if (!queries && !answers) continue;
    {
      MutexLock l(&mu_);
      queries_noticed_ += queries ? 1 : 0;
      answers_noticed_ += answers ? 1 : 0;
    }
    cv_.SignalAll();
  }
}

bool ContentShards::Stopping() {
  MutexLock l(&mu_);
  return stop_;
}

Status ContentShards::Heartbeat(bool live) {
  const ShardSet& mine = svc_->shards();
  const int64_t now = env_->NowMs();
  store::DocRecord d;
  d.kind = std::string(kShardHolderDoc);
  d.state = live ? "live" : "gone";
  d.due_ms = live ? now + opt_.holder_ttl.count() : now;
  d.doc = json{{"holder", holder_},
               {"total", mine.total},
               {"shards", mine.held},
               {"content_items", svc_->Stats().content_items}}
              .dump();
  const int64_t epoch = now / kEpochMs;
  if (holder_doc_ == 0 || epoch != holder_epoch_) {
    d.ukey = fmt::format("{}:{}:{}", kShardHolderDoc, holder_, epoch);
    TD_ASSIGN_OR_RETURN(auto ids, docs_->PutDocs({d}));
    holder_doc_ = ids[0] < 0 ? -ids[0] : ids[0];
    holder_epoch_ = epoch;
    if (ids[0] > 0) return Status::Ok();
  }
  d.id = holder_doc_;
  d.ukey = fmt::format("{}:{}:{}", kShardHolderDoc, holder_, holder_epoch_);
  return docs_->PutDocs({d}).status();
}

Result<ContentShards::Coverage> ContentShards::Check() {
  const int total = svc_->shards().total;
  const int64_t now = env_->NowMs();
  std::vector<bool> held(static_cast<size_t>(total), false);
  Coverage c;
  c.total = total;
  TD_RETURN_IF_ERROR(docs_->ForEachDoc({.kind = std::string(kShardHolderDoc),
                                        .state = "live",
                                        .created_from = now - 2 * kEpochMs,
                                        .limit = 500},
                                       [&](const store::DocRecord& r) -> Status {
                                         if (r.due_ms < now)
                                           return Status::Ok();  // silent past its ttl
                                         auto j = json::parse(r.doc, nullptr, false);
                                         // Another split (a replica configured differently) answers
                                         // nothing here.
                                         if (!j.is_object() || j.value("total", 0) != total ||
                                             !j.contains("shards") || !j["shards"].is_array())
                                           return Status::Ok();
                                         ++c.holders;
                                         for (const auto& s : j["shards"]) {
                                           if (s.is_number_integer() && s.get<int>() >= 0 &&
                                               s.get<int>() < total)
                                             held[s.get<size_t>()] = true;
                                         }
                                         return Status::Ok();
                                       }));
  for (const int s : svc_->shards().held) held[static_cast<size_t>(s)] = true;
  for (int s = 0; s < total; ++s) {
    if (!held[static_cast<size_t>(s)]) c.unheld.push_back(s);
  }
  return c;
}

Result<ContentShards::Coverage> ContentShards::RecentCheck() {
  MutexLock l(&cache_mu_);
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  if (cached_at_ == 0 || now - cached_at_ >= 1000) {
    cached_ = Check();
    cached_at_ = now;
  }
  return cached_;
}

Result<std::vector<Service::ContentHit>> ContentShards::Match(const Signals& s, int threshold,
                                                              int min_quality) {
  const ShardSet& mine = svc_->shards();
  if (mine.HoldsAll()) {
    TD_RETURN_IF_ERROR(svc_->CatchUp());
    return svc_->MatchContent(s, threshold, min_quality);
  }
  TD_ASSIGN_OR_RETURN(Coverage cov, Check());
  if (!cov.unheld.empty()) {
    held_back_.fetch_add(1);
    return Unavailable(
        fmt::format("{} {} no live replica (content.hold): the sweep waits until one holds {}",
                    Missing(cov.unheld, mine.total), cov.unheld.size() == 1 ? "has" : "have",
                    cov.unheld.size() == 1 ? "it" : "them"));
  }
  const int64_t t0 = env_->NowMs();
  const int64_t deadline = t0 + opt_.answer_timeout.count();
  store::DocRecord q;
  q.kind = std::string(kShardQueryDoc);
  q.state = "open";
  q.due_ms = deadline;
  q.doc = json{{"asker", holder_},
               {"total", mine.total},
               {"threshold", threshold},
               {"min_quality", min_quality},
               {"signals", SignalsToJson(s)}}
              .dump();
  TD_ASSIGN_OR_RETURN(auto ids, docs_->PutDocs({q}));
  q.id = ids[0];
  asked_.fetch_add(1);

  // This process's own shards meanwhile (what others recorded until now first).
  std::map<int64_t, std::pair<std::string, int>> best;
  auto offer = [&](int64_t row, const std::string& signal, int d) {
    auto it = best.find(row);
    if (it == best.end() || d < it->second.second) best[row] = {signal, d};
  };
  Status result = svc_->CatchUp();
  if (result.ok()) {
    for (const auto& h : svc_->MatchContent(s, threshold, min_quality))
      offer(h.row, h.signal, h.distance);
  }

  std::vector<bool> answered(static_cast<size_t>(mine.total), false);
  for (const int sh : mine.held) answered[static_cast<size_t>(sh)] = true;
  auto missing = [&] {
    std::vector<int> out;
    for (int sh = 0; sh < mine.total; ++sh) {
      if (!answered[static_cast<size_t>(sh)]) out.push_back(sh);
    }
    return out;
  };
  std::set<int64_t> read;  // answers merged
  int64_t last_check = t0;
  while (result.ok()) {
    uint64_t noticed;  // before the read: an answer written after it wakes the wait below
    {
      MutexLock l(&mu_);
      noticed = answers_noticed_;
    }
    auto rows = docs_->FindDocs(
        {.kind = std::string(kShardAnswerDoc), .owner = q.id, .after_id = 0, .limit = 10000});
    if (!rows.ok()) {
      result = rows.status();
      break;
    }
    for (const auto& a : *rows) {
      if (!read.insert(a.id).second) continue;
      auto j = json::parse(a.doc, nullptr, false);
      if (!j.is_object() || !j.contains("shards") || !j["shards"].is_array() ||
          !j.contains("hits") || !j["hits"].is_array()) {
        spdlog::warn("content shards: answer {} to query {} is malformed; ignored", a.id, q.id);
        continue;
      }
      for (const auto& h : j["hits"]) {
        if (!h.is_array() || h.size() != 3 || !h[0].is_number_integer() || !h[1].is_string() ||
            !h[2].is_number_integer())
          continue;
        offer(h[0].get<int64_t>(), h[1].get<std::string>(), h[2].get<int>());
      }
      for (const auto& sh : j["shards"]) {
        if (sh.is_number_integer() && sh.get<int>() >= 0 && sh.get<int>() < mine.total)
          answered[sh.get<size_t>()] = true;
      }
    }
    const std::vector<int> left = missing();
    if (left.empty()) break;
    const int64_t now = env_->NowMs();
    if (now >= deadline) {
      result =
          Unavailable(fmt::format("{} did not answer within {} s: the sweep waits",
                                  Missing(left, mine.total), opt_.answer_timeout.count() / 1000));
      break;
    }
    if (now - last_check >= 1000) {  // a holder gone meanwhile: no need to wait for the deadline
      last_check = now;
      auto c = Check();
      if (c.ok()) {
        std::vector<int> lost;
        for (const int sh : left) {
          if (std::find(c->unheld.begin(), c->unheld.end(), sh) != c->unheld.end())
            lost.push_back(sh);
        }
        if (!lost.empty()) {
          result = Unavailable(
              fmt::format("{} lost {} live replica before answering: the sweep waits",
                          Missing(lost, mine.total), lost.size() == 1 ? "its" : "their"));
          break;
        }
      }
    }
    // (Waited after a stop too: the sweep still ends by its answers or its deadline.)
    MutexLock l(&mu_);
    if (answers_noticed_ == noticed)
      cv_.WaitFor(&mu_, notices_ ? opt_.notice_poll : std::chrono::milliseconds(5));
  }
  // Closed by Run's thread: holders pass it over from then on (deleted with the answers after an
  // hour).
  q.state = result.ok() ? "done" : "abandoned";
  {
    MutexLock l(&mu_);
    to_close_.push_back(std::move(q));
  }
  cv_.SignalAll();
  if (!result.ok()) {
    held_back_.fetch_add(1);
    return result;
  }
  std::vector<Service::ContentHit> out;
  out.reserve(best.size());
  for (auto& [row, b] : best) out.push_back({row, std::move(b.first), b.second});
  return out;
}

Status ContentShards::AnswerOpenQueries() {
  const ShardSet& mine = svc_->shards();
  const int64_t now = env_->NowMs();
  TD_ASSIGN_OR_RETURN(auto rows, docs_->FindDocs({.kind = std::string(kShardQueryDoc),
                                                  .state = "open",
                                                  .created_from = now - kKeepMs,
                                                  .after_id = scan_after_,
                                                  .limit = 100}));
  bool caught_up = false;
  int64_t settled = scan_after_;  // every open query at or below it has been seen
  for (const auto& q : rows) {
    if (q.created_ms < now - kCommitSkewMs) settled = std::max(settled, q.id);
    if (done_.count(q.id)) continue;
    done_.insert(q.id);
    if (q.due_ms < now) continue;  // its asker has given up
    auto j = json::parse(q.doc, nullptr, false);
    if (!j.is_object() || j.value("asker", "") == holder_) continue;
    if (j.value("total", 0) != mine.total) {
      spdlog::warn(
          "content shards: query {} is for {} shards, this process splits into {}; "
          "not answered (content.shards must be the same at every replica)",
          q.id, j.value("total", 0), mine.total);
      continue;
    }
    auto sig = j.contains("signals") ? SignalsFromJson(j["signals"])
                                     : Result<Signals>(DataLoss("no signals"));
    if (!sig.ok() || !j["threshold"].is_number_integer() || !j["min_quality"].is_number_integer()) {
      spdlog::warn("content shards: query {} is malformed; not answered", q.id);
      continue;
    }
    if (!caught_up) {  // what every process recorded until now is in this one's shards first
      if (Status st = svc_->CatchUp(); !st.ok()) {
        done_.erase(q.id);
        return st;
      }
      caught_up = true;
    }
    json hits = json::array();
    for (const auto& h :
         svc_->MatchContent(*sig, j["threshold"].get<int>(), j["min_quality"].get<int>()))
      hits.push_back(json::array({h.row, h.signal, h.distance}));
    store::DocRecord a;
    a.kind = std::string(kShardAnswerDoc);
    a.owner = q.id;
    a.state = "done";
    a.ukey = fmt::format("{}:{}:{}", kShardAnswerDoc, q.id, holder_);
    a.doc = json{{"holder", holder_}, {"shards", mine.held}, {"hits", std::move(hits)}}.dump();
    if (auto put = docs_->PutDocs({a}); !put.ok()) {
      done_.erase(q.id);  // answered on the next round
      return put.status();
    }
    answered_.fetch_add(1);
  }
  scan_after_ = settled;
  done_.erase(done_.begin(), done_.upper_bound(scan_after_));
  return Status::Ok();
}

void ContentShards::DeleteOld() {
  const int64_t now = env_->NowMs();
  for (const auto& [kind, age] :
       {std::pair{kShardQueryDoc, kKeepMs}, std::pair{kShardAnswerDoc, kKeepMs},
        std::pair{kShardHolderDoc, 3 * kEpochMs}}) {
    if (auto n = docs_->DeleteDocs(std::string(kind), now - age); !n.ok())
      spdlog::warn("content shards: deleting old {} documents: {}", kind, n.status().message());
  }
}

void ContentShards::CloseAsked() {
  std::vector<store::DocRecord> close;
  {
    MutexLock l(&mu_);
    close.swap(to_close_);
  }
  if (close.empty()) return;
  if (auto closed = docs_->PutDocs(close); !closed.ok())
    spdlog::warn("content shards: closing {} queries: {}", close.size(), closed.status().message());
}

void ContentShards::Run() {
  const bool holds = !svc_->shards().HoldsNone();
  int64_t last_beat = env_->NowMs(), last_clean = 0;
  uint64_t errors = 0;
  while (!Stopping()) {
    uint64_t noticed;  // before the read: a query written after it wakes the wait below
    {
      MutexLock l(&mu_);
      noticed = queries_noticed_;
    }
    const int64_t now = env_->NowMs();
    if (holds && now - last_beat >= opt_.heartbeat.count()) {
      last_beat = now;
      if (Status st = Heartbeat(true); !st.ok() && errors++ % 20 == 0)
        spdlog::warn("content shards: heartbeat: {} (retried)", st.message());
    }
    if (holds) {
      if (Status st = AnswerOpenQueries(); !st.ok() && errors++ % 20 == 0)
        spdlog::warn("content shards: answering queries: {} (retried)", st.message());
    }
    CloseAsked();
    if (now - last_clean >= 60'000) {
      last_clean = now;
      DeleteOld();
    }
    // Until a query is noticed, or the interval passed (an answer's notice wakes this too).
    const auto until = std::chrono::steady_clock::now() + (notices_ ? opt_.notice_poll : opt_.poll);
    MutexLock l(&mu_);
    while (!stop_ && queries_noticed_ == noticed && to_close_.empty()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      cv_.WaitFor(&mu_, left);
    }
  }
}

}  // namespace takedown::service
