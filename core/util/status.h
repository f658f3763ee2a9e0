// Status and Result<T>: how NeuroFabric reports failures of the world.
//
// A broken contract (a caller passing what the header forbids) asserts. A
// failure of the world (bad input, a lost peer, a full disk) is returned as a
// Status whose message names the bad thing and its value. No exception
// crosses a library boundary.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace nf {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,   // the caller's input is malformed or out of range
  kNotFound,          // a named file, device or entry does not exist
  kCorrupt,           // stored or received bytes fail a check
  kIoError,           // the operating system refused a read or write
  kUnavailable,       // a peer or service cannot be reached now; retrying may help
  kDeadlineExceeded,  // a timeout expired
  kPermissionDenied,  // authentication or authorization failed
  kFailedPrecondition,
  kInternal,
};

// Returns a stable lower-case name such as "invalid_argument".
const char* status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return Status(); }

  bool is_ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid_argument: fan-in 0 must be at least 1", or "ok".
  std::string to_string() const;

  // Prefixes the message with context, keeping the code: "reading x.idx: ...".
  Status with_context(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status invalid_argument(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status not_found(std::string m) {
  return {StatusCode::kNotFound, std::move(m)};
}
inline Status corrupt(std::string m) {
  return {StatusCode::kCorrupt, std::move(m)};
}
inline Status io_error(std::string m) {
  return {StatusCode::kIoError, std::move(m)};
}
inline Status unavailable(std::string m) {
  return {StatusCode::kUnavailable, std::move(m)};
}
inline Status deadline_exceeded(std::string m) {
  return {StatusCode::kDeadlineExceeded, std::move(m)};
}
inline Status permission_denied(std::string m) {
  return {StatusCode::kPermissionDenied, std::move(m)};
}
inline Status failed_precondition(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
inline Status internal_error(std::string m) {
  return {StatusCode::kInternal, std::move(m)};
}

// Either a value or a non-ok Status. Accessing the value of a failed Result
// (or the status of a successful one as an error) is a contract violation.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : data_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(data_).is_ok() && "Result built from an ok Status");
  }

  bool is_ok() const { return std::holds_alternative<T>(data_); }
  explicit operator bool() const { return is_ok(); }

  const Status& status() const {
    static const Status kOk;
    return is_ok() ? kOk : std::get<Status>(data_);
  }
  T& value() & {
    assert(is_ok());
    return std::get<T>(data_);
  }
  const T& value() const& {
    assert(is_ok());
    return std::get<T>(data_);
  }
  T&& value() && {
    assert(is_ok());
    return std::get<T>(std::move(data_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace nf

// Returns the Status of `expr` from the enclosing function when it is not ok.
#define NF_RETURN_IF_ERROR(expr)                \
  do {                                          \
    ::nf::Status nf_status_ = (expr);           \
    if (!nf_status_.is_ok()) return nf_status_; \
  } while (0)

#define NF_CONCAT_INNER_(a, b) a##b
#define NF_CONCAT_(a, b) NF_CONCAT_INNER_(a, b)
// Declares `lhs` from a Result, or returns its Status from the enclosing function.
#define NF_ASSIGN_OR_RETURN(lhs, expr) \
  NF_ASSIGN_OR_RETURN_IMPL_(NF_CONCAT_(nf_result_, __LINE__), lhs, expr)
#define NF_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.is_ok()) return tmp.status();          \
  lhs = std::move(tmp).value()
