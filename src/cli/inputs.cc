#include "cli/inputs.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <system_error>

namespace takedown::cli {

namespace fs = std::filesystem;

InputList::InputList(std::vector<std::string> args, std::string files_from, bool recursive)
    : files_from_(std::move(files_from)), recursive_(recursive) {
  for (auto& a : args) pending_.push_back({std::move(a), {}});
}

void InputList::ExpandDirectory(const std::string& dir) {
  std::vector<InputItem> files;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code type_ec;
    if (it->is_regular_file(type_ec)) files.push_back({it->path().string(), {}});
  }
  std::sort(files.begin(), files.end(),
            [](const InputItem& a, const InputItem& b) { return a.path < b.path; });
  if (ec) files.push_back({dir, "cannot list directory: " + ec.message()});
  pending_.insert(pending_.begin(), files.begin(), files.end());
}

std::optional<InputItem> InputList::Next() {
  for (;;) {
    if (pending_.empty() && !files_from_.empty()) {
      if (!list_opened_) {
        list_opened_ = true;
        if (files_from_ == "-") {
          stream_ = &std::cin;
        } else {
          owned_stream_ = std::make_unique<std::ifstream>(files_from_);
          if (!*owned_stream_) return InputItem{files_from_, "cannot read the --files-from list"};
          stream_ = owned_stream_.get();
        }
      }
      std::string line;
      while (stream_ != nullptr && std::getline(*stream_, line)) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (!line.empty()) break;
      }
      if (line.empty())
        stream_ = nullptr;
      else
        pending_.push_back({std::move(line), {}});
    }
    if (pending_.empty()) return std::nullopt;
    InputItem item = std::move(pending_.front());
    pending_.pop_front();
    std::error_code ec;
    if (item.error.empty() && recursive_ && fs::is_directory(item.path, ec)) {
      ExpandDirectory(item.path);
      continue;
    }
    return item;
  }
}

}  // namespace takedown::cli
