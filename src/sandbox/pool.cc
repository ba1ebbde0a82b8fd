// The pool side: spawning workers, handing them jobs, watching them, replacing the failed.
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>

#include "sandbox/sandbox.h"
#include "sandbox/wire.h"

extern char** environ;

namespace takedown::sandbox {
namespace {

using Clock = std::chrono::steady_clock;

std::string Errno(const char* what) { return fmt::format("{}: {}", what, std::strerror(errno)); }

// Resident memory of a worker, from its /proc/PID/statm (kept open: read after every job), or 0
// when it cannot be read (the process is gone).
uint64_t ResidentBytes(int statm_fd) {
  if (statm_fd < 0) return 0;
  char buf[128];
  const ssize_t n = ::pread(statm_fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0) return 0;
  buf[n] = '\0';
  unsigned long long size = 0, resident = 0;
  if (std::sscanf(buf, "%llu %llu", &size, &resident) != 2) return 0;
  return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

std::string SignalName(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev != nullptr ? fmt::format("SIG{}", abbrev) : fmt::format("signal {}", sig);
}

// Why a worker that ended on its own ended.
std::string DescribeExit(int status) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    if (sig == SIGSYS) return "made a forbidden system call and was killed by its sandbox";
    if (sig == SIGKILL) return "was killed (SIGKILL: from outside, or by the kernel out of memory)";
    return fmt::format("crashed ({})", SignalName(sig));
  }
  if (WIFEXITED(status)) {
    switch (WEXITSTATUS(status)) {
      case wire::kExitForbiddenCall:
        return "made a forbidden system call and was killed by its sandbox";
      case wire::kExitOutOfMemory:
        return "ran out of memory (its address-space limit)";
      case wire::kExitSetupFailed:
        return "could not set up its sandbox";
      case wire::kExitProtocol:
        return "broke the job protocol";
      default:
        return fmt::format("exited with status {}", WEXITSTATUS(status));
    }
  }
  return "ended";
}

// Waits up to `grace` for the worker to end on its own, then kills it; its end, described.
std::string Reap(pid_t pid, std::chrono::milliseconds grace) {
  const auto until = Clock::now() + grace;
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return DescribeExit(status);
    if (r < 0) return "ended";
    if (Clock::now() >= until) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return "stopped answering";
}

// Reads exactly `n` bytes before `deadline`; `watch` is called every 50 ms while waiting and may
// give up (returns a reason). Returns "" when read, else why not.
template <typename Watch>
std::string ReadAll(int fd, void* data, size_t n, Clock::time_point deadline, Watch watch) {
  auto* p = static_cast<uint8_t*>(data);
  while (n > 0) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return "timeout";
    pollfd pfd{fd, POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count(), 50)));
    if (ready < 0 && errno != EINTR) return "poll";
    if (ready <= 0) {
      if (std::string why = watch(); !why.empty()) return why;
      continue;
    }
    const ssize_t k = ::recv(fd, p, n, MSG_DONTWAIT);
    if (k < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (k <= 0) return "eof";
    p += k;
    n -= static_cast<size_t>(k);
  }
  return "";
}

std::string Printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 2000))
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c;
  return out;
}

constexpr size_t kMinBuffer = 1 << 20;
constexpr size_t kShrinkAbove = 8 << 20;  // a buffer over this is replaced when a job uses < 1/4

}  // namespace

Pool::Statm::~Statm() {
  if (fd >= 0) ::close(fd);
}

Pool::Buffer::~Buffer() {
  if (map != nullptr) ::munmap(map, capacity);
  if (fd >= 0) ::close(fd);
}

Pool::Pool(const Options& options, MetricsRegistry* metrics)
    : options_(options), metrics_(metrics) {
  if (metrics_ != nullptr) {
    const std::string help = "Media jobs run by the sandboxed decoder workers, by outcome.";
    m_ok_ = metrics_->Counter("takedown_sandbox_jobs_total", help, {{"outcome", "ok"}});
    m_failed_ =
        metrics_->Counter("takedown_sandbox_jobs_total", help, {{"outcome", "worker_failed"}});
    m_replaced_ = metrics_->Counter("takedown_sandbox_workers_replaced_total",
                                    "Sandboxed decoder workers killed and replaced (a crash, a "
                                    "limit, a forbidden system call).");
  }
}

