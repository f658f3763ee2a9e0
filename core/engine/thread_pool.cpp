#include "core/engine/thread_pool.h"

namespace nf::engine {

namespace {

// A pause is about 20 ns on the Zen 5 VM (PAUSE; YIELD on aarch64).
// Spins are short on purpose: a worker spins about 4 us for the next run
// (the sections of a step follow each other that closely), the caller about
// 2 us for claimed parts to finish. Measured on the shared 2-core VM (load
// about 3): spins of 100 us and more made 2 threads *slower* than spins of
// 0-4 us (dense 0.55x vs 0.87x of one thread, clos-10 0.5x vs 0.65x): a
// spinning thread uses up its share of a busy core, is then preempted in
// the middle of a part and the caller waits for it, where a thread that
// slept is favoured by the scheduler when woken. Claiming (the caller runs
// parts no worker has started) is what removes the wait for a wake-up.
constexpr int kIdleSpin = 200;
constexpr int kJoinSpin = 100;
// While the pool is held (a training loop runs): about 50 us.
constexpr int kHeldSpin = 2500;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

constexpr uint32_t generation_of(uint64_t state) {
  return static_cast<uint32_t>(state >> 32);
}
constexpr uint32_t part_of(uint64_t state) {
  return static_cast<uint32_t>(state);
}

}  // namespace

WorkerPool::WorkerPool(int threads) : threads_(threads < 1 ? 1 : threads) {
  // More threads than cores: a spinning member would hold the core the
  // member it waits for needs, so members sleep at once.
  const auto cores = static_cast<int>(std::thread::hardware_concurrency());
  const bool spin = cores == 0 || threads_ <= cores;
  short_spin_ = spin ? kIdleSpin : 0;
  held_spin_ = spin ? kHeldSpin : 0;
  idle_spin_.store(short_spin_);
  join_spin_ = spin ? kJoinSpin : 0;
  for (int i = 1; i < threads_; ++i) workers_.emplace_back([this] { worker(); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
    // A new generation with every part already claimed: wakes the workers,
    // gives them nothing to run.
    const uint32_t next = generation_of(state_.load()) + 1;
    state_.store(uint64_t{next} << 32 | static_cast<uint32_t>(threads_));
  }
  start_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

// Ordering. Publishing: ctx_, call_ and done_ = 0 are written before the
// sequentially consistent store of state_; a member's fetch_add on state_
// reads that store (or a later increment of it), so it sees them. The
// caller rewrites them only after done_ counted every claimed part, and
// each worker's increment of done_ comes after its last read of them.
// Sleeping: state_/sleepers_ and done_/caller_waiting_ are Dekker pairs
// (each side writes one, then loads the other, all sequentially
// consistent), so either the waker sees the sleeper registered and takes
// the mutex to notify it, or the sleeper sees the new value and does not
// sleep. The sleeper registers and re-checks under the mutex, so the
// notification cannot fall between its check and its wait.
// Every write of a pair is a read-modify-write (exchange, fetch_add), not a
// plain store. C++ orders a sequentially consistent store before a later
// sequentially consistent load either way, and aarch64 hardware does too
// (STLR then LDAR), but qemu-aarch64 on an x86 host (Debian 12's qemu 7.2)
// lets the load pass the store: a waker then missed a sleeper, both slept,
// and the engine suite hung in CI about once in 75 runs under qemu.
// Emulated read-modify-writes are full barriers on the host; on x86 the
// exchange is what a sequentially consistent store compiles to anyway.
uint32_t WorkerPool::claim_and_run(int* ran) {
  while (true) {
    const uint64_t claimed = state_.fetch_add(1);
    const auto part = static_cast<int>(part_of(claimed));
    if (part >= threads_) return generation_of(claimed);
    call_(ctx_, part, threads_);
    ++*ran;
  }
}

void WorkerPool::run_erased(void* ctx, Call call) {
  ctx_ = ctx;
  call_ = call;
  done_.store(0, std::memory_order_relaxed);
  const uint32_t generation = generation_of(state_.load(std::memory_order_relaxed)) + 1;
  state_.exchange(uint64_t{generation} << 32);  // an RMW: see "Sleeping" above
  if (sleepers_.load() > 0) {
    { std::lock_guard<std::mutex> lock(mu_); }
    start_cv_.notify_all();
  }
  int mine = 0;
  claim_and_run(&mine);
  const int others = threads_ - mine;
  for (int i = 0; i < join_spin_; ++i) {
    if (done_.load(std::memory_order_acquire) == others) return;
    cpu_relax();
  }
  std::unique_lock<std::mutex> lock(mu_);
  caller_waiting_.exchange(true);  // an RMW: see "Sleeping" above
  while (done_.load() != others) done_cv_.wait(lock);
  caller_waiting_.store(false, std::memory_order_relaxed);
}

void WorkerPool::worker() {
  uint32_t seen = 0;
  while (true) {
    uint32_t now = generation_of(state_.load(std::memory_order_acquire));
    const int spin = idle_spin_.load(std::memory_order_relaxed);
    for (int i = 0; now == seen && i < spin; ++i) {
      cpu_relax();
      now = generation_of(state_.load(std::memory_order_acquire));
    }
    if (now == seen) {
      std::unique_lock<std::mutex> lock(mu_);
      sleepers_.fetch_add(1);
      while (generation_of(state_.load()) == seen) start_cv_.wait(lock);
      sleepers_.fetch_sub(1, std::memory_order_relaxed);
    }
    if (stop_.load()) return;
    int ran = 0;
    seen = claim_and_run(&ran);
    if (ran > 0) {
      done_.fetch_add(ran);
      if (caller_waiting_.load()) {
        { std::lock_guard<std::mutex> lock(mu_); }
        done_cv_.notify_one();
      }
    }
  }
}

}  // namespace nf::engine
