#include "cli/progress.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>

namespace takedown::cli {

Progress::Progress(std::string what, std::optional<size_t> total, bool on,
                   std::chrono::milliseconds every)
    : what_(std::move(what)),
      total_(total),
      on_(on),
      every_(every),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

std::string Progress::Eta(double seconds) {
  if (seconds < 90) return fmt::format("~{:.0f} s", std::max(1.0, seconds));
  if (seconds < 90 * 60) return fmt::format("~{:.0f} min", seconds / 60);
  return fmt::format("~{:.1f} h", seconds / 3600);
}

std::string Progress::Line(bool final) const {
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = s > 0 ? static_cast<double>(done_) / s : 0;
  std::string count = total_ ? fmt::format("{}/{}", done_, *total_) : fmt::format("{}", done_);
  std::string detail = cached_ > 0 ? fmt::format("{} from the cache, {} failed", cached_, failed_)
                                   : fmt::format("{} failed", failed_);
  if (final) {
    return fmt::format("done: {} {} files ({}) in {:.2f} s, {:.1f} files/s", what_, done_, detail,
                       s, rate);
  }
  std::string line =
      fmt::format("progress: {} {} files ({}), {:.1f} files/s", what_, count, detail, rate);
  if (total_ && rate > 0 && *total_ >= done_) {
    line += ", " + Eta(static_cast<double>(*total_ - done_) / rate) + " left";
  }
  return line;
}

void Progress::Tick(bool failed, bool cached) {
  ++done_;
  if (failed) ++failed_;
  if (cached) ++cached_;
  if (!on_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_ < every_) return;
  last_ = now;
  lines_.push_back(Line(false));
  spdlog::info("{}", lines_.back());
}

void Progress::Done() {
  if (!on_) return;
  lines_.push_back(Line(true));
  spdlog::info("{}", lines_.back());
}

std::optional<size_t> CountInputs(const std::vector<std::string>& args,
                                  const std::string& files_from, bool recursive) {
  namespace fs = std::filesystem;
  if (!files_from.empty()) return std::nullopt;
  size_t n = 0;
  for (const auto& a : args) {
    std::error_code ec;
    if (recursive && fs::is_directory(a, ec)) {
      for (fs::recursive_directory_iterator it(a, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->is_regular_file(ec)) ++n;
      }
      if (ec) return std::nullopt;
    } else {
      ++n;
    }
  }
  return n;
}

}  // namespace takedown::cli