Result<std::unique_ptr<Pool>> Pool::Start(const Options& options, MetricsRegistry* metrics) {
  std::unique_ptr<Pool> pool(new Pool(options, metrics));
  if (pool->options_.workers <= 0)
    pool->options_.workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (pool->options_.job_seconds <= 0) return InvalidArgument("sandbox: job time must be positive");
  if (::geteuid() == 0) {
    // A root service's workers run as an unprivileged user (the package's service is not root).
    const passwd* pw = ::getpwnam(pool->options_.user.c_str());
    if (pw == nullptr) {
      return InvalidArgument(
          fmt::format("sandbox.user '{}': no such user (the workers' user when the service runs "
                      "as root)",
                      pool->options_.user));
    }
    if (pw->pw_uid == 0) return InvalidArgument("sandbox.user must not be root");
    pool->uid_ = pw->pw_uid;
    pool->gid_ = pw->pw_gid;
    pool->switch_user_ = true;
  }
  for (int i = 0; i < pool->options_.workers; ++i) {
    TD_ASSIGN_OR_RETURN(Worker w, pool->Spawn());
    MutexLock lock(&pool->mu_);
    pool->free_.push_back(w);
    pool->running_.push_back(w.pid);
  }
  if (metrics != nullptr) {
    Pool* p = pool.get();
    metrics->Callback(
        "takedown_sandbox_workers", "Sandboxed decoder workers running.", "gauge", [p] {
          MutexLock lock(&p->mu_);
          return MetricsRegistry::Samples{{{}, static_cast<double>(p->running_.size())}};
        });
  }
  return pool;
}

Pool::~Pool() {
  if (metrics_ != nullptr) metrics_->RemoveCallback("takedown_sandbox_workers");
  std::vector<Worker> all;
  {
    MutexLock lock(&mu_);
    all = std::move(free_);
    free_.clear();
  }
  // Closing a worker's socket ends it (it reads end of file); busy ones are not ours to end here:
  // the pool is destroyed only when no job runs.
  for (auto& w : all) {
    ::close(w.fd);
    Reap(w.pid, std::chrono::milliseconds(500));
  }
}

bool FaultsCompiledIn() {
#ifdef TAKEDOWN_SANDBOX_FAULTS
  return true;
#else
  return false;
#endif
}

Result<Pool::Worker> Pool::Spawn() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return IoError(Errno("sandbox: socketpair"));
  int child = sv[1];
  if (child == wire::kWorkerFd) {  // dup2 onto itself would keep close-on-exec
    child = ::fcntl(sv[1], F_DUPFD_CLOEXEC, 10);
    ::close(sv[1]);
  }
  const std::vector<std::string> args = {
      options_.worker_path,
      "sandbox-worker",
      "--memory",
      std::to_string(options_.memory_bytes),
      "--job-seconds",
      std::to_string(static_cast<int64_t>(std::ceil(options_.job_seconds))),
      "--parent",
      std::to_string(::getpid()),
      "--uid",
      std::to_string(switch_user_ ? uid_ : ::getuid()),
      "--gid",
      std::to_string(switch_user_ ? gid_ : ::getgid()),
      "--seccomp",
      options_.seccomp ? "on" : "off",
  };
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  // Nothing of the service's environment (it may carry secrets) but the sanitizers' options.
  std::vector<std::string> env_strings;
  for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"}) {
    if (const char* v = std::getenv(name)) env_strings.push_back(fmt::format("{}={}", name, v));
  }
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, child, wire::kWorkerFd);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  sigdelset(&all, SIGKILL);
  sigdelset(&all, SIGSTOP);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);  // its own group: a terminal's Ctrl-C is the service's
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  pid_t pid = -1;
  const int err =
      ::posix_spawn(&pid, options_.worker_path.c_str(), &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(child);
  if (err != 0) {
    ::close(sv[0]);
    return IoError(fmt::format("sandbox: cannot start a worker ({}): {}", options_.worker_path,
                               std::strerror(err)));
  }
  Worker w{pid, sv[0]};
  w.statm = std::make_shared<Statm>();
  w.statm->fd = ::open(fmt::format("/proc/{}/statm", pid).c_str(), O_RDONLY | O_CLOEXEC);
  // It says when its sandbox is up.
  wire::Header ready;
  const std::string why =
      ReadAll(w.fd, &ready, sizeof(ready), Clock::now() + std::chrono::seconds(30),
              [] { return std::string(); });
  if (!why.empty() || ready.magic != wire::kReady) {
    ::close(w.fd);
    const std::string end = Reap(pid, std::chrono::milliseconds(1000));
    return IoError(fmt::format("sandbox: a worker did not start: it {}", end));
  }
  return w;
}

Pool::Worker Pool::Acquire(std::vector<Worker>* dead) {
  MutexLock lock(&mu_);
  const auto until = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(options_.job_seconds));
  for (;;) {
    // An idle worker says nothing: one whose socket is readable or hung up has died (killed from
    // outside, or it broke down): it is handed back to be reaped and replaced.
    std::vector<pollfd> fds;
    for (const auto& w : free_) fds.push_back({w.fd, POLLIN, 0});
    if (!fds.empty() && ::poll(fds.data(), fds.size(), 0) > 0) {
      for (size_t i = fds.size(); i-- > 0;) {
        if (fds[i].revents != 0) {
          dead->push_back(free_[i]);
          free_.erase(free_.begin() + static_cast<ptrdiff_t>(i));
        }
      }
    }
    if (!free_.empty()) break;
    if (!dead->empty() || Clock::now() >= until) return Worker{};
    free_cv_.WaitFor(&mu_, std::chrono::milliseconds(100));
  }
  Worker w = free_.front();  // round robin: every worker is looked at
  free_.erase(free_.begin());
  return w;
}

