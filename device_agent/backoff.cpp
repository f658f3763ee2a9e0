#include "device_agent/backoff.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <thread>

namespace nf {

Backoff::Backoff(const BackoffConfig& config) : config_(config), rng_(config.seed, 0xBAC0FFu) {
  assert(config.initial.count() > 0 && config.initial <= config.max);
  assert(config.factor >= 1.0 && config.jitter >= 0.0 && config.jitter < 1.0);
}

std::chrono::milliseconds Backoff::next() {
  double base = static_cast<double>(config_.initial.count());
  const double cap = static_cast<double>(config_.max.count());
  for (int i = 0; i < attempt_ && base < cap; ++i) base *= config_.factor;
  base = std::min(base, cap);
  ++attempt_;
  const double scale = 1.0 + config_.jitter * (2.0 * rng_.uniform01() - 1.0);
  return std::chrono::milliseconds(std::max<int64_t>(1, std::llround(base * scale)));
}

std::chrono::steady_clock::time_point SystemClock::now() {
  return std::chrono::steady_clock::now();
}

void SystemClock::sleep_for(std::chrono::milliseconds d) {
  std::this_thread::sleep_for(d);
}

}  // namespace nf
