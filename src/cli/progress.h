// `--progress` of the long commands: every 2 s a line on stderr with what is done, the rate and,
// when the total is known, the total and the time left; one closing line at the end.
//   progress: bank 120/245 files (80 from the cache, 0 failed), 31.2 files/s, ~4 s left
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace takedown::cli {

class Progress {
 public:
  // what: "bank", "files"...; total: nullopt when the inputs are streamed (--files-from).
  Progress(std::string what, std::optional<size_t> total, bool on,
           std::chrono::milliseconds every = std::chrono::seconds(2));
  void Tick(bool failed, bool cached = false);
  void Done();
  // The lines printed so far (tests).
  const std::vector<std::string>& lines() const { return lines_; }

  // Seconds as "~45 s", "~3 min", "~2.5 h".
  static std::string Eta(double seconds);

 private:
  std::string Line(bool final) const;
  std::string what_;
  std::optional<size_t> total_;
  bool on_;
  std::chrono::milliseconds every_;
  size_t done_ = 0, failed_ = 0, cached_ = 0;
  std::chrono::steady_clock::time_point start_, last_;
  std::vector<std::string> lines_;
};

// How many files the arguments name (directories walked when recursive); nullopt when
// files_from is set (read as the command goes) or a directory cannot be walked.
std::optional<size_t> CountInputs(const std::vector<std::string>& args,
                                  const std::string& files_from, bool recursive);

}  // namespace takedown::cli
