// A tiny data set for the agent's tests: two separable classes in 4-D, n
// examples alternating between them, which a 4-8-2 model learns in a few
// steps.
#pragma once

#include <cstdint>

#include "core/data/dataset.h"

namespace nf::test {

inline Dataset separable_blobs(int64_t n) {
  Dataset d;
  d.size = n;
  d.dim = 4;
  d.num_classes = 2;
  for (int64_t i = 0; i < n; ++i) {
    const int32_t y = static_cast<int32_t>(i % 2);
    for (int k = 0; k < 4; ++k) {
      d.features.push_back((y ? 1.0f : -1.0f) * (0.5f + 0.1f * static_cast<float>((i + k) % 3)));
    }
    d.labels.push_back(y);
  }
  return d;
}

}  // namespace nf::test
