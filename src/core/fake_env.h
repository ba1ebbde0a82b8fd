// A test environment: time stands still until a test moves it, randomness is a seeded,
// reproducible stream, and temporary files go where the test says. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <random>
#include <string>

#include "core/env.h"

namespace takedown {

class FakeEnv final : public Env {
 public:
  explicit FakeEnv(int64_t now_ms = 1'767'225'600'000, uint64_t seed = 42,
                   std::string temp_dir = "/tmp")
      : now_ms_(now_ms), rng_(seed), temp_dir_(std::move(temp_dir)) {}

  int64_t NowMs() override { return now_ms_.load(); }
  void RandomBytes(void* out, size_t n) override {
    std::lock_guard lock(mu_);
    auto* p = static_cast<unsigned char*>(out);
    for (size_t i = 0; i < n; ++i) p[i] = static_cast<unsigned char>(rng_());
  }
  std::string TempDir() override { return temp_dir_; }

  void SetNowMs(int64_t ms) { now_ms_.store(ms); }
  void AdvanceMs(int64_t ms) { now_ms_.fetch_add(ms); }

 private:
  std::atomic<int64_t> now_ms_;
  std::mutex mu_;
  std::mt19937_64 rng_;  // guarded by mu_
  std::string temp_dir_;
};

}  // namespace takedown
