// Backoff: how long an agent waits before reconnecting to a lost aggregator.
//
// Exponential (initial, doubling up to a cap) with multiplicative jitter drawn
// from the project's seeded Rng, so a fleet of devices that lost the server
// at once does not return in lock-step, yet a test sees the same delays for
// the same seed. Not thread-safe; one per session.
#pragma once

#include <chrono>
#include <cstdint>

#include "core/util/rng.h"

namespace nf {

struct BackoffConfig {
  std::chrono::milliseconds initial{500};
  std::chrono::milliseconds max{30000};
  double factor = 2.0;
  double jitter = 0.2;  // each delay is scaled by a uniform factor in [1 - jitter, 1 + jitter]
  uint64_t seed = 0;
};

class Backoff {
 public:
  // Preconditions: 0 < initial <= max, factor >= 1, 0 <= jitter < 1.
  explicit Backoff(const BackoffConfig& config);

  // The delay before the next attempt; grows after each call.
  std::chrono::milliseconds next();
  // Called after a successful connection: the next failure waits `initial` again.
  void reset() { attempt_ = 0; }
  int attempts() const { return attempt_; }

 private:
  BackoffConfig config_;
  Rng rng_;
  int attempt_ = 0;
};

// The time source of reconnect loops; tests swap in FakeClock.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point now() = 0;
  virtual void sleep_for(std::chrono::milliseconds d) = 0;
};

class SystemClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point now() override;
  void sleep_for(std::chrono::milliseconds d) override;
};

// Time advances only through sleep_for, instantly.
class FakeClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point now() override { return now_; }
  void sleep_for(std::chrono::milliseconds d) override { now_ += d; }

 private:
  std::chrono::steady_clock::time_point now_{};
};

}  // namespace nf
