// The list of files a command works on: paths given as arguments (directories walked when
// recursive), then paths read one per line from --files-from (a file or "-" for stdin), lazily.
// Not thread-safe; OrderedParallelMap calls Next under its lock.
#pragma once

#include <cstdio>
#include <deque>
#include <istream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace takedown::cli {

// One input: a path, or a problem found while listing (then `error` says what).
struct InputItem {
  std::string path;
  std::string error;
};

class InputList {
 public:
  InputList(std::vector<std::string> args, std::string files_from, bool recursive);

  // The next input, or nullopt at the end. Directories met while recursive expand in place,
  // their files in sorted order. An unreadable directory or --files-from list is an item with an
  // error, so it is reported in order with the rest.
  std::optional<InputItem> Next();

 private:
  void ExpandDirectory(const std::string& dir);

  std::deque<InputItem> pending_;
  std::string files_from_;
  bool recursive_;
  bool list_opened_ = false;
  std::unique_ptr<std::istream> owned_stream_;
  std::istream* stream_ = nullptr;
};

}  // namespace takedown::cli
