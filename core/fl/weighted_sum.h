// WeightedSum: the streaming accumulator behind FedAvg.
//
// Holds sum_i w_i * x_i and sum_i w_i in double, one slot per parameter, so
// its memory is independent of the number of clients that contribute. In
// add(), each float * weight product is exact in double (integer weights
// below 2^29), so the only rounding happens in the additions (relative error
// about 1e-16 per add) and once when the mean is rounded to float in mean(). Consequence for
// reproducibility: the float result is the same for any arrival order except
// in the rare case where the double sums differ in a bit that survives the
// final rounding; a caller that needs bit-identical results across runs adds
// in a fixed order (e.g. sorted by client id). Partial sums from several
// processes combine exactly enough with merge(): they stay in double and are
// rounded once at the end.
//
// Not thread-safe; give each thread its own WeightedSum and merge them.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace nf {

class WeightedSum {
 public:
  WeightedSum() = default;
  explicit WeightedSum(size_t size) : sum_(size, 0.0) {}

  // Forgets every contribution and sets the length (allocates only when it grows).
  void reset(size_t size);

  // Adds weight * values. Preconditions: values.size() == size(), weight >= 0 and finite.
  void add(std::span<const float> values, double weight);
  // Adds weight * scale * (values - base): a delta computed on the fly in
  // double, optionally shrunk by `scale` (norm clipping), counted with `weight`.
  // Preconditions: values.size() == base.size() == size().
  void add_difference(std::span<const float> values, std::span<const float> base, double weight,
                      double scale = 1.0);
  // Adds weight * scale * values (a clipped update without a temporary copy).
  void add_scaled(std::span<const float> values, double scale, double weight);
  // Adds another partial sum of the same size.
  void merge(const WeightedSum& other);
  // Becomes the partial sum another process computed (its sum(),
  // total_weight() and count()), so that adding to it continues that fold
  // exactly: the result is bit for bit what one sequential fold gives, unlike
  // merge(), which adds the sums in another order. Precondition:
  // sum.size() == size().
  void resume(std::span<const double> sum, double total_weight, int64_t count);

  size_t size() const { return sum_.size(); }
  double total_weight() const { return total_weight_; }
  int64_t count() const { return count_; }
  std::span<const double> sum() const { return sum_; }

  // Writes sum / total_weight rounded once to float. Preconditions:
  // out.size() == size(), total_weight() > 0.
  void mean(std::span<float> out) const;
  // Writes base + sum / total_weight, rounded once to float (for sums of deltas).
  void mean_plus(std::span<const float> base, std::span<float> out) const;

 private:
  std::vector<double> sum_;
  double total_weight_ = 0.0;
  int64_t count_ = 0;
};

}  // namespace nf
