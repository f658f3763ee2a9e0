// WorkerPool: a fixed team of threads that runs one function on every member.
//
// Used by a training step to split an operator's output rows between cores.
// The caller's thread is member 0 and takes part in every run, so a pool of
// one thread starts no thread at all. Workers live as long as the pool.
// run() is not re-entrant and must be called from one thread at a time.
#pragma once

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

  // Calls fn(part, parts) for part = 0 .. parts-1, one per member, and returns
  // when all are done. Does not allocate.
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
  void worker(int part);

  int threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
  void* ctx_ = nullptr;
  Call call_ = nullptr;
};

}  // namespace nf::engine
