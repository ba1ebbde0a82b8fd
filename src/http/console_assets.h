// The console's built files (console/, `vite build`), embedded in the binary at build time
// (cmake/embed_console.cmake): served at /console/ with no file system and no network.
#pragma once

#include <span>
#include <string_view>

namespace takedown::http {

struct ConsoleAsset {
  std::string_view path;  // relative to /console/, e.g. "index.html", "assets/index-1a2b.js"
  std::string_view content_type;
  std::string_view body;
};

// Sorted by path.
std::span<const ConsoleAsset> ConsoleAssets();

}  // namespace takedown::http
