// Dataset: labelled examples in memory, shared read-only by every consumer.
//
// A client's data is a Dataset plus a list of example indices (a shard), so a
// virtual client costs only its indices while idle. Features are row-major,
// already scaled to floats, or kept as the bytes they were read as
// (`pixels`, Fashion-MNIST's default), a quarter of the memory; the engine
// converts those a batch at a time.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace nf {

struct Dataset {
  int64_t size = 0;             // number of examples
  int32_t dim = 0;              // features per example
  int32_t num_classes = 0;      // labels are in [0, num_classes)
  std::vector<float> features;  // size * dim, row-major; empty when `pixels` holds them
  // The features as bytes instead of `features` (at most one of the two is
  // non-empty): feature k of example i is pixel_value(pixels[i * dim + k]).
  // Code that reads rows itself must handle both (the engine's batch loading
  // and XNNPACK evaluation do). Fashion-MNIST loads as bytes by default.
  std::vector<uint8_t> pixels;
  std::vector<int32_t> labels;  // size
  std::string name;             // e.g. "fashion-mnist/train", for messages

  // Precondition: the features are floats (`pixels` is empty).
  std::span<const float> example(int64_t i) const {
    return {features.data() + i * dim, static_cast<size_t>(dim)};
  }
};

// The feature a pixel byte stands for, in [0, 1]. The one definition for
// every reader, so a shard kept as bytes trains on exactly the values of the
// same examples read as floats.
inline float pixel_value(uint8_t p) {
  return static_cast<float>(p) * (1.0f / 255.0f);
}

}  // namespace nf
