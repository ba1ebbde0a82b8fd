// Reading lists of PDQ hashes, in the forms hash-sharing exchanges and takedown itself produce:
//  - one 64-digit hex hash per line;
//  - the reference CLI's CSV (`pdqhex,quality,filename`), as `takedown hash` prints it;
//  - JSON lines from `takedown hash --format jsonl` (the "pdq" field).
// A line's number (0-based, counting every line) is its id. Empty lines and lines starting with
// '#' are skipped. Thread-compatible.
#pragma once

#include <cstdint>
#include <functional>
#include <istream>
#include <string>

#include "core/status.h"
#include "hash/hash256.h"

namespace takedown::hash {

struct HashListEntry {
  uint64_t line = 0;  // 0-based line number: the entry's id
  Hash256 hash;
};

// Parses one line. Errors say what is wrong without the line number.
Result<Hash256> ParseHashLine(std::string_view line);

// Calls fn for each entry in order. Malformed lines are collected: after the whole input, up to
// `max_errors` of them are reported in one error ("line 12: non-hex character 'g' at position 5;
// line 40: ..."), and fn has then not been told about them. Stops at fn's first error.
Status ReadHashList(std::istream& in, const std::function<Status(const HashListEntry&)>& fn,
                    int max_errors = 10);

}  // namespace takedown::hash
