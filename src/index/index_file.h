// The saved form of a HashIndex: one file, mapped read-only when opened.
//
//   header (magic "TDHIDX1", version, counts, directory bits per part, and for each section its
//   offset, length and XXH64 checksum; the header has its own checksum), then 64-byte aligned
//   sections: hashes (n x 32 B), ids (n x 8 B), states (n x 1 B), by_id (n x 4 B), and per MIH
//   part a directory ((2^b + 1) x 8 B: offset and presence mask, see mih.h) and entries (n x 4 B).
//   Little-endian. Version 2.
//
// ValidateIndexFile checks everything a query would otherwise trust -- sizes, checksums, offsets
// in range, monotonic directories, presence masks that cover their buckets, sorted unique ids --
// so that a corrupt, truncated or hostile file is an error naming the section and byte offset,
// never a crash or a wrong answer.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <utility>

#include "core/status.h"
#include "index/mih.h"
#include "index/store.h"

namespace takedown::index {

struct IndexFileView {
  uint64_t count = 0;
  const Hash256* hashes = nullptr;
  const uint64_t* ids = nullptr;
  const uint8_t* states = nullptr;
  std::span<const uint32_t> by_id;
  std::array<MihSegment::Part, kMihParts> parts;
};

Result<IndexFileView> ValidateIndexFile(const uint8_t* data, uint64_t size);

// Writes slots [0, store.size()) of `store` (which must hold no removed slots) indexed by
// `segment` (covering all of them) to `path` atomically (temporary file, fsync, rename).
Status WriteIndexFile(const std::string& path, const HashStore& store, const MihSegment& segment);

// For tests of hostile files, whose checksums are right but whose content lies: the byte range
// [offset, offset + bytes) of section `name` ("hashes", "directory[3]", ...) in a file image
// (header assumed sound), and the image's checksums recomputed after an edit.
Result<std::pair<uint64_t, uint64_t>> IndexFileSection(const uint8_t* data, uint64_t size,
                                                       const std::string& name);
void ResealIndexFile(uint8_t* data, uint64_t size);

}  // namespace takedown::index
