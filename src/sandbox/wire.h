// The pool and a worker talk over one stream socket (fd 3 in the worker):
//   worker -> pool, once its sandbox is up:  Header{kReady, 0, 0}
//   pool -> worker, a job:                   Header{kJob, kind [| kNewBuffer], job bytes}
//                                            [+ SCM_RIGHTS(the new job buffer, a memfd)]
//   worker -> pool, the answer:              Header{kAnswer, status code, body bytes} + body
// The body: the signals as CBOR (code 0), or the error message. Internal to sandbox/.
#pragma once

#include <cstdint>

namespace takedown::sandbox::wire {

inline constexpr uint32_t kReady = 0x54445231;   // "TDR1"
inline constexpr uint32_t kJob = 0x54444a31;     // "TDJ1"
inline constexpr uint32_t kAnswer = 0x54444131;  // "TDA1"
inline constexpr int kWorkerFd = 3;
// In a job's value: a new job buffer comes with this job (SCM_RIGHTS); else the job is in the
// buffer the worker has.
inline constexpr uint32_t kNewBuffer = 0x80000000u;
// A worker's answer is bounded: a 24-hour video sampled densely is ~200 MB of signals.
inline constexpr uint64_t kMaxAnswer = 512ull << 20;

struct Header {
  uint32_t magic = 0;
  uint32_t value = 0;  // job: the kind; answer: the status code
  uint64_t size = 0;   // job: the media's bytes; answer: the body's
};
static_assert(sizeof(Header) == 16);

// A worker that ends itself says why by its exit status.
inline constexpr int kExitForbiddenCall = 120;  // the seccomp filter trapped a system call
inline constexpr int kExitOutOfMemory = 121;    // an allocation failed (the address-space limit)
inline constexpr int kExitSetupFailed = 122;    // could not set up its sandbox
inline constexpr int kExitProtocol = 123;       // the pool broke the protocol

}  // namespace takedown::sandbox::wire
