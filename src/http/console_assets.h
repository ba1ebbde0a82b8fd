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

// The report page (/report) and its hashing worker: the console's policy, and WebAssembly
// ('wasm-unsafe-eval': compiling WebAssembly, never eval of script) with workers from this origin;
// thumbnails are blob: images made on the device. A worker runs under its own script's policy,
// so the worker's file is served with this one too.
inline constexpr const char* kReportCsp =
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; "
    "style-src 'self'; img-src 'self' blob:; connect-src 'self'; font-src 'self'; "
    "media-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

}  // namespace takedown::http
