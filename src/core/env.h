// The environment the domain runs in: wall-clock time, randomness and temporary storage, behind
// one interface (LevelDB's Env), so that tests run the appeal window, evidence retention, retry
// backoff and deadlines on a fake clock in milliseconds, without sleeping or editing the store.
//
// Env::Default() is the real one (system clock, the kernel's randomness, $TMPDIR or /tmp); it
// lives for the whole process. FakeEnv (core/fake_env.h) is for tests. Implementations are
// thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace takedown {

class Env {
 public:
  virtual ~Env() = default;

  // Milliseconds since the Unix epoch (what documents, the audit chain and reports keep).
  virtual int64_t NowMs() = 0;
  // n bytes from a cryptographically secure source (keys, nonces, Message-IDs, backoff jitter).
  // Aborts the process when the kernel has none to give: nothing secure can go on without it.
  virtual void RandomBytes(void* out, size_t n) = 0;
  // A directory for short-lived private files (mode 700 parents are the caller's concern).
  virtual std::string TempDir() = 0;

  // A uniform integer in [0, bound) (bound > 0) and a uniform double in [lo, hi), from
  // RandomBytes.
  uint64_t RandomBelow(uint64_t bound);
  double RandomUniform(double lo, double hi);

  // The process-wide real environment.
  static Env* Default();
};

}  // namespace takedown
