// Errors as values for every request path (see STYLE.md, Envoy's error policy).
//
// A Status is a code plus a human-readable message that names what was wrong ("empty file",
// "PNG declares 100000x100000 pixels, over the limit of 100000000"). Result<T> holds either a
// value or a non-OK Status. Both are cheap to move and are thread-compatible (not synchronised).
// Exceptions are used only at start-up; assertions only for broken invariants.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace takedown {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // the caller's input is malformed (bad hash string, bad flag value)
  kNotFound,            // a named file or object does not exist
  kPermissionDenied,    // the OS or a policy refused access
  kResourceExhausted,   // a configured limit (pixels, bytes, frames, time) would be exceeded
  kDataLoss,            // input is corrupt or truncated beyond use
  kUnsupported,         // input is well-formed but of a kind we do not handle
  kIoError,             // reading or writing failed
  kInternal,            // a bug: an invariant did not hold
  kFailedPrecondition,  // the object is not in a state that allows this (decided twice, ...)
  kUnavailable,         // needed elsewhere and not there now (a content shard): try again later
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "invalid_argument: empty file"
  std::string ToString() const;

  // Returns a copy with `context` prepended to the message ("reading x.jpg: empty file").
  Status WithContext(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status PermissionDenied(std::string m) {
  return {StatusCode::kPermissionDenied, std::move(m)};
}
inline Status ResourceExhausted(std::string m) {
  return {StatusCode::kResourceExhausted, std::move(m)};
}
inline Status DataLoss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
inline Status Unsupported(std::string m) { return {StatusCode::kUnsupported, std::move(m)}; }
inline Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status FailedPrecondition(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}

// Either a T or a non-OK Status. Constructing from an OK Status is a bug.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace takedown

// Propagates a non-OK Status from an expression returning Status.
#define TD_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::takedown::Status td_status_ = (expr);  \
    if (!td_status_.ok()) return td_status_; \
  } while (false)

#define TD_CONCAT_INNER(a, b) a##b
#define TD_CONCAT(a, b) TD_CONCAT_INNER(a, b)

// `TD_ASSIGN_OR_RETURN(auto x, MakeX());` declares x from a Result or returns its Status.
#define TD_ASSIGN_OR_RETURN(lhs, expr) \
  TD_ASSIGN_OR_RETURN_IMPL(TD_CONCAT(td_result_, __LINE__), lhs, expr)
#define TD_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()
