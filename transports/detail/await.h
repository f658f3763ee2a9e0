// Helpers shared by the transports' coroutines (internal: not part of the
// transports' interface).
#pragma once

#include <asio/awaitable.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <chrono>
#include <optional>
#include <utility>

namespace nf::detail {

// Completion token that yields (error_code, results...) instead of throwing:
// no exception crosses our code, and a cancelled wait is a value, not a throw.
inline constexpr auto kUseTuple = asio::experimental::as_tuple(asio::use_awaitable);

// Runs `op` and returns its result, or nullopt when `timeout` passes first;
// `op` is then cancelled (terminal cancellation reaches its inner waits).
template <typename T>
asio::awaitable<std::optional<T>> with_timeout(asio::awaitable<T> op,
                                               std::chrono::steady_clock::duration timeout) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
  auto result = co_await (std::move(op) || timer.async_wait(kUseTuple));
  if (result.index() == 0) co_return std::move(std::get<0>(result));
  co_return std::nullopt;
}

}  // namespace nf::detail