void Pool::Release(Worker w, bool failed) {
  // A worker that kept much of what a big file needed (allocators hold on to freed memory) is
  // retired before it could fail someone else's job at the limit: it ends when its socket closes.
  bool retire = false;
  if (!failed && w.pid > 0 &&
      ResidentBytes(w.statm ? w.statm->fd : -1) > options_.memory_bytes / 2) {
    ::close(w.fd);
    Reap(w.pid, std::chrono::milliseconds(1000));
    retired_.fetch_add(1);
    retire = true;
  }
  if (!failed && !retire) {
    MutexLock lock(&mu_);
    free_.push_back(w);
    free_cv_.Signal();
    return;
  }
  {
    MutexLock lock(&mu_);
    std::erase(running_, w.pid);
  }
  // A replacement, started here (a few milliseconds; the failed job's caller waits for it).
  const auto t0 = Clock::now();
  auto fresh = Spawn();
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
  MutexLock lock(&mu_);
  if (fresh.ok()) {
    last_replace_us_ = us;
    if (!retire) {
      replaced_.fetch_add(1);
      if (m_replaced_ != nullptr) m_replaced_->Inc();
    }
    free_.push_back(*fresh);
    running_.push_back(fresh->pid);
    free_cv_.Signal();
  } else {
    spdlog::error("sandbox: {} (the pool has {} workers)", fresh.status().message(),
                  running_.size());
    ++missing_;
  }
}

Result<service::Signals> Pool::Hash(std::span<const uint8_t> media, bool bank_side) {
  return Run(bank_side ? JobKind::kHashBank : JobKind::kHashQuery, media);
}

Result<service::Signals> Pool::Run(JobKind kind, std::span<const uint8_t> media) {
  service::Signals out;
  TD_RETURN_IF_ERROR(RunRaw(kind, {}, media, [&](const std::string& body) -> Status {
                       const auto j = nlohmann::json::from_cbor(body, true, false);
                       if (j.is_discarded()) return DataLoss("signals that are not CBOR");
                       auto s = service::SignalsFromJson(j);
                       if (!s.ok()) return s.status();
                       out = std::move(*s);
                       return Status::Ok();
                     }).status());
  return out;
}

Result<std::string> Pool::RunCli(const nlohmann::json& options, std::span<const uint8_t> media) {
  const std::string text = options.dump();
  std::vector<uint8_t> prefix(4 + text.size());
  const auto n = static_cast<uint32_t>(text.size());
  std::memcpy(prefix.data(), &n, 4);
  std::memcpy(prefix.data() + 4, text.data(), text.size());
  return RunRaw(JobKind::kCli, prefix, media, [](const std::string&) { return Status::Ok(); });
}

Result<std::string> Pool::RunRaw(JobKind kind, std::span<const uint8_t> prefix,
                                 std::span<const uint8_t> media, const Accept& accept) {
  // Replace workers that could not be started before (a transient failure).
  for (;;) {
    {
      MutexLock lock(&mu_);
      if (missing_ == 0) break;
      --missing_;
    }
    Release(Worker{}, true);
  }
  // A worker found dead before it took the job (killed from outside while idle) is replaced and
  // the job given to another: it never started, so it is not the job's fault.
  for (int attempt = 0;; ++attempt) {
    std::vector<Worker> dead;
    Worker w = Acquire(&dead);
    for (auto& d : dead) {
      ::close(d.fd);
      spdlog::warn("sandbox: worker {} {} while idle; replacing it", d.pid,
                   Reap(d.pid, std::chrono::milliseconds(200)));
      Release(d, true);
    }
    if (w.pid < 0 && !dead.empty() && attempt < 4) continue;  // replacements are free now
    if (w.pid < 0) {
      return DataLoss(fmt::format(
          "the media could not be decoded: no sandboxed decoder worker was free within {:.0f} s",
          options_.job_seconds));
    }
    bool failed = false, not_started = false;
    auto r = RunOn(w, kind, prefix, media, accept, &failed, &not_started);
    Release(w, failed);
    if (not_started && attempt < 4) continue;
    jobs_.fetch_add(1);
    if (failed) {
      failed_.fetch_add(1);
      if (m_failed_ != nullptr) m_failed_->Inc();
    } else if (m_ok_ != nullptr) {
      m_ok_->Inc();
    }
    return r;
  }
}

