#include "core/fl/weighted_sum.h"

#include <algorithm>

#include <cassert>
#include <cmath>

namespace nf {

void WeightedSum::reset(size_t size) {
  sum_.assign(size, 0.0);
  total_weight_ = 0.0;
  count_ = 0;
}

void WeightedSum::add(std::span<const float> values, double weight) {
  assert(values.size() == sum_.size());
  assert(weight >= 0.0 && std::isfinite(weight));
  for (size_t i = 0; i < sum_.size(); ++i) sum_[i] += weight * static_cast<double>(values[i]);
  total_weight_ += weight;
  ++count_;
}

void WeightedSum::add_difference(std::span<const float> values, std::span<const float> base,
                                 double weight, double scale) {
  assert(values.size() == sum_.size() && base.size() == sum_.size());
  assert(weight >= 0.0 && std::isfinite(weight));
  const double factor = weight * scale;
  for (size_t i = 0; i < sum_.size(); ++i) {
    sum_[i] += factor * (static_cast<double>(values[i]) - static_cast<double>(base[i]));
  }
  total_weight_ += weight;
  ++count_;
}

void WeightedSum::add_scaled(std::span<const float> values, double scale, double weight) {
  assert(values.size() == sum_.size());
  assert(weight >= 0.0 && std::isfinite(weight));
  const double factor = weight * scale;
  for (size_t i = 0; i < sum_.size(); ++i) sum_[i] += factor * static_cast<double>(values[i]);
  total_weight_ += weight;
  ++count_;
}

void WeightedSum::merge(const WeightedSum& other) {
  assert(other.sum_.size() == sum_.size());
  for (size_t i = 0; i < sum_.size(); ++i) sum_[i] += other.sum_[i];
  total_weight_ += other.total_weight_;
  count_ += other.count_;
}

void WeightedSum::resume(std::span<const double> sum, double total_weight, int64_t count) {
  assert(sum.size() == sum_.size());
  std::copy(sum.begin(), sum.end(), sum_.begin());
  total_weight_ = total_weight;
  count_ = count;
}

void WeightedSum::mean(std::span<float> out) const {
  assert(out.size() == sum_.size());
  assert(total_weight_ > 0.0);
  for (size_t i = 0; i < sum_.size(); ++i) out[i] = static_cast<float>(sum_[i] / total_weight_);
}

void WeightedSum::mean_plus(std::span<const float> base, std::span<float> out) const {
  assert(out.size() == sum_.size() && base.size() == sum_.size());
  assert(total_weight_ > 0.0);
  for (size_t i = 0; i < sum_.size(); ++i) {
    out[i] = static_cast<float>(static_cast<double>(base[i]) + sum_[i] / total_weight_);
  }
}

}  // namespace nf
