// One sample of every message, for the transports' suites.
#pragma once

#include <cmath>
#include <vector>

#include "core/fl/messages.h"

namespace nf::testing {

inline EncodedValues sample_values(uint32_t n, Encoding e, float shift = 0.0f) {
  std::vector<float> v(n), ref(n, shift);
  for (uint32_t i = 0; i < n; ++i) v[i] = std::sin(0.1f * static_cast<float>(i)) + shift;
  return encode_values(v, ref, e).value();
}

// Value arrays of `n` values: with a small frame limit they travel in chunks.
inline std::vector<Message> every_message(uint32_t n) {
  std::vector<Message> all;
  all.push_back(Hello{"device-17",
                      kProtocolVersion,
                      all_encodings(),
                      {"simd=neon", "memory_mb=512"},
                      41,
                      0xfedcba9876543210ULL});
  all.push_back(Welcome{kProtocolVersion, "model mlp 784-300-100-10 fabric=clos seed=1",
                        0x0123456789abcdefULL, Encoding{ValueType::kInt8, true}});
  TrainTask t;
  t.round = 3;
  t.task_id = 41;
  t.global_values = sample_values(n, {ValueType::kF32, false});
  t.hyper = HyperParameters{2, 64, 0.05f, 0.01f, "momentum"};
  t.deadline_ms = 60000;
  all.push_back(t);
  for (Encoding e : all_encodings()) {
    Update u;
    u.round = 3;
    u.task_id = 41;
    u.example_count = 600;
    u.values = sample_values(n, e, 0.5f);
    u.metrics = TrainMetrics{0.25f, 1.5, 12345678, 999};
    all.push_back(u);
  }
  EvaluateTask et;
  et.round = 4;
  et.task_id = 42;
  et.global_values = sample_values(n, {ValueType::kF16, false});
  et.batch_size = 128;
  et.deadline_ms = 1000;
  all.push_back(et);
  all.push_back(EvaluateResult{4, 42, 1000, 0.3f, 0.91f, 0.75});
  all.push_back(Heartbeat{7, 1700000000000ULL});
  all.push_back(ErrorMessage{StatusCode::kFailedPrecondition, "model hash mismatch"});
  return all;
}

}  // namespace nf::testing
