// File access for the core libraries: reading a whole file under a size limit, checked before
// any allocation. Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace takedown {

using Bytes = std::vector<uint8_t>;

// Reads a regular file. Fails with kNotFound, kPermissionDenied, kInvalidArgument (a directory or
// other non-regular file), kResourceExhausted (larger than max_bytes) or kIoError, each naming
// the path's problem (not the path itself: callers add that as context).
Result<Bytes> ReadFileLimited(const std::string& path, uint64_t max_bytes);

}  // namespace takedown
