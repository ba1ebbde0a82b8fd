// The worker side: `takedown sandbox-worker`. Sets up its sandbox, says it is ready, then runs
// one job at a time from fd 3 until the pool closes it.
#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <new>

#include "sandbox/sandbox.h"
#include "sandbox/wire.h"

#if defined(__SANITIZE_ADDRESS__)
#define TAKEDOWN_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TAKEDOWN_UNDER_ASAN 1
#endif
#endif

namespace takedown::sandbox {
namespace {

struct WorkerArgs {
  uint64_t memory = 0;
  int64_t job_seconds = 0;
  int64_t parent = 0, uid = -1, gid = -1;
  bool seccomp = true;
};

[[noreturn]] void Die(int code, const std::string& why) {
  std::fprintf(stderr, "takedown sandbox-worker: %s\n", why.c_str());
  ::_exit(code);
}

template <typename T>
bool ParseWhole(const std::string& s, T* out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

WorkerArgs ParseArgs(const std::vector<std::string>& args) {
  WorkerArgs a;
  if (args.size() % 2 != 0) Die(wire::kExitSetupFailed, "arguments come in pairs");
  for (size_t i = 0; i < args.size(); i += 2) {
    const std::string& k = args[i];
    const std::string& v = args[i + 1];
    bool ok = false;
    if (k == "--memory")
      ok = ParseWhole(v, &a.memory) && a.memory > 0;
    else if (k == "--job-seconds")
      ok = ParseWhole(v, &a.job_seconds) && a.job_seconds > 0;
    else if (k == "--parent")
      ok = ParseWhole(v, &a.parent) && a.parent > 0;
    else if (k == "--uid")
      ok = ParseWhole(v, &a.uid) && a.uid >= 0;
    else if (k == "--gid")
      ok = ParseWhole(v, &a.gid) && a.gid >= 0;
    else if (k == "--seccomp") {
      ok = v == "on" || v == "off";
      a.seccomp = v == "on";
    }
    if (!ok) Die(wire::kExitSetupFailed, fmt::format("bad argument {} '{}'", k, v));
  }
  if (a.memory == 0 || a.job_seconds == 0 || a.parent == 0 || a.uid < 0 || a.gid < 0)
    Die(wire::kExitSetupFailed, "missing arguments (started by takedown serve, not by hand)");
  return a;
}

// A trapped system call: say which, and end. Only async-signal-safe calls.
void OnForbiddenCall(int, siginfo_t* info, void*) {
  char msg[96] = "takedown sandbox-worker: forbidden system call ";
  size_t n = std::strlen(msg);
  char digits[16];
  int d = 0;
  unsigned v = static_cast<unsigned>(info->si_syscall);
  do {
    digits[d++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0 && d < 15);
  while (d > 0 && n + 2 < sizeof(msg)) msg[n++] = digits[--d];
  msg[n++] = '\n';
  (void)!::write(2, msg, n);
  ::_exit(wire::kExitForbiddenCall);
}

// What decoding and hashing need; everything else traps.
void InstallFilter() {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
  if (ctx == nullptr) Die(wire::kExitSetupFailed, "seccomp_init failed");
  auto allow = [&](int nr, std::initializer_list<scmp_arg_cmp> args = {}) {
    const int rc =
        seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, static_cast<unsigned>(args.size()),
                               args.size() ? args.begin() : nullptr);
    if (rc != 0) Die(wire::kExitSetupFailed, fmt::format("seccomp rule for {}: {}", nr, rc));
  };
  // Reading and writing what it holds: its socket, stderr, /dev/null, its job buffer and
  // pipes to itself (the sanitizers probe memory through one). It cannot open anything else.
  for (int nr : {SCMP_SYS(read), SCMP_SYS(pread64), SCMP_SYS(readv), SCMP_SYS(write),
                 SCMP_SYS(writev), SCMP_SYS(lseek), SCMP_SYS(close), SCMP_SYS(fstat)})
    allow(nr);
  allow(SCMP_SYS(recvmsg), {SCMP_A0(SCMP_CMP_EQ, wire::kWorkerFd)});
  // fstat(fd) is newfstatat(fd, "", AT_EMPTY_PATH) in glibc: only that form (no path looked up).
  allow(SCMP_SYS(newfstatat), {SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH)});
  // Memory, never executable.
  allow(SCMP_SYS(mmap), {SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)});
  allow(SCMP_SYS(mprotect), {SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)});
  for (int nr :
       {SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(brk), SCMP_SYS(madvise), SCMP_SYS(mincore)})
    allow(nr);
  // Time, signals to itself, its own ids, randomness, the end.
  for (int nr : {SCMP_SYS(futex), SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
                 SCMP_SYS(rt_sigaction), SCMP_SYS(sigaltstack), SCMP_SYS(clock_gettime),
                 SCMP_SYS(clock_getres), SCMP_SYS(gettimeofday), SCMP_SYS(nanosleep),
                 SCMP_SYS(clock_nanosleep), SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity),
                 SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getppid), SCMP_SYS(getrandom),
                 SCMP_SYS(getrusage), SCMP_SYS(alarm), SCMP_SYS(exit), SCMP_SYS(exit_group),
                 // what libc asks of the system now and then (qsort asks sysinfo for memory)
                 SCMP_SYS(sysinfo), SCMP_SYS(uname), SCMP_SYS(getuid), SCMP_SYS(geteuid),
                 SCMP_SYS(getgid), SCMP_SYS(getegid),
                 // a pipe to itself (the sanitizers probe memory through one); no path, no peer
                 SCMP_SYS(pipe2)})
    allow(nr);
  allow(SCMP_SYS(tgkill), {SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(::getpid()))});
  allow(SCMP_SYS(prlimit64), {SCMP_A2(SCMP_CMP_EQ, 0)});  // reading its limits only
  if (const int rc = seccomp_load(ctx); rc != 0)
    Die(wire::kExitSetupFailed, fmt::format("seccomp_load: {}", std::strerror(-rc)));
  seccomp_release(ctx);
}

