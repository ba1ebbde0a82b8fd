// A sweep over a content index split between processes (issue 21 item 4). Each process holds
// some shards of the content index in memory (shard_set.h: content.shards, content.hold); the
// bank indexes stay whole everywhere, so the upload gate needs no other process.
//
// The processes talk through the store (PostgreSQL), with documents only:
// - a holder writes a heartbeat (kind content_shard_holder: its shards, alive until due_ms)
//   every heartbeat interval; one not heard from for holder_ttl is gone;
// - a sweep (Sweeper) asks with a query (content_shard_query: the reported signals, the
//   threshold), matches its own shards itself, and waits for an answer (content_shard_answer:
//   the rows found, each holder's shards) covering every other shard; the hits are merged, best
//   per row, and the sweep commits them in one transaction as before;
// - a shard with no live holder holds the sweep back at once (Unavailable naming the shards),
//   as does one not answered within answer_timeout; the request stays approved and the workflow
//   sweeps it again later (Requests::Resume), so nothing is lost.
// Queries, answers and old heartbeats are deleted an hour after they were written. A query's
// and an answer's commit wake the processes waiting for them (SetNotices: PostgreSQL
// LISTEN/NOTIFY); the documents are also read every notice_poll, so a lost wake-up only delays.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/env.h"
#include "core/mutex.h"
#include "core/status.h"
#include "store/store.h"
#include "takedown/service.h"

namespace takedown::service {

inline constexpr std::string_view kShardHolderDoc = "content_shard_holder";
inline constexpr std::string_view kShardQueryDoc = "content_shard_query";
inline constexpr std::string_view kShardAnswerDoc = "content_shard_answer";

class ContentShards {
 public:
  struct Options {
    std::chrono::milliseconds poll{25};          // how often a holder looks for new queries
    std::chrono::milliseconds heartbeat{1000};   // how often a holder says it is alive
    std::chrono::milliseconds holder_ttl{5000};  // silent this long: gone
    std::chrono::milliseconds answer_timeout{60000};
    // With notices (SetNotices): how often a holder and a sweep read the documents anyway, in
    // case a notice was lost. Without them they read every `poll`, and a sweep every 5 ms.
    std::chrono::milliseconds notice_poll{250};
  };
  // svc holds this process's shards (svc->shards()); docs is the store every process shares.
  ContentShards(Service* svc, store::DocumentStore* docs, Env* env, Options opt);
  ~ContentShards();  // stops; a holder says it is gone
  ContentShards(const ContentShards&) = delete;
  ContentShards& operator=(const ContentShards&) = delete;

  // Wake-ups on kShardQueryChannel and kShardAnswerChannel (PostgreSQL: store.h NoticeWaiter),
  // before Start: a holder answers a query when it is written and a sweep reads the answers when
  // they are, instead of each polling the store.
  void SetNotices(std::unique_ptr<store::NoticeWaiter> notices);
  // A waiter on both channels of the PostgreSQL database at url, for SetNotices.
  static Result<std::unique_ptr<store::NoticeWaiter>> OpenNotices(const std::string& url);

  // Starts the thread that answers other processes' queries for the shards held here (with
  // heartbeats) and deletes old queries. A process holding no shard only asks.
  void Start();

  // The sweep's matches of s in every shard (Service::MatchContent over the whole index).
  // Unavailable, naming the shards, when one has no live holder or did not answer in time.
  Result<std::vector<Service::ContentHit>> Match(const Signals& s, int threshold, int min_quality)
      TD_EXCLUDES(mu_);

  // The shards no live process holds (from the heartbeats), and how many holders are live.
  struct Coverage {
    int total = 1;
    std::vector<int> unheld;
    int holders = 0;
  };
  Result<Coverage> Check();
  // The same, read at most once a second (for /readyz, which needs no key, and /metrics).
  Result<Coverage> RecentCheck() TD_EXCLUDES(cache_mu_);

  struct Stats {
    uint64_t asked = 0;      // queries this process sent to others
    uint64_t answered = 0;   // queries of others answered here
    uint64_t held_back = 0;  // sweeps held back: a shard unheld or silent
  };
  Stats stats() const { return {asked_.load(), answered_.load(), held_back_.load()}; }
  // This process's name among the holders: "pid P on H/R" (R random).
  const std::string& holder() const { return holder_; }

 private:
  void Run() TD_EXCLUDES(mu_);
  void ListenForNotices() TD_EXCLUDES(mu_);
  Status Heartbeat(bool live);
  Status AnswerOpenQueries();
  void DeleteOld();
  void CloseAsked() TD_EXCLUDES(mu_);
  bool Stopping() TD_EXCLUDES(mu_);

  Service* svc_;
  store::DocumentStore* docs_;
  Env* env_;
  const Options opt_;
  std::string holder_;
  int64_t holder_doc_ = 0, holder_epoch_ = -1;  // the current heartbeat document (Run's thread)
  int64_t scan_after_ = 0;                      // queries at or below this id are all seen
  std::set<int64_t> done_;                      // queries answered or passed over, above it
  // Queries answered in full or given up, closed by Run's thread (off the asking sweep's path).
  std::vector<store::DocRecord> to_close_ TD_GUARDED_BY(mu_);
  Mutex cache_mu_;
  int64_t cached_at_ TD_GUARDED_BY(cache_mu_) = 0;
  Result<Coverage> cached_ TD_GUARDED_BY(cache_mu_) = Coverage{};
  Mutex mu_;
  CondVar cv_;
  bool stop_ TD_GUARDED_BY(mu_) = false;
  // Notices seen (by notice_thread_), counted per channel; cv_ is signalled at each.
  uint64_t queries_noticed_ TD_GUARDED_BY(mu_) = 0;
  uint64_t answers_noticed_ TD_GUARDED_BY(mu_) = 0;
  std::unique_ptr<store::NoticeWaiter> notices_;
  std::thread thread_, notice_thread_;
  std::atomic<uint64_t> asked_{0}, answered_{0}, held_back_{0};
};

}  // namespace takedown::service
