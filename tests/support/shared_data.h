// Where tests and benchmarks find ../shared (media and reference data), and how they say loudly
// that it is missing. TAKEDOWN_SHARED_DIR in the environment overrides the configured path.
#pragma once

#include <string>
#include <vector>

namespace takedown::testing {

// The shared directory, or "" when it does not exist.
std::string SharedDir();

// Prints a banner on stderr naming what is skipped and why (once per message).
void WarnSharedMissing(const std::string& what);

// Regular files directly in dir, sorted; empty when dir is missing.
std::vector<std::string> ListFiles(const std::string& dir);

// Every `stride`-th element (stride <= 1: all). The representative subset for the default run.
std::vector<std::string> EveryNth(const std::vector<std::string>& v, int stride);

// TAKEDOWN_FULL_CORPUS=1 selects whole corpora in tests that otherwise take a subset.
bool FullCorpus();

}  // namespace takedown::testing

// In a GoogleTest body: skip, loudly, when ../shared is absent.
#define TD_REQUIRE_SHARED(what)                                            \
  do {                                                                     \
    if (::takedown::testing::SharedDir().empty()) {                        \
      ::takedown::testing::WarnSharedMissing(what);                        \
      GTEST_SKIP() << "../shared is missing: " << (what) << " NOT TESTED"; \
    }                                                                      \
  } while (false)
