// The robustness table: for each re-share edit, the share of photos whose edited copy is found
// (PDQ distance <= threshold to the best dihedral variant of the original). Shared by the test
// that prints it and the benchmark that prints it for the whole corpus.
#pragma once

#include <string>
#include <vector>

namespace takedown::testing {

struct RobustnessRow {
  std::string edit;
  int found = 0;
  int total = 0;
  std::vector<int> distances;  // best distance per photo, in photo order
  double recall() const { return total == 0 ? 0.0 : static_cast<double>(found) / total; }
};

struct RobustnessTable {
  int photos = 0;
  int threshold = 31;
  std::vector<RobustnessRow> rows;
  int found = 0;
  int total = 0;
};

// Hashes every photo (fast mode, 8 dihedral variants) and every edited copy (fast mode, plain),
// on `threads` threads. Photos that fail to decode are skipped and counted out.
RobustnessTable MeasurePlainPdqRobustness(const std::vector<std::string>& photos, int threshold,
                                          int threads);

// A table a person can read: edit, found/total, recall %, median distance.
std::string FormatRobustnessTable(const RobustnessTable& t);

}  // namespace takedown::testing
