// A pool of background threads that run one function for ids queued to it: each id at most once
// while it waits (queued twice before it runs: run once), in the order queued, each by one
// thread. The queue holds ids only (the work's inputs are durable elsewhere), so it needs no bound
// of its own. Threads run below the request threads' priority (core/thread.h). Thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <set>
#include <thread>
#include <vector>

#include "core/mutex.h"
#include "core/thread.h"

namespace takedown::service {

class IdQueue {
 public:
  IdQueue() = default;
  ~IdQueue() { Stop(); }
  IdQueue(const IdQueue&) = delete;
  IdQueue& operator=(const IdQueue&) = delete;

  // Starts `threads` threads running fn(id) (0: none; Add then only queues).
  void Start(int threads, std::function<void(int64_t)> fn) {
    fn_ = std::move(fn);
    for (int i = 0; i < threads; ++i) {
      threads_.emplace_back([this] { Loop(); });
    }
  }
  void Add(int64_t id) {
    {
      MutexLock l(&mu_);
      if (!waiting_.insert(id).second) return;
      queue_.push_back(id);
    }
    cv_.Signal();
  }
  // Ids waiting and running.
  size_t Size() {
    MutexLock l(&mu_);
    return queue_.size() + running_;
  }
  // Lets running work finish; what still waits stays undone (it is taken up again at start).
  void Stop() {
    {
      MutexLock l(&mu_);
      stopping_ = true;
    }
    cv_.SignalAll();
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    threads_.clear();
  }

 private:
  void Loop() {
    LowerThisThreadPriority();
    MutexLock l(&mu_);
    while (true) {
      while (!stopping_ && queue_.empty()) cv_.Wait(&mu_);
      if (stopping_) return;
      const int64_t id = queue_.front();
      queue_.pop_front();
      waiting_.erase(id);
      ++running_;
      mu_.Unlock();
      fn_(id);
      mu_.Lock();
      --running_;
    }
  }

  std::function<void(int64_t)> fn_;
  std::vector<std::thread> threads_;
  Mutex mu_;
  CondVar cv_;
  std::deque<int64_t> queue_ TD_GUARDED_BY(mu_);
  std::set<int64_t> waiting_ TD_GUARDED_BY(mu_);
  size_t running_ TD_GUARDED_BY(mu_) = 0;
  bool stopping_ TD_GUARDED_BY(mu_) = false;
};

}  // namespace takedown::service
