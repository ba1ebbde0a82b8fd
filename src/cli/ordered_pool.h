// Runs work on N threads and hands results back in input order.
//
// Workers pull the next input themselves (under a lock), so inputs are read lazily and a list of
// millions of paths never sits in memory; at most `window` inputs are in flight or waiting to be
// emitted. `emit` runs on the calling thread, in input order. `work` runs on worker threads and
// gets the worker's index (0..threads-1) for per-thread state.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace takedown::cli {

template <typename In, typename Out>
void OrderedParallelMap(int threads, size_t window, const std::function<std::optional<In>()>& next,
                        const std::function<Out(const In&, int worker)>& work,
                        const std::function<void(Out&)>& emit) {
  std::mutex mu;
  std::condition_variable can_take;  // workers: window has room
  std::condition_variable can_emit;  // emitter: next result ready or input exhausted
  size_t taken = 0;                  // GUARDED_BY(mu): inputs handed to workers
  size_t emitted = 0;                // GUARDED_BY(mu)
  bool exhausted = false;            // GUARDED_BY(mu)
  int running = threads;             // GUARDED_BY(mu)
  std::map<size_t, Out> ready;       // GUARDED_BY(mu)

  auto worker = [&](int index) {
    for (;;) {
      std::optional<In> item;
      size_t seq;
      {
        std::unique_lock lock(mu);
        can_take.wait(lock, [&] { return exhausted || taken - emitted < window; });
        if (exhausted) break;
        item = next();
        if (!item) {
          exhausted = true;
          can_take.notify_all();
          break;
        }
        seq = taken++;
      }
      Out out = work(*item, index);
      {
        std::lock_guard lock(mu);
        ready.emplace(seq, std::move(out));
      }
      can_emit.notify_one();
    }
    std::lock_guard lock(mu);
    --running;
    can_emit.notify_one();
  };

  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) pool.emplace_back(worker, i);

  for (;;) {
    Out out;
    {
      std::unique_lock lock(mu);
      can_emit.wait(lock,
                    [&] { return ready.count(emitted) != 0 || (running == 0 && ready.empty()); });
      auto it = ready.find(emitted);
      if (it == ready.end()) break;  // all workers done and nothing left
      out = std::move(it->second);
      ready.erase(it);
    }
    emit(out);
    {
      std::lock_guard lock(mu);
      ++emitted;
    }
    can_take.notify_all();
  }
  for (auto& t : pool) t.join();
}

}  // namespace takedown::cli
