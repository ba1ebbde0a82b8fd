#include "core/env.h"

#include <sys/random.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace takedown {

uint64_t Env::RandomBelow(uint64_t bound) {
  if (bound <= 1) return 0;
  // Rejection sampling: no modulo bias.
  const uint64_t limit =
      std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % bound;
  for (;;) {
    uint64_t v = 0;
    RandomBytes(&v, sizeof v);
    if (v < limit) return v % bound;
  }
}

double Env::RandomUniform(double lo, double hi) {
  uint64_t v = 0;
  RandomBytes(&v, sizeof v);
  const double unit = static_cast<double>(v >> 11) * 0x1.0p-53;  // [0, 1)
  return lo + (hi - lo) * unit;
}

namespace {

class SystemEnv final : public Env {
 public:
  int64_t NowMs() override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  void RandomBytes(void* out, size_t n) override {
    auto* p = static_cast<unsigned char*>(out);
    while (n > 0) {
      const ssize_t got = getrandom(p, n, 0);
      if (got < 0) {
        if (errno == EINTR) continue;
        std::fprintf(stderr, "takedown: fatal: the kernel gives no randomness (getrandom)\n");
        std::abort();
      }
      p += got;
      n -= static_cast<size_t>(got);
    }
  }

  std::string TempDir() override {
    const char* t = std::getenv("TMPDIR");
    return t != nullptr && *t != '\0' ? t : "/tmp";
  }
};

}  // namespace

Env* Env::Default() {
  static SystemEnv* env = new SystemEnv();  // never destroyed: threads may outlive main's statics
  return env;
}

}  // namespace takedown
