// `takedown-bench robustness`: the plain-PDQ robustness table on a whole corpus.
#include <cstdio>
#include <thread>

#include "runner.h"
#include "support/robustness.h"
#include "support/shared_data.h"

namespace takedown::bench {
namespace {

int RunRobustness(const Options& o) {
  for (const std::string& dir : {o.photos, o.extra}) {
    if (dir.empty()) continue;
    const auto photos = testing::ListFiles(dir);
    const auto t0 = Clock::now();
    const auto table = testing::MeasurePlainPdqRobustness(
        photos, 31, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
    std::printf("%s\n%s(%.1f s)\n\n", dir.c_str(), testing::FormatRobustnessTable(table).c_str(),
                Seconds(t0, Clock::now()));
  }
  return 0;
}

const Register kRobustness("robustness", "plain-PDQ recall under the 20 re-share edits",
                           RunRobustness);

}  // namespace
}  // namespace takedown::bench
