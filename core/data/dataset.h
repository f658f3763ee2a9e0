// Dataset: labelled examples in memory, shared read-only by every consumer.
//
// A client's data is a Dataset plus a list of example indices (a shard), so a
// virtual client costs only its indices while idle. Features are row-major,
// already scaled to floats (Fashion-MNIST pixels to [0, 1]).
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
  std::vector<float> features;  // size * dim, row-major
  std::vector<int32_t> labels;  // size
  std::string name;             // e.g. "fashion-mnist/train", for messages

  std::span<const float> example(int64_t i) const {
    return {features.data() + i * dim, static_cast<size_t>(dim)};
  }
};

}  // namespace nf
