#include "runner.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

namespace takedown::bench {

std::vector<Benchmark>& Registry() {
  static std::vector<Benchmark> r;
  return r;
}

std::vector<LoadedFile> LoadDir(const std::string& dir) {
  std::vector<LoadedFile> out;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    std::ifstream f(it->path(), std::ios::binary);
    LoadedFile lf{it->path().string(), {}};
    lf.bytes.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    out.push_back(std::move(lf));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  return out;
}

double MedianTime(int runs, const std::function<void()>& fn) {
  fn();  // warm-up: caches, page faults, lazy tables
  std::vector<double> t;
  for (int i = 0; i < std::max(1, runs); ++i) {
    const auto a = Clock::now();
    fn();
    t.push_back(Seconds(a, Clock::now()));
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

int Target(const std::string& what, bool ok, const std::string& measured) {
  std::printf("  [%s] %s: %s\n", ok ? "PASS" : "FAIL", what.c_str(), measured.c_str());
  return ok ? 0 : 1;
}

}  // namespace takedown::bench
