#include "core/engine/thread_pool.h"

namespace nf::engine {

WorkerPool::WorkerPool(int threads) : threads_(threads < 1 ? 1 : threads) {
  for (int part = 1; part < threads_; ++part) workers_.emplace_back([this, part] { worker(part); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  start_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void WorkerPool::run_erased(void* ctx, Call call) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ctx_ = ctx;
    call_ = call;
    pending_ = threads_ - 1;
    ++generation_;
  }
  start_cv_.notify_all();
  call(ctx, 0, threads_);
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [this] { return pending_ == 0; });
}

void WorkerPool::worker(int part) {
  uint64_t seen = 0;
  while (true) {
    void* ctx = nullptr;
    Call call = nullptr;
    {
      std::unique_lock<std::mutex> lock(mu_);
      start_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      ctx = ctx_;
      call = call_;
    }
    call(ctx, part, threads_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (--pending_ == 0) done_cv_.notify_one();
    }
  }
}

}  // namespace nf::engine
