// Reads the real Fashion-MNIST (scripts/setup.sh installs it) once per split.
#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "core/data/idx_reader.h"
#include "core/data/partition.h"

namespace nf {
namespace {

TEST_CASE("fashion-mnist: train has 60000 examples, 6000 per class, pixels in [0, 1]") {
  auto data = load_fashion_mnist(FashionMnistSplit::kTrain);
  REQUIRE_MESSAGE(data.is_ok(), data.status().to_string());
  CHECK(data->name == "fashion-mnist/train");
  CHECK(data->size == 60000);
  CHECK(data->dim == 784);
  CHECK(data->num_classes == 10);
  // Kept as bytes by default: 47 MB, not 188.
  CHECK(data->features.empty());
  CHECK(data->pixels.size() == 60000u * 784u);
  std::vector<int64_t> counts(10);
  for (int32_t label : data->labels) ++counts[static_cast<size_t>(label)];
  for (int64_t c : counts) CHECK(c == 6000);
  const auto [lo, hi] = std::minmax_element(data->pixels.begin(), data->pixels.end());
  CHECK(pixel_value(*lo) == 0.0f);
  CHECK(pixel_value(*hi) == 1.0f);
  // The first training image is an ankle boot (class 9) in the published set.
  CHECK(data->labels[0] == 9);

  // Partitions of the real labels: 100 Dirichlet clients use every example once.
  auto spec = parse_partition_spec("dirichlet:alpha=0.3");
  REQUIRE(spec.is_ok());
  auto parts = make_partition(*spec, *data, 100, 42);
  REQUIRE(parts.is_ok());
  int64_t total = 0;
  for (const auto& p : *parts) total += static_cast<int64_t>(p.size());
  CHECK(total == 60000);
  MESSAGE(label_histogram_table(*parts, data->labels, 10, 5));
}

TEST_CASE("fashion-mnist: test split has 10000 examples, 1000 per class; floats on request") {
  auto data = load_fashion_mnist(FashionMnistSplit::kTest);
  REQUIRE_MESSAGE(data.is_ok(), data.status().to_string());
  CHECK(data->size == 10000);
  std::vector<int64_t> counts(10);
  for (int32_t label : data->labels) ++counts[static_cast<size_t>(label)];
  for (int64_t c : counts) CHECK(c == 1000);
  auto floats = load_fashion_mnist(FashionMnistSplit::kTest, "", IdxFeatures::kFloats);
  REQUIRE(floats.is_ok());
  REQUIRE(floats->features.size() == data->pixels.size());
  CHECK(floats->pixels.empty());
  size_t differ = 0;
  for (size_t i = 0; i < data->pixels.size(); ++i) {
    differ += pixel_value(data->pixels[i]) != floats->features[i] ? 1 : 0;
  }
  CHECK(differ == 0);
}

}  // namespace
}  // namespace nf
