// Media from outside decoded in sandboxed worker processes (issue 23).
//
// FFmpeg, libjpeg-turbo and libwebp parse whatever uploaders, requesters and mail senders send.
// A memory-safety bug in them must cost one job, never the service, its store or its keys. So
// `takedown serve` decodes and hashes media in a pool of worker processes:
//  - each a fresh `takedown sandbox-worker` (exec'd, so nothing of the service's memory -- key
//    hashes, the evidence key, the store -- is in it), with only its job socket open, stdin and
//    stdout on /dev/null, no environment beyond the sanitizers' options;
//  - switched to an unprivileged user when the service runs as root, no new privileges, no core
//    dumps, no files written, at most 16 descriptors, an address-space limit (not under the
//    sanitizers, which reserve terabytes of shadow memory; the pool's resident-memory watch still
//    holds there);
//  - then a seccomp-bpf filter (libseccomp): reading and writing its socket and stderr, memory,
//    time and signals to itself; no open, no socket, no exec, no fork, no executable mappings.
//    Anything else kills it (SIGSYS), naming the call on stderr.
// A job's media is copied once into the worker's job buffer, an in-memory file (memfd, passed as a
// descriptor when it is made; never on a disk) mapped read-only by the worker; the answer is the
// signals as CBOR,
// checked whole by the pool. A worker that crashes, goes past the memory limit or the job's time
// is killed and replaced; that job fails with DataLoss (HTTP 422) naming why, and the other
// workers go on.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/metrics.h"
#include "core/mutex.h"
#include "core/status.h"
#include "takedown/service.h"

namespace takedown::sandbox {

struct Options {
  // The executable run as `<worker_path> sandbox-worker ...`: the takedown binary itself.
  std::string worker_path = "/proc/self/exe";
  int workers = 0;                        // 0: one per core
  uint64_t memory_bytes = 2048ull << 20;  // resident memory per worker beyond its job's media
  double job_seconds = 120;               // wall time per job
  std::string user = "nobody";            // the workers' user when the service runs as root
  bool seccomp = true;                    // off only to find a missing system call
};

// Job kinds on the wire. The fault kinds exist only in builds with TAKEDOWN_SANDBOX_FAULTS (the
// test builds); a release worker refuses them.
enum class JobKind : uint32_t {
  kHashQuery = 1,  // an upload: a video sampled once a second
  kHashBank = 2,   // a bank entry or evidence: variants, a video sampled densely
  kCli = 3,        // a command-line job: options (JSON) and a file, to the registered handler
  kFaultCrash = 100,
  kFaultAllocate = 101,
  kFaultLoop = 102,
  kFaultOpenFile = 103,
  kFaultSocket = 104,
};

// Whether this build's workers obey the fault kinds (tests skip loudly without them).
bool FaultsCompiledIn();

class Pool {
 public:
  // Starts options.workers workers (at least one). Errors: the worker executable cannot be run,
  // the user does not exist, or a worker did not come up.
  static Result<std::unique_ptr<Pool>> Start(const Options& options,
                                             MetricsRegistry* metrics = nullptr);
  ~Pool();  // ends every worker
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // The media's signals, hashed by a worker. Waits for a free worker. A failed worker: DataLoss
  // naming the reason ("crashed (signal 11)", "over its memory limit of 2048 MiB", "took longer
  // than 120 s", "a forbidden system call"); the worker is replaced.
  Result<service::Signals> Hash(std::span<const uint8_t> media, bool bank_side);
  // Any job kind answering with signals (the tests' faults).
  Result<service::Signals> Run(JobKind kind, std::span<const uint8_t> media);
  // A command-line job (`takedown hash --sandbox`, `takedown match --sandbox`): `options` and the
  // file's bytes to the handler the binary registered (SetCliJobHandler); its answer's body.
  Result<std::string> RunCli(const nlohmann::json& options, std::span<const uint8_t> media);

  struct Stats {
    int workers = 0;
    uint64_t jobs = 0, failed = 0, replaced = 0;
    uint64_t retired = 0;  // healthy workers ended after a job left them over half the memory limit
    double last_replace_ms = 0;  // the time the last replacement took to start
  };
  Stats stats() const;
  // The pids of the workers now running (tests; memory per worker in benchmarks).
  std::vector<pid_t> worker_pids() const;

 private:
  struct Statm {
    int fd = -1;
    ~Statm();
  };
  // A worker's job buffer: an in-memory file (memfd) mapped here for writing and in the worker
  // for reading, kept from job to job (a new one, passed with its job, only when a job needs more
  // room or a small job follows a big one): the media is copied once, into it, with no file
  // system, page allocation or mapping per job.
  struct Buffer {
    int fd = -1;
    uint8_t* map = nullptr;
    size_t capacity = 0;
    ~Buffer();
  };
  struct Worker {
    pid_t pid = -1;
    int fd = -1;
    std::shared_ptr<Buffer> buffer;
    std::shared_ptr<Statm> statm;  // its /proc/PID/statm, open
  };
  explicit Pool(const Options& options, MetricsRegistry* metrics);
  Result<Worker> Spawn();
  // Takes a free worker (waiting for one; none when the wait ran out or `dead` was filled);
  // idle workers found dead go to `dead`. Release gives one back, or a replacement when it failed.
  Worker Acquire(std::vector<Worker>* dead) TD_EXCLUDES(mu_);
  void Release(Worker w, bool failed) TD_EXCLUDES(mu_);
  // The answer's body is handed to `accept` before the worker is trusted with another job: a
  // worker whose answer it refuses is killed (it may have been taken over).
  using Accept = std::function<Status(const std::string& body)>;
  Result<std::string> RunRaw(JobKind kind, std::span<const uint8_t> prefix,
                             std::span<const uint8_t> media, const Accept& accept);
  Result<std::string> RunOn(Worker& w, JobKind kind, std::span<const uint8_t> prefix,
                            std::span<const uint8_t> media, const Accept& accept, bool* failed,
                            bool* not_started);

  Options options_;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  bool switch_user_ = false;
  mutable Mutex mu_;
  CondVar free_cv_;
  std::vector<Worker> free_ TD_GUARDED_BY(mu_);
  std::vector<pid_t> running_ TD_GUARDED_BY(mu_);  // every live worker
  int missing_ TD_GUARDED_BY(mu_) = 0;             // workers that could not be replaced yet
  std::atomic<uint64_t> jobs_{0}, failed_{0}, replaced_{0}, retired_{0};
  std::atomic<int64_t> last_replace_us_{0};
  MetricsRegistry::CounterMetric* m_ok_ = nullptr;
  MetricsRegistry::CounterMetric* m_failed_ = nullptr;
  MetricsRegistry::CounterMetric* m_replaced_ = nullptr;
  MetricsRegistry* metrics_ = nullptr;
};

// The worker side: `takedown sandbox-worker` (argv after the word). Never returns.
[[noreturn]] void WorkerMain(const std::vector<std::string>& args);

// One job as the worker runs it, after the sandbox is up (what the fuzz target drives): the
// answer's status code and body (CBOR signals, or the error message).
struct Answer {
  StatusCode code = StatusCode::kOk;
  std::string body;
};
Answer HandleJob(JobKind kind, std::span<const uint8_t> media);

// The command-line jobs' handler, registered by the takedown binary before WorkerMain (the
// command-line code lives above this library). Answer: ok with the command's output, or the error.
using CliJobHandler = Answer (*)(const nlohmann::json& options, std::span<const uint8_t> file);
void SetCliJobHandler(CliJobHandler handler);

}  // namespace takedown::sandbox
