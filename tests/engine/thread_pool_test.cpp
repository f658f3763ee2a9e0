// WorkerPool: every member runs every call exactly once, writes made by the
// members are visible to the caller after run(), and both the spinning and
// the sleeping hand-over work (the second forced by sleeping between runs).
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "core/engine/thread_pool.h"

namespace nf::engine {
namespace {

// Runs `runs` calls; in call r member p adds r + p to its own slot. Returns
// false when a member saw a wrong part count or a slot a wrong sum.
bool count_runs(WorkerPool& pool, int runs, std::chrono::microseconds pause) {
  const int n = pool.size();
  std::vector<int64_t> slot(static_cast<size_t>(n) * 16, 0);  // 16 apart: no false sharing
  std::vector<int> bad_parts(static_cast<size_t>(n) * 16, 0);
  for (int r = 0; r < runs; ++r) {
    auto fn = [&](int part, int parts) {
      if (parts != n) ++bad_parts[static_cast<size_t>(part) * 16];
      slot[static_cast<size_t>(part) * 16] += r + part;
    };
    pool.run(fn);
    // Written by every member in this run, read here without a lock.
    for (int p = 0; p < n; ++p) {
      const int64_t want = int64_t{r} * (r + 1) / 2 + int64_t{p} * (r + 1);
      if (slot[static_cast<size_t>(p) * 16] != want) return false;
    }
    if (pause.count() > 0) std::this_thread::sleep_for(pause);
  }
  for (int p = 0; p < n; ++p) {
    if (bad_parts[static_cast<size_t>(p) * 16] != 0) return false;
  }
  return true;
}

TEST_CASE("every member runs every call once, back to back") {
  for (int threads : {1, 2, 3, 4}) {
    WorkerPool pool(threads);
    CAPTURE(threads);
    CHECK(pool.size() == threads);
    CHECK(count_runs(pool, 20000, std::chrono::microseconds(0)));
  }
}

TEST_CASE("members that fell asleep between calls are woken") {
  // 5 ms apart is longer than any spin, so workers and the caller's join go
  // through the condition variables.
  for (int threads : {2, 3}) {
    WorkerPool pool(threads);
    CAPTURE(threads);
    CHECK(count_runs(pool, 30, std::chrono::microseconds(5000)));
  }
}

TEST_CASE("a slow member makes the caller wait, not return early") {
  WorkerPool pool(2);
  std::vector<int> done(2, 0);
  for (int r = 0; r < 5; ++r) {
    auto fn = [&](int part, int) {
      if (part == 1) std::this_thread::sleep_for(std::chrono::milliseconds(3));
      done[part] = r + 1;
    };
    pool.run(fn);
    CHECK(done[0] == r + 1);
    CHECK(done[1] == r + 1);
  }
}

TEST_CASE("a pool is destroyed cleanly, idle or just used") {
  { WorkerPool idle(3); }
  {
    WorkerPool used(3);
    CHECK(count_runs(used, 10, std::chrono::microseconds(0)));
  }
  {
    WorkerPool slept(2);
    CHECK(count_runs(slept, 2, std::chrono::microseconds(0)));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CHECK(WorkerPool(0).size() == 1);
}

}  // namespace
}  // namespace nf::engine