void SetLimit(int resource, rlim_t value) {
  const rlimit r{value, value};
  if (::setrlimit(resource, &r) != 0)
    Die(wire::kExitSetupFailed, fmt::format("setrlimit {}: {}", resource, std::strerror(errno)));
}

bool WriteAll(const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (n > 0) {
    const ssize_t k = ::write(wire::kWorkerFd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    p += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

CliJobHandler cli_handler = nullptr;

}  // namespace

void SetCliJobHandler(CliJobHandler handler) { cli_handler = handler; }

Answer HandleJob(JobKind kind, std::span<const uint8_t> media) {
  switch (kind) {
    case JobKind::kHashQuery:
    case JobKind::kHashBank: {
      auto s = service::HashMediaInProcess(media, kind == JobKind::kHashBank, /*video_threads=*/1);
      if (!s.ok()) return {s.status().code(), s.status().message()};
      const auto cbor = nlohmann::json::to_cbor(service::SignalsToJson(*s));
      return {StatusCode::kOk, std::string(cbor.begin(), cbor.end())};
    }
    case JobKind::kCli: {
      // [options' length, 4 bytes][options, JSON][the file]
      uint32_t n = 0;
      if (media.size() < 4)
        return {StatusCode::kInvalidArgument, "a command-line job without options"};
      std::memcpy(&n, media.data(), 4);
      if (n > media.size() - 4)
        return {StatusCode::kInvalidArgument, "a command-line job cut short"};
      const auto options =
          nlohmann::json::parse(media.begin() + 4, media.begin() + 4 + n, nullptr, false);
      if (!options.is_object())
        return {StatusCode::kInvalidArgument, "a command-line job's options are not a JSON object"};
      if (cli_handler == nullptr)
        return {StatusCode::kUnsupported, "no command-line job handler in this worker"};
      return cli_handler(options, media.subspan(4 + n));
    }
#ifdef TAKEDOWN_SANDBOX_FAULTS
    // Test builds only: a decoder bug of each kind, on demand.
    case JobKind::kFaultCrash:
      __builtin_trap();
    case JobKind::kFaultAllocate: {
      std::vector<std::unique_ptr<char[]>> hog;
      for (;;) {
        hog.emplace_back(new char[64 << 20]);
        std::memset(hog.back().get(), 1, 64 << 20);
      }
    }
    case JobKind::kFaultLoop:
      for (volatile uint64_t i = 0;; i = i + 1) {
      }
    case JobKind::kFaultOpenFile: {
      const int fd = ::open("/etc/hostname", O_RDONLY | O_CLOEXEC);
      return {StatusCode::kInternal, fmt::format("open was allowed ({})", fd)};
    }
    case JobKind::kFaultSocket: {
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      return {StatusCode::kInternal, fmt::format("socket was allowed ({})", fd)};
    }
#endif
    default:
      return {StatusCode::kInvalidArgument,
              fmt::format("unknown job kind {}", static_cast<uint32_t>(kind))};
  }
}

void WorkerMain(const std::vector<std::string>& args) {
  const WorkerArgs a = ParseArgs(args);
  // Only the job socket (and stdin, stdout on /dev/null, stderr) stays open.
  if (::close_range(wire::kWorkerFd + 1, ~0U, 0) != 0)
    Die(wire::kExitSetupFailed, fmt::format("close_range: {}", std::strerror(errno)));
  struct stat st {};
  if (::fstat(wire::kWorkerFd, &st) != 0 || !S_ISSOCK(st.st_mode))
    Die(wire::kExitSetupFailed,
        "fd 3 is not the job socket (started by takedown serve, not by hand)");
  if (::getppid() != static_cast<pid_t>(a.parent)) Die(wire::kExitSetupFailed, "the pool is gone");
  // The unprivileged user (the pool names it when the service is root), for good.
  if (::getuid() != static_cast<uid_t>(a.uid) || ::geteuid() != static_cast<uid_t>(a.uid) ||
      ::getgid() != static_cast<gid_t>(a.gid)) {
    if (::setgroups(0, nullptr) != 0 || ::setresgid(a.gid, a.gid, a.gid) != 0 ||
        ::setresuid(a.uid, a.uid, a.uid) != 0)
      Die(wire::kExitSetupFailed,
          fmt::format("cannot switch to uid {}: {}", a.uid, std::strerror(errno)));
    if (::setuid(0) == 0 && a.uid != 0) Die(wire::kExitSetupFailed, "root could be regained");
  }
  // No new privileges (the filter needs it). Still "dumpable", so that the pool can read its
  // resident memory under systemd's ProtectProc=invisible; no core is written (RLIMIT_CORE) and
  // the filter forbids ptrace.
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) Die(wire::kExitSetupFailed, "prctl");
  SetLimit(RLIMIT_CORE, 0);
  SetLimit(RLIMIT_FSIZE, 0);
  SetLimit(RLIMIT_NOFILE, 16);
#ifndef TAKEDOWN_UNDER_ASAN
  // The address space bounds any one allocation early; the pool watches resident memory.
  SetLimit(RLIMIT_AS, static_cast<rlim_t>(a.memory) * 4 + (1ull << 30));
#endif
  struct sigaction sa {};
  sa.sa_sigaction = &OnForbiddenCall;
  sa.sa_flags = SA_SIGINFO;
  ::sigaction(SIGSYS, &sa, nullptr);
  if (a.seccomp) InstallFilter();

  const wire::Header ready{wire::kReady, 0, 0};
  if (!WriteAll(&ready, sizeof(ready))) ::_exit(0);
  const uint8_t* region = nullptr;  // the job buffer, read-only
  size_t region_size = 0;
  for (;;) {
    wire::Header job;
    iovec iov{&job, sizeof(job)};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n;
    do {
      n = ::recvmsg(wire::kWorkerFd, &msg, MSG_CMSG_CLOEXEC | MSG_WAITALL);
    } while (n < 0 && errno == EINTR);
    if (n == 0) ::_exit(0);  // the pool closed: done
    if (n != sizeof(job) || job.magic != wire::kJob) ::_exit(wire::kExitProtocol);
    const cmsghdr* c = CMSG_FIRSTHDR(&msg);
    if ((job.value & wire::kNewBuffer) != 0) {
      // A new job buffer: mapped read-only in place of the last one.
      if (c == nullptr || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
        ::_exit(wire::kExitProtocol);
      int fd;
      std::memcpy(&fd, CMSG_DATA(c), sizeof(int));
      struct stat mst {};
      if (::fstat(fd, &mst) != 0 || mst.st_size <= 0) ::_exit(wire::kExitProtocol);
      if (region != nullptr) ::munmap(const_cast<uint8_t*>(region), region_size);
      void* p = ::mmap(nullptr, static_cast<size_t>(mst.st_size), PROT_READ, MAP_SHARED, fd, 0);
      ::close(fd);  // the mapping stays
      if (p == MAP_FAILED) ::_exit(wire::kExitOutOfMemory);
      region = static_cast<const uint8_t*>(p);
      region_size = static_cast<size_t>(mst.st_size);
    } else if (c != nullptr) {
      ::_exit(wire::kExitProtocol);
    }
    if (job.size > region_size) ::_exit(wire::kExitProtocol);
    const uint8_t* media = region;
    // An orphan (the pool died mid-job) ends within a job's time.
    ::alarm(static_cast<unsigned>(a.job_seconds + 5));
    Answer answer;
    try {
      answer = HandleJob(static_cast<JobKind>(job.value & ~wire::kNewBuffer),
                         {media, static_cast<size_t>(job.size)});
    } catch (const std::bad_alloc&) {
      ::_exit(wire::kExitOutOfMemory);
    } catch (const std::exception& e) {
      answer = {StatusCode::kInternal, fmt::format("the decoder failed: {}", e.what())};
    }
    ::alarm(0);
    const wire::Header head{wire::kAnswer, static_cast<uint32_t>(answer.code), answer.body.size()};
    if (!WriteAll(&head, sizeof(head)) || !WriteAll(answer.body.data(), answer.body.size()))
      ::_exit(0);
  }
}

}  // namespace takedown::sandbox
