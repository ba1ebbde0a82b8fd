// Runs work on N threads and hands results back in input order.
//
// Workers pull the next input themselves (under a lock), so inputs are read lazily and a list of
// millions of paths never sits in memory; at most `window` inputs are in flight or waiting to be
// emitted. `emit` runs on the calling thread, in input order. `work` runs on worker threads and
// gets the worker's index (0..threads-1) for per-thread state.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <thread>
#include <vector>

#include "core/mutex.h"

namespace takedown::cli {

template <typename In, typename Out>
void OrderedParallelMap(int threads, size_t window, const std::function<std::optional<In>()>& next,
                        const std::function<Out(const In&, int worker)>& work,
                        const std::function<void(Out&)>& emit) {
  struct Shared {
    Mutex mu;
    CondVar can_take;                    // workers: window has room
    CondVar can_emit;                    // emitter: next result ready or input exhausted
    size_t taken TD_GUARDED_BY(mu) = 0;  // inputs handed to workers
    size_t emitted TD_GUARDED_BY(mu) = 0;
    bool exhausted TD_GUARDED_BY(mu) = false;
    int running TD_GUARDED_BY(mu) = 0;
    std::map<size_t, Out> ready TD_GUARDED_BY(mu);
  } s;
  {
    MutexLock lock(&s.mu);
    s.running = threads;
  }

  auto worker = [&](int index) {
    for (;;) {
      std::optional<In> item;
      size_t seq;
      {
        MutexLock lock(&s.mu);
        while (!s.exhausted && s.taken - s.emitted >= window) s.can_take.Wait(&s.mu);
        if (s.exhausted) break;
        item = next();
        if (!item) {
          s.exhausted = true;
          s.can_take.SignalAll();
          break;
        }
        seq = s.taken++;
      }
      Out out = work(*item, index);
      {
        MutexLock lock(&s.mu);
        s.ready.emplace(seq, std::move(out));
      }
      s.can_emit.Signal();
    }
    MutexLock lock(&s.mu);
    --s.running;
    s.can_emit.Signal();
  };

  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) pool.emplace_back(worker, i);

  for (;;) {
    Out out;
    {
      MutexLock lock(&s.mu);
      while (s.ready.count(s.emitted) == 0 && !(s.running == 0 && s.ready.empty()))
        s.can_emit.Wait(&s.mu);
      auto it = s.ready.find(s.emitted);
      if (it == s.ready.end()) break;  // all workers done and nothing left
      out = std::move(it->second);
      s.ready.erase(it);
    }
    emit(out);
    {
      MutexLock lock(&s.mu);
      ++s.emitted;
    }
    s.can_take.SignalAll();
  }
  for (auto& t : pool) t.join();
}

}  // namespace takedown::cli
