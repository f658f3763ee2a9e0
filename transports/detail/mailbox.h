// Mailbox<T>: an unbounded queue with one asynchronous waiter, on one
// executor (internal to transports). The in-process transport is two
// mailboxes of frames per link and one mailbox of connections per listener.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/cancellation_state.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>

#include <chrono>
#include <deque>
#include <string>
#include <utility>

#include "core/util/status.h"
#include "transports/detail/await.h"

namespace nf::detail {

template <typename T>
class Mailbox {
 public:
  explicit Mailbox(asio::any_io_executor executor)
      : signal_(std::move(executor), std::chrono::steady_clock::time_point::max()) {}

  // Precondition: !closed().
  void push(T item) {
    items_.push_back(std::move(item));
    signal_.cancel();
  }
  // Later pops return what is queued, then kUnavailable.
  void close() {
    closed_ = true;
    signal_.cancel();
  }
  void close_and_clear() {
    items_.clear();
    close();
  }
  bool closed() const { return closed_; }
  size_t size() const { return items_.size(); }

  // Takes the oldest item, waiting until `deadline`. `what` names the thing
  // waited for in error messages ("frame", "connection").
  asio::awaitable<Status> pop(T* out, std::chrono::steady_clock::time_point deadline,
                              const char* what) {
    for (;;) {
      if (!items_.empty()) {
        *out = std::move(items_.front());
        items_.pop_front();
        co_return Status::ok();
      }
      if (closed_) co_return unavailable(std::string("closed while waiting for a ") + what);
      if (std::chrono::steady_clock::now() >= deadline) {
        co_return deadline_exceeded(std::string("no ") + what + " before the timeout");
      }
      signal_.expires_at(deadline);
      co_await signal_.async_wait(kUseTuple);
      // A cancellation from our caller (not from push/close) ends the wait.
      const asio::cancellation_state state = co_await asio::this_coro::cancellation_state;
      if (state.cancelled() != asio::cancellation_type::none) {
        co_return deadline_exceeded(std::string("wait for a ") + what + " cancelled");
      }
    }
  }

 private:
  std::deque<T> items_;
  bool closed_ = false;
  asio::steady_timer signal_;
};

}  // namespace nf::detail