Result<std::string> Pool::RunOn(Worker& w, JobKind kind, std::span<const uint8_t> prefix,
                                std::span<const uint8_t> media, const Accept& accept, bool* failed,
                                bool* not_started) {
  auto fail = [&](const std::string& why) -> Status {
    *failed = true;
    ::close(w.fd);
    return DataLoss(fmt::format(
        "the media could not be decoded: the sandboxed decoder {}; the job was stopped, other "
        "work goes on",
        why));
  };
  // The job into the worker's buffer: the one copy, in memory, never on a disk.
  const size_t need = prefix.size() + media.size();
  const bool fresh = w.buffer == nullptr || w.buffer->capacity < need ||
                     (w.buffer->capacity > kShrinkAbove && need * 4 < w.buffer->capacity);
  if (fresh) {
    auto b = std::make_shared<Buffer>();
    b->capacity = std::max<size_t>(kMinBuffer, (need + 65535) / 65536 * 65536);
    b->fd = ::memfd_create("takedown-job", MFD_CLOEXEC);
    if (b->fd < 0) return IoError(Errno("sandbox: memfd_create"));
    if (::ftruncate(b->fd, static_cast<off_t>(b->capacity)) != 0)
      return IoError(Errno("sandbox: sizing the job buffer"));
    void* m = ::mmap(nullptr, b->capacity, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd, 0);
    if (m == MAP_FAILED) return IoError(Errno("sandbox: mapping the job buffer"));
    b->map = static_cast<uint8_t*>(m);
    w.buffer = std::move(b);
  }
  if (!prefix.empty()) std::memcpy(w.buffer->map, prefix.data(), prefix.size());
  if (!media.empty()) std::memcpy(w.buffer->map + prefix.size(), media.data(), media.size());

  wire::Header job{wire::kJob, static_cast<uint32_t>(kind) | (fresh ? wire::kNewBuffer : 0u), need};
  iovec iov{&job, sizeof(job)};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (fresh) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &w.buffer->fd, sizeof(int));
  }
  ssize_t sent;
  do {
    sent = ::sendmsg(w.fd, &msg, MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  if (sent != static_cast<ssize_t>(sizeof(job))) {
    *not_started = true;
    return fail(Reap(w.pid, std::chrono::milliseconds(200)));
  }

  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(options_.job_seconds));
  // Its resident memory counts the job buffer's pages it has touched.
  const uint64_t memory_limit = options_.memory_bytes + w.buffer->capacity;
  std::string over;
  auto watch = [&]() -> std::string {
    if (ResidentBytes(w.statm ? w.statm->fd : -1) > memory_limit) {
      over = fmt::format("went over its memory limit of {} MiB", memory_limit >> 20);
      return over;
    }
    return "";
  };
  auto why_not = [&](const std::string& r) {
    if (r == "timeout") {
      ::kill(w.pid, SIGKILL);
      ::waitpid(w.pid, nullptr, 0);
      return fmt::format("took longer than its limit of {:.0f} s", options_.job_seconds);
    }
    if (!over.empty()) {
      ::kill(w.pid, SIGKILL);
      ::waitpid(w.pid, nullptr, 0);
      return over;
    }
    return Reap(w.pid, std::chrono::milliseconds(1000));
  };
  wire::Header answer;
  if (std::string r = ReadAll(w.fd, &answer, sizeof(answer), deadline, watch); !r.empty())
    return fail(why_not(r));
  if (answer.magic != wire::kAnswer || answer.size > wire::kMaxAnswer ||
      answer.value > static_cast<uint32_t>(StatusCode::kUnavailable)) {
    ::kill(w.pid, SIGKILL);
    ::waitpid(w.pid, nullptr, 0);
    return fail("answered outside the protocol");
  }
  std::string body(answer.size, '\0');
  if (std::string r = ReadAll(w.fd, body.data(), body.size(), deadline, watch); !r.empty())
    return fail(why_not(r));
  const auto code = static_cast<StatusCode>(answer.value);
  if (code != StatusCode::kOk) return Status(code, Printable(body));
  if (Status st = accept(body); !st.ok()) {
    ::kill(w.pid, SIGKILL);
    ::waitpid(w.pid, nullptr, 0);
    return fail(fmt::format("answered outside the protocol ({})", st.message()));
  }
  return body;
}

Pool::Stats Pool::stats() const {
  Stats s;
  {
    MutexLock lock(&mu_);
    s.workers = static_cast<int>(running_.size());
  }
  s.jobs = jobs_.load();
  s.failed = failed_.load();
  s.replaced = replaced_.load();
  s.retired = retired_.load();
  s.last_replace_ms = static_cast<double>(last_replace_us_.load()) / 1000.0;
  return s;
}

std::vector<pid_t> Pool::worker_pids() const {
  MutexLock lock(&mu_);
  return running_;
}

}  // namespace takedown::sandbox
