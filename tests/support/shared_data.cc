#include "support/shared_data.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <set>

namespace takedown::testing {

namespace fs = std::filesystem;

std::string SharedDir() {
  const char* env = std::getenv("TAKEDOWN_SHARED_DIR");
  std::string dir = env != nullptr ? env : TAKEDOWN_SHARED_DIR_DEFAULT;
  std::error_code ec;
  return fs::is_directory(dir, ec) ? dir : std::string();
}

void WarnSharedMissing(const std::string& what) {
  static std::mutex mu;
  static std::set<std::string> said;
  std::lock_guard lock(mu);
  if (!said.insert(what).second) return;
  std::fprintf(stderr,
               "\n"
               "********************************************************************\n"
               "** ../shared (media and reference data) NOT FOUND\n"
               "** looked in TAKEDOWN_SHARED_DIR or %s\n"
               "** SKIPPED: %s\n"
               "********************************************************************\n\n",
               TAKEDOWN_SHARED_DIR_DEFAULT, what.c_str());
}

std::vector<std::string> ListFiles(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec)) out.push_back(it->path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> EveryNth(const std::vector<std::string>& v, int stride) {
  if (stride <= 1) return v;
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size(); i += static_cast<size_t>(stride)) out.push_back(v[i]);
  return out;
}

bool FullCorpus() {
  const char* env = std::getenv("TAKEDOWN_FULL_CORPUS");
  return env != nullptr && std::string(env) == "1";
}

}  // namespace takedown::testing
