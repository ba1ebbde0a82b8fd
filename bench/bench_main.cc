// takedown-bench: one runner for every benchmark. `takedown-bench` lists them;
// `takedown-bench NAME [--photos DIR] [--extra DIR] [--runs N]` runs one; `all` runs all.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstring>
#include <string>

#include "runner.h"

int main(int argc, char** argv) {
  using takedown::bench::Registry;
  CLI::App app{"takedown-bench: benchmarks that print tables (see README, Benchmarks)"};
  takedown::bench::Options opts;
  opts.photos = std::string(TAKEDOWN_SHARED_DIR_DEFAULT) + "/media/photos";
  std::string name;
  app.add_option("benchmark", name, "Benchmark to run, or 'all'");
  app.add_option("--photos", opts.photos, "Directory of images")->capture_default_str();
  app.add_option("--extra", opts.extra, "A second directory of images not in ../shared");
  app.add_option("--runs", opts.runs, "Timed runs after one warm-up")->capture_default_str();
  app.allow_extras();
  CLI11_PARSE(app, argc, argv);
  opts.rest = app.remaining();
  if (name.empty()) {
    std::printf("benchmarks:\n");
    for (const auto& b : Registry()) std::printf("  %-12s %s\n", b.name.c_str(), b.what.c_str());
    return 0;
  }
  int failed = 0;
  bool ran = false;
  for (const auto& b : Registry()) {
    if (name != "all" && name != b.name) continue;
    ran = true;
    std::printf("\n=== %s: %s ===\n", b.name.c_str(), b.what.c_str());
    failed += b.run(opts);
  }
  if (!ran) {
    std::fprintf(stderr,
                 "takedown-bench: no benchmark named '%s' (run without arguments to list)\n",
                 name.c_str());
    return 2;
  }
  return failed == 0 ? 0 : 1;
}
