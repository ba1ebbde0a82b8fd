#include "index/index_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace takedown::index {
namespace {

constexpr char kMagic[8] = {'T', 'D', 'H', 'I', 'D', 'X', '1', '\0'};
// Version 2 (2026-11-28): directories hold (offset, presence mask) pairs. Version 1 files (plain
// offsets) are refused with a message saying to rebuild them; nothing persisted depends on them
// (the service builds its indexes from its store at start-up).
constexpr uint32_t kVersion = 2;
constexpr int kSections = 4 + 2 * kMihParts;
constexpr uint64_t kAlign = 64;

struct SectionDesc {
  uint64_t offset;
  uint64_t bytes;
  uint64_t checksum;
};

struct FileHeader {
  char magic[8];
  uint32_t version;
  uint32_t parts;
  uint64_t count;
  uint32_t dir_bits[kMihParts];
  uint32_t reserved;
  SectionDesc sections[kSections];
  uint64_t header_checksum;  // XXH64 of every byte before this field
};
static_assert(sizeof(FileHeader) % 8 == 0, "header must be 8-byte sized");

std::string SectionName(int s) {
  switch (s) {
    case 0:
      return "hashes";
    case 1:
      return "ids";
    case 2:
      return "states";
    case 3:
      return "by_id";
    default:
      break;
  }
  const int p = (s - 4) / 2;
  return fmt::format("{}[{}]", (s - 4) % 2 == 0 ? "directory" : "entries", p);
}

uint64_t AlignUp(uint64_t v) { return (v + kAlign - 1) / kAlign * kAlign; }

}  // namespace

