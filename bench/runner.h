// The benchmark runner's shared pieces: declared benchmarks, corpus loading, timing helpers.
// Every benchmark does a warm-up and several timed runs and prints tables a person can read.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace takedown::bench {

struct Options {
  std::string photos;             // directory of images (default ../shared/media/photos)
  std::string extra;              // optional second directory (photos not in ../shared)
  int runs = 3;                   // timed runs after one warm-up
  std::vector<std::string> rest;  // arguments passed through (Google Benchmark flags)
};

struct Benchmark {
  std::string name;
  std::string what;
  std::function<int(const Options&)> run;  // returns 0 when every target is met
};

// The registry, in the order benchmarks were declared.
std::vector<Benchmark>& Registry();
struct Register {
  Register(std::string name, std::string what, std::function<int(const Options&)> run) {
    Registry().push_back({std::move(name), std::move(what), std::move(run)});
  }
};

struct LoadedFile {
  std::string path;
  std::vector<uint8_t> bytes;
};

// Reads every regular file of dir (sorted) into memory.
std::vector<LoadedFile> LoadDir(const std::string& dir);

using Clock = std::chrono::steady_clock;
inline double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Runs fn once to warm up, then `runs` times; returns the median wall time in seconds.
double MedianTime(int runs, const std::function<void()>& fn);

// The p-quantile (0..1) of v by rank (the value below which a fraction p lies); 0 when empty.
inline double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// "PASS"/"FAIL" line for a target; returns 1 when failed.
int Target(const std::string& what, bool ok, const std::string& measured);

}  // namespace takedown::bench
