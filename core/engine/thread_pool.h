// WorkerPool: a fixed team of threads that runs one function over `parts`
// parts, one call per part.
//
// Used by a training step to split an operator's output rows between cores.
// The caller's thread is a member and takes part in every run, so a pool of
// one thread starts no thread at all. Workers live as long as the pool.
// run() is not re-entrant and must be called from one thread at a time.
//
// A step forks and joins 12-20 times, so both must be cheap:
// - A run is published by one atomic store (generation and next part in one
//   64-bit word); members *claim* parts from that word. The caller claims
//   parts too, so a worker that is not running yet (the machine is shared)
//   delays nothing: the caller runs its parts and returns. Which thread runs
//   a part never changes what the part computes.
// - A waiting worker spins on the word for a few microseconds (enough for
//   the back-to-back sections of a step), then sleeps on a condition
//   variable. The caller waits only for parts a worker has claimed and not
//   finished, spinning briefly, then sleeping. Long spins lost on a shared
//   machine (thread_pool.cpp); no member ever spins while the pool is idle.
// - The OS is called only when the other side is asleep (counted in
//   sleepers_ / caller_waiting_), so back-to-back runs make no system call.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace nf::engine {

class WorkerPool {
 public:
  explicit WorkerPool(int threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  int size() const { return threads_; }

  // While held, a waiting worker spins up to about 50 us for the next run
  // instead of a few: set for the length of a training loop, whose serial
  // pieces between sections (loss, small layers) are longer than the short
  // spin, so that no section waits for a worker to be woken. Released, an
  // idle pool sleeps as before. Has no effect with more threads than cores.
  void hold(bool held) {
    idle_spin_.store(held ? held_spin_ : short_spin_, std::memory_order_relaxed);
  }

  // Calls fn(part, parts) once for every part = 0 .. parts-1 (parts = size()),
  // each call on one member, and returns when all are done. A member may run
  // several parts (one after the other). Does not allocate.
  template <typename F>
  void run(F& fn) {
    if (threads_ == 1) {
      fn(0, 1);
      return;
    }
    run_erased(&fn, [](void* ctx, int part, int parts) { (*static_cast<F*>(ctx))(part, parts); });
  }

 private:
  using Call = void (*)(void*, int, int);
  void run_erased(void* ctx, Call call);
  void worker();
  // Claims and runs parts of the published run until none is left; returns
  // the generation it claimed from and adds the parts it ran to *ran.
  uint32_t claim_and_run(int* ran);

  int threads_;
  int short_spin_ = 0;  // pause rounds a worker spins before sleeping
  int held_spin_ = 0;   // the same while held
  std::atomic<int> idle_spin_{0};
  int join_spin_ = 0;  // pause rounds the caller spins before sleeping
  std::vector<std::thread> workers_;
  // Written by the caller before the run is published, read by a worker
  // only after it claimed a part of that run (the run cannot end, and the
  // caller cannot overwrite them, before that part is done).
  void* ctx_ = nullptr;
  Call call_ = nullptr;
  // generation << 32 | next unclaimed part. Workers spin on it.
  alignas(64) std::atomic<uint64_t> state_{0};
  // Parts finished by workers in the current run. The caller spins on it.
  alignas(64) std::atomic<int> done_{0};
  alignas(64) std::atomic<int> sleepers_{0};
  std::atomic<bool> caller_waiting_{false};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
};

}  // namespace nf::engine