Result<IndexFileView> ValidateIndexFile(const uint8_t* data, uint64_t size) {
  if (size < sizeof(FileHeader)) {
    return DataLoss(fmt::format("index file truncated: {} bytes, the header alone needs {}", size,
                                sizeof(FileHeader)));
  }
  FileHeader h;
  std::memcpy(&h, data, sizeof(h));
  if (std::memcmp(h.magic, kMagic, sizeof(kMagic)) != 0) {
    return InvalidArgument("not a takedown index file (bad magic at byte 0)");
  }
  if (h.version != kVersion) {
    return Unsupported(
        fmt::format("index file version {} (this build reads {}; rebuild it with "
                    "`takedown index build`)",
                    h.version, kVersion));
  }
  const uint64_t want = XXH64(data, offsetof(FileHeader, header_checksum), 0);
  if (want != h.header_checksum) {
    return DataLoss(fmt::format("index file header checksum mismatch (bytes 0..{})",
                                offsetof(FileHeader, header_checksum)));
  }
  if (h.parts != kMihParts)
    return DataLoss(fmt::format("index file has {} parts, expected {}", h.parts, kMihParts));
  const uint64_t n = h.count;
  if (n >= (uint64_t{1} << 32)) return DataLoss(fmt::format("index file claims {} entries", n));
  std::vector<uint64_t> expect(kSections);
  expect[0] = n * sizeof(Hash256);
  expect[1] = n * sizeof(uint64_t);
  expect[2] = n;
  expect[3] = n * sizeof(uint32_t);
  for (int p = 0; p < kMihParts; ++p) {
    const uint32_t b = h.dir_bits[p];
    // Any directory width the builder could choose (it has been tuned; older files stay readable).
    if (b < static_cast<uint32_t>(std::min(8, PartBits(p))) ||
        b > static_cast<uint32_t>(PartBits(p))) {
      return DataLoss(fmt::format("index file part {} has {} directory bits, outside {}..{}", p, b,
                                  std::min(8, PartBits(p)), PartBits(p)));
    }
    expect[4 + 2 * p] = ((uint64_t{1} << b) + 1) * 2 * sizeof(uint32_t);
    expect[5 + 2 * p] = n * sizeof(uint32_t);
  }
  for (int s = 0; s < kSections; ++s) {
    const SectionDesc& d = h.sections[s];
    if (d.bytes != expect[s]) {
      return DataLoss(fmt::format("index file section '{}' is {} bytes, expected {}",
                                  SectionName(s), d.bytes, expect[s]));
    }
    if (d.offset % kAlign != 0 || d.offset < sizeof(FileHeader)) {
      return DataLoss(
          fmt::format("index file section '{}' at bad offset {}", SectionName(s), d.offset));
    }
    if (d.offset > size || d.bytes > size - d.offset) {
      return DataLoss(
          fmt::format("index file truncated: section '{}' spans bytes {}..{} but the file has {}",
                      SectionName(s), d.offset, d.offset + d.bytes, size));
    }
    if (XXH64(data + d.offset, d.bytes, 0) != d.checksum) {
      return DataLoss(fmt::format("index file checksum mismatch in section '{}' (bytes {}..{})",
                                  SectionName(s), d.offset, d.offset + d.bytes));
    }
  }
  IndexFileView v;
  v.count = n;
  v.hashes = reinterpret_cast<const Hash256*>(data + h.sections[0].offset);
  v.ids = reinterpret_cast<const uint64_t*>(data + h.sections[1].offset);
  v.states = data + h.sections[2].offset;
  v.by_id = {reinterpret_cast<const uint32_t*>(data + h.sections[3].offset), n};
  // What queries trust, checked: states, id order (unique), offsets within range.
  for (uint64_t i = 0; i < n; ++i) {
    if (v.states[i] != kLive && v.states[i] != kDisabled) {
      return DataLoss(fmt::format("index file: bad state {} for entry {} (byte {})", v.states[i], i,
                                  h.sections[2].offset + i));
    }
  }
  for (uint64_t i = 0; i < n; ++i) {
    if (v.by_id[i] >= n)
      return DataLoss(fmt::format("index file: by_id[{}] = {} out of range", i, v.by_id[i]));
    if (i > 0 && v.ids[v.by_id[i - 1]] >= v.ids[v.by_id[i]]) {
      return DataLoss(fmt::format("index file: ids not unique and sorted at by_id[{}] (id {})", i,
                                  v.ids[v.by_id[i]]));
    }
  }
  for (int p = 0; p < kMihParts; ++p) {
    const int b = static_cast<int>(h.dir_bits[p]);
    const int low = PartBits(p) - b;
    const auto* dir = reinterpret_cast<const uint32_t*>(data + h.sections[4 + 2 * p].offset);
    const auto* ent = reinterpret_cast<const uint32_t*>(data + h.sections[5 + 2 * p].offset);
    const uint64_t buckets = uint64_t{1} << b;
    if (dir[0] != 0 || dir[2 * buckets] != n) {
      return DataLoss(fmt::format("index file: directory[{}] does not span its {} entries", p, n));
    }
    const uint32_t low_mask = (uint32_t{1} << low) - 1;
    for (uint64_t i = 0; i < buckets; ++i) {
      if (dir[2 * i] > dir[2 * i + 2]) {
        return DataLoss(fmt::format("index file: directory[{}] decreases at bucket {}", p, i));
      }
    }
    // Every bucket now lies within [0, n).
    for (uint64_t i = 0; i < buckets; ++i) {
      // A presence mask missing an entry's bit would make queries skip a match.
      uint32_t present = 0;
      for (uint64_t e = dir[2 * i]; e < dir[2 * i + 2]; ++e) {
        if ((ent[e] >> low) >= n) {
          return DataLoss(fmt::format("index file: entries[{}][{}] points past the end", p, e));
        }
        present |= PresenceBit(ent[e] & low_mask, low);
      }
      if ((present & ~dir[2 * i + 1]) != 0) {
        return DataLoss(
            fmt::format("index file: directory[{}] presence mask of bucket {} (byte {}) "
                        "misses entries the bucket holds",
                        p, i, h.sections[4 + 2 * p].offset + (2 * i + 1) * sizeof(uint32_t)));
      }
    }
    v.parts[p] = {b, {dir, 2 * (buckets + 1)}, {ent, n}};
  }
  return v;
}

Result<std::pair<uint64_t, uint64_t>> IndexFileSection(const uint8_t* data, uint64_t size,
                                                       const std::string& name) {
  if (size < sizeof(FileHeader)) return InvalidArgument("image shorter than a header");
  FileHeader h;
  std::memcpy(&h, data, sizeof(h));
  for (int s = 0; s < kSections; ++s) {
    if (SectionName(s) == name) return std::make_pair(h.sections[s].offset, h.sections[s].bytes);
  }
  return NotFound(fmt::format("no section '{}'", name));
}

