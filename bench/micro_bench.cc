// `takedown-bench micro`: Google Benchmark micro-benchmarks of the hot kernels. Extra arguments
// go to Google Benchmark (e.g. --benchmark_filter=Pdq).
#include <benchmark/benchmark.h>

#include <vector>

#include "hash/pdq.h"
#include "hash/pdq_kernels.h"
#include "runner.h"
#include "support/synthetic.h"

namespace takedown::bench {
namespace {

void BM_PdqImage512(benchmark::State& state) {
  const media::Image img = testing::SyntheticPhoto(512, 512, 1);
  hash::PdqHasher pdq;
  for (auto _ : state) benchmark::DoNotOptimize(pdq.HashImage(img));
}
BENCHMARK(BM_PdqImage512)->Unit(benchmark::kMicrosecond);

void BM_JaroszFilter512(benchmark::State& state) {
  std::vector<float> a(512 * 512, 1.0f), b(a.size()), scratch(32 * 512 + 64);
  for (auto _ : state) {
    hash::pdq::JaroszFilter(a.data(), b.data(), 512, 512, scratch.data());
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_JaroszFilter512)->Unit(benchmark::kMicrosecond);

void BM_BoxAlongRows512(benchmark::State& state) {
  std::vector<float> a(512 * 512, 1.0f), b(a.size()), scratch(32 * 512 + 64);
  for (auto _ : state) {
    hash::pdq::BoxAlongRows(a.data(), b.data(), 512, 512, 4, scratch.data());
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_BoxAlongRows512)->Unit(benchmark::kMicrosecond);

void BM_BoxAlongCols512(benchmark::State& state) {
  std::vector<float> a(512 * 512, 1.0f), b(a.size()), scratch(32 * 512 + 64);
  for (auto _ : state) {
    hash::pdq::BoxAlongCols(a.data(), b.data(), 512, 512, 4, scratch.data());
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_BoxAlongCols512)->Unit(benchmark::kMicrosecond);

void BM_Dct64To16(benchmark::State& state) {
  hash::pdq::Buffer64 a;
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i % 251);
  hash::pdq::Buffer16 out;
  for (auto _ : state) {
    hash::pdq::Dct64To16(a, out);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_Dct64To16)->Unit(benchmark::kMicrosecond);

void BM_LumaFromRgb512(benchmark::State& state) {
  const media::Image img = testing::SyntheticPhoto(512, 512, 2);
  std::vector<float> out(512 * 512);
  for (auto _ : state) {
    hash::pdq::LumaFromRgb(img.pixels.data(), out.size(), out.data());
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_LumaFromRgb512)->Unit(benchmark::kMicrosecond);

int RunMicro(const Options& o) {
  std::vector<char*> argv;
  std::string prog = "takedown-bench";
  argv.push_back(prog.data());
  std::vector<std::string> rest = o.rest;
  for (auto& r : rest) argv.push_back(r.data());
  int argc = static_cast<int>(argv.size());
  benchmark::Initialize(&argc, argv.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

const Register kMicro("micro", "Google Benchmark micro-benchmarks of the PDQ kernels", RunMicro);

}  // namespace
}  // namespace takedown::bench
