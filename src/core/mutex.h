// Mutexes whose locking rules the compiler checks: clang's thread-safety analysis
// (-Wthread-safety) proves that every field marked TD_GUARDED_BY(mu_) is touched only with mu_
// held and that functions marked TD_REQUIRES / TD_EXCLUDES are called accordingly. g++ ignores
// the attributes; CI builds once with clang and -Werror (scripts/check-threads.sh).
//
//   Mutex mu_;
//   int64_t n_ TD_GUARDED_BY(mu_) = 0;
//   void Add() TD_EXCLUDES(mu_) { MutexLock l(&mu_); ++n_; }
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <shared_mutex>

#if defined(__clang__)
#define TD_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define TD_THREAD_ANNOTATION(x)
#endif

#define TD_CAPABILITY(x) TD_THREAD_ANNOTATION(capability(x))
#define TD_SCOPED_CAPABILITY TD_THREAD_ANNOTATION(scoped_lockable)
#define TD_GUARDED_BY(x) TD_THREAD_ANNOTATION(guarded_by(x))
#define TD_PT_GUARDED_BY(x) TD_THREAD_ANNOTATION(pt_guarded_by(x))
#define TD_REQUIRES(...) TD_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define TD_REQUIRES_SHARED(...) TD_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))
#define TD_ACQUIRE(...) TD_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define TD_ACQUIRE_SHARED(...) TD_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#define TD_RELEASE(...) TD_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define TD_RELEASE_SHARED(...) TD_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
#define TD_RELEASE_GENERIC(...) TD_THREAD_ANNOTATION(release_generic_capability(__VA_ARGS__))
#define TD_EXCLUDES(...) TD_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define TD_NO_THREAD_SAFETY_ANALYSIS TD_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace takedown {

class TD_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;
  void Lock() TD_ACQUIRE() { mu_.lock(); }
  void Unlock() TD_RELEASE() { mu_.unlock(); }
  // For the analysis only: states that the caller holds this mutex.
  void AssertHeld() const TD_THREAD_ANNOTATION(assert_capability(this)) {}

 private:
  friend class CondVar;
  std::mutex mu_;
};

class TD_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) TD_ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() TD_RELEASE() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* mu_;
};

// Many readers or one writer.
class TD_CAPABILITY("shared mutex") SharedMutex {
 public:
  void Lock() TD_ACQUIRE() { mu_.lock(); }
  void Unlock() TD_RELEASE() { mu_.unlock(); }
  void LockShared() TD_ACQUIRE_SHARED() { mu_.lock_shared(); }
  void UnlockShared() TD_RELEASE_SHARED() { mu_.unlock_shared(); }
  // For the analysis only (inside a lambda called under the lock): states that it is held.
  void AssertReaderHeld() const TD_THREAD_ANNOTATION(assert_shared_capability(this)) {}

 private:
  std::shared_mutex mu_;
};

class TD_SCOPED_CAPABILITY WriterLock {
 public:
  explicit WriterLock(SharedMutex* mu) TD_ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~WriterLock() TD_RELEASE() { mu_->Unlock(); }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  SharedMutex* mu_;
};

class TD_SCOPED_CAPABILITY ReaderLock {
 public:
  explicit ReaderLock(SharedMutex* mu) TD_ACQUIRE_SHARED(mu) : mu_(mu) { mu_->LockShared(); }
  ~ReaderLock() TD_RELEASE_GENERIC() { mu_->UnlockShared(); }
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

 private:
  SharedMutex* mu_;
};

// A condition variable over a Mutex the caller holds.
class CondVar {
 public:
  void Wait(Mutex* mu) TD_REQUIRES(mu) {
    std::unique_lock<std::mutex> l(mu->mu_, std::adopt_lock);
    cv_.wait(l);
    l.release();
  }
  // Returns false on timeout.
  bool WaitFor(Mutex* mu, std::chrono::milliseconds d) TD_REQUIRES(mu) {
    std::unique_lock<std::mutex> l(mu->mu_, std::adopt_lock);
    const bool woken = cv_.wait_for(l, d) == std::cv_status::no_timeout;
    l.release();
    return woken;
  }
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace takedown
