// Evaluation of the robust matching rule on a corpus: every photo is a bank item; each photo and
// each of its 20 re-share edits is a query. Shared by the corpus test and `takedown-bench match`.
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "match/matcher.h"
#include "support/edits.h"

namespace takedown::testing {

struct EditTally {
  std::string edit;  // "(unedited)" or the edit's name
  int total = 0;
  int plain = 0;   // found by plain PDQ (best of 8 dihedral variants, <= 31)
  int robust = 0;  // found by the rule
  int false_matches = 0;
  std::map<std::string, int> by_signal;
};

struct MatchEvaluation {
  size_t photos = 0;
  std::vector<EditTally> rows;  // unedited first, then the edits in table order
  std::vector<std::string> false_list;
  // Each (photo, edit) the rule missed, with what the upload and the bank item found: the
  // content boxes (in each file's pixels), the layers and the quality.
  std::vector<std::string> miss_list;
  double bank_seconds = 0;
};

// Pairs of file names that are the same picture (both orders).
std::set<std::pair<std::string, std::string>> LoadNearDuplicates(
    const std::vector<std::string>& tsv_paths);

// hash_only: each bank item is only the photo's PDQ as a hash list carries it (reference mode,
// original orientation); uploads are hashed with their dihedral PDQs. edits: the edits to query
// with (the 20 re-share edits when null); query_stride: every photo is in the bank, every
// query_stride-th is edited and queried (sweeps of hundreds of edits on a sample).
MatchEvaluation EvaluateMatching(const std::vector<std::string>& photos,
                                 const match::MatchOptions& options, int threads,
                                 const std::set<std::pair<std::string, std::string>>& near,
                                 bool hash_only = false, const std::vector<Edit>* edits = nullptr,
                                 size_t query_stride = 1);

std::string FormatMatchEvaluation(const MatchEvaluation& e);

}  // namespace takedown::testing