void ResealIndexFile(uint8_t* data, uint64_t size) {
  if (size < sizeof(FileHeader)) return;
  FileHeader h;
  std::memcpy(&h, data, sizeof(h));
  for (auto& d : h.sections) {
    if (d.offset <= size && d.bytes <= size - d.offset)
      d.checksum = XXH64(data + d.offset, d.bytes, 0);
  }
  h.header_checksum = XXH64(&h, offsetof(FileHeader, header_checksum), 0);
  std::memcpy(data, &h, sizeof(h));
}

namespace {

class FileWriter {
 public:
  explicit FileWriter(int fd) : fd_(fd) {}
  Status Write(const void* p, size_t n) {
    const auto* c = static_cast<const uint8_t*>(p);
    while (n > 0) {
      const ssize_t w = ::write(fd_, c, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        return IoError(fmt::format("write failed: {}", std::strerror(errno)));
      }
      c += w;
      n -= static_cast<size_t>(w);
      pos_ += static_cast<uint64_t>(w);
    }
    return Status::Ok();
  }
  Status PadTo(uint64_t offset) {
    static const uint8_t zeros[kAlign] = {};
    while (pos_ < offset)
      TD_RETURN_IF_ERROR(Write(zeros, std::min<uint64_t>(kAlign, offset - pos_)));
    return Status::Ok();
  }
  uint64_t pos() const { return pos_; }

 private:
  int fd_;
  uint64_t pos_ = 0;
};

}  // namespace

Status WriteIndexFile(const std::string& path, const HashStore& store, const MihSegment& segment) {
  const uint64_t n = store.size();
  FileHeader h{};
  std::memcpy(h.magic, kMagic, sizeof(kMagic));
  h.version = kVersion;
  h.parts = kMihParts;
  h.count = n;
  for (int p = 0; p < kMihParts; ++p)
    h.dir_bits[p] = static_cast<uint32_t>(segment.part(p).dir_bits);

  // Materialise the store's per-slot arrays once (they may be spread over chunks).
  std::vector<Hash256> hashes(n);
  std::vector<uint64_t> ids(n);
  std::vector<uint8_t> states(n);
  for (uint64_t i = 0; i < n; ++i) {
    hashes[i] = store.hash(i);
    ids[i] = store.id(i);
    states[i] = store.state(i);
  }
  std::vector<std::pair<const void*, uint64_t>> sections(kSections);
  sections[0] = {hashes.data(), n * sizeof(Hash256)};
  sections[1] = {ids.data(), n * sizeof(uint64_t)};
  sections[2] = {states.data(), n};
  sections[3] = {segment.by_id().data(), segment.by_id().size() * sizeof(uint32_t)};
  for (int p = 0; p < kMihParts; ++p) {
    sections[4 + 2 * p] = {segment.part(p).directory.data(),
                           segment.part(p).directory.size_bytes()};
    sections[5 + 2 * p] = {segment.part(p).entries.data(), segment.part(p).entries.size_bytes()};
  }
  uint64_t offset = AlignUp(sizeof(FileHeader));
  for (int s = 0; s < kSections; ++s) {
    h.sections[s] = {offset, sections[s].second, XXH64(sections[s].first, sections[s].second, 0)};
    offset = AlignUp(offset + sections[s].second);
  }
  h.header_checksum = XXH64(&h, offsetof(FileHeader, header_checksum), 0);

  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return IoError(fmt::format("cannot create {}: {}", tmp, std::strerror(errno)));
  FileWriter w(fd);
  Status st = w.Write(&h, sizeof(h));
  for (int s = 0; st.ok() && s < kSections; ++s) {
    st = w.PadTo(h.sections[s].offset);
    if (st.ok()) st = w.Write(sections[s].first, sections[s].second);
  }
  if (st.ok() && ::fsync(fd) != 0)
    st = IoError(fmt::format("fsync {}: {}", tmp, std::strerror(errno)));
  ::close(fd);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st.WithContext("writing " + path);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return IoError(fmt::format("rename {} to {}: {}", tmp, path, std::strerror(errno)));
  }
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

}  // namespace takedown::index
