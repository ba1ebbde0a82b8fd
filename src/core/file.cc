#include "core/file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace takedown {
namespace {

Status FromErrno(int err, const char* what) {
  std::string m = fmt::format("{}: {}", what, std::strerror(err));
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return NotFound(std::move(m));
    case EACCES:
    case EPERM:
      return PermissionDenied(std::move(m));
    case EISDIR:
      return InvalidArgument(std::move(m));
    default:
      return IoError(std::move(m));
  }
}

// Closes the descriptor on every return path.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() { ::close(fd_); }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

}  // namespace

Result<Bytes> ReadFileLimited(const std::string& path, uint64_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return FromErrno(errno, "cannot open");
  FdCloser closer(fd);

  struct stat st {};
  if (::fstat(fd, &st) != 0) return FromErrno(errno, "cannot stat");
  if (S_ISDIR(st.st_mode)) return InvalidArgument("is a directory");
  if (!S_ISREG(st.st_mode)) return InvalidArgument("not a regular file");
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size > max_bytes) {
    return ResourceExhausted(
        fmt::format("file is {} bytes, over the limit of {} bytes", size, max_bytes));
  }

  Bytes data(size);
  uint64_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, data.data() + done, size - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return FromErrno(errno, "read failed");
    }
    if (n == 0) break;  // the file shrank while we read it
    done += static_cast<uint64_t>(n);
  }
  data.resize(done);
  return data;
}

}  // namespace takedown
