// FFmpeg reading from bytes in memory (an AVIOContext over a span): no file, no path, no copy
// beyond FFmpeg's own 32 KiB buffer. Used for still images (ffmpeg_codec.cc) and for videos
// (video.cc), so that media handed over in memory -- by the service, or to a sandboxed worker that
// may not open files -- is never written anywhere to be decoded. Internal to media/.
#pragma once

extern "C" {
#include <libavformat/avformat.h>
}

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>

namespace takedown::media::av {

struct MemoryReader {
  const uint8_t* data;
  int64_t size;
  int64_t pos;
};

inline int ReadPacket(void* opaque, uint8_t* buf, int n) {
  auto* r = static_cast<MemoryReader*>(opaque);
  const int64_t left = r->size - r->pos;
  if (left <= 0) return AVERROR_EOF;
  const int take = static_cast<int>(std::min<int64_t>(n, left));
  std::memcpy(buf, r->data + r->pos, static_cast<size_t>(take));
  r->pos += take;
  return take;
}

inline int64_t Seek(void* opaque, int64_t offset, int whence) {
  auto* r = static_cast<MemoryReader*>(opaque);
  int64_t target;
  switch (whence & ~AVSEEK_FORCE) {
    case AVSEEK_SIZE:
      return r->size;
    case SEEK_SET:
      target = offset;
      break;
    case SEEK_CUR:
      target = r->pos + offset;
      break;
    case SEEK_END:
      target = r->size + offset;
      break;
    default:
      return AVERROR(EINVAL);
  }
  if (target < 0 || target > r->size) return AVERROR(EINVAL);
  r->pos = target;
  return target;
}

// Owns the AVIOContext (and its buffer) over `bytes`; must outlive the format context using it.
class MemoryInput {
 public:
  static constexpr int kBufferSize = 32 * 1024;
  explicit MemoryInput(std::span<const uint8_t> bytes)
      : reader_{bytes.data(), static_cast<int64_t>(bytes.size()), 0} {
    auto* buffer = static_cast<uint8_t*>(av_malloc(kBufferSize));
    if (buffer == nullptr) return;
    io_ = avio_alloc_context(buffer, kBufferSize, 0, &reader_, &ReadPacket, nullptr, &Seek);
    if (io_ == nullptr) av_free(buffer);
  }
  ~MemoryInput() {
    if (io_ != nullptr) {
      av_freep(&io_->buffer);
      avio_context_free(&io_);
    }
  }
  MemoryInput(const MemoryInput&) = delete;
  MemoryInput& operator=(const MemoryInput&) = delete;

  AVIOContext* io() const { return io_; }
  // A format context reading through this input (nullptr when out of memory); opened by the
  // caller with avformat_open_input(&ctx, nullptr, ...).
  AVFormatContext* NewFormatContext(int64_t probesize) const {
    if (io_ == nullptr) return nullptr;
    AVFormatContext* f = avformat_alloc_context();
    if (f == nullptr) return nullptr;
    f->pb = io_;
    f->flags |= AVFMT_FLAG_CUSTOM_IO;
    if (probesize > 0) f->probesize = probesize;
    return f;
  }

 private:
  MemoryReader reader_;
  AVIOContext* io_ = nullptr;
};

}  // namespace takedown::media::av
