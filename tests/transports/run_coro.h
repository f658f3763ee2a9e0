// Runs a test body as a coroutine on a fresh io_context, bounded in time.
#pragma once

#include <doctest/doctest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>

#include <chrono>
#include <exception>

namespace nf::testing {

template <typename Body>
void run_coro(Body&& body, std::chrono::seconds limit = std::chrono::seconds(60)) {
  asio::io_context io;
  bool done = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        co_await body(io);
        done = true;
      },
      [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
  io.run_for(limit);
  REQUIRE_MESSAGE(done, "the test coroutine did not finish within its time limit");
}

}  // namespace nf::testing
