#include "core/fl/update_check.h"

#include <cmath>
#include <cstdio>
#include <string>

namespace nf {

namespace {
std::string format_double(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}
}  // namespace

double l2_norm(std::span<const float> values) {
  double sum = 0.0;
  for (float v : values) sum += static_cast<double>(v) * static_cast<double>(v);
  return std::sqrt(sum);
}

Result<double> check_update(std::span<const float> global, double global_norm,
                            std::span<const float> update, bool is_delta,
                            const UpdateBounds& bounds) {
  if (update.size() != global.size()) {
    return invalid_argument("length " + std::to_string(update.size()) +
                            " differs from the model's " + std::to_string(global.size()));
  }
  double sum = 0.0;
  for (size_t i = 0; i < update.size(); ++i) {
    const float v = update[i];
    if (!std::isfinite(v)) {
      return invalid_argument("value[" + std::to_string(i) + "] is " +
                              (std::isnan(v) ? std::string("nan") : format_double(v)));
    }
    const double d =
        is_delta ? static_cast<double>(v) : static_cast<double>(v) - static_cast<double>(global[i]);
    sum += d * d;
  }
  const double norm = std::sqrt(sum);
  if (!std::isfinite(norm)) return invalid_argument("delta norm overflows a double");
  if (bounds.max_delta_norm > 0.0 && norm > bounds.max_delta_norm) {
    return invalid_argument("delta norm " + format_double(norm) + " exceeds the bound " +
                            format_double(bounds.max_delta_norm));
  }
  if (bounds.max_delta_ratio > 0.0 && global_norm > 0.0 &&
      norm > bounds.max_delta_ratio * global_norm) {
    return invalid_argument("delta norm " + format_double(norm) + " exceeds " +
                            format_double(bounds.max_delta_ratio) + " x the global norm " +
                            format_double(global_norm) + " (bound " +
                            format_double(bounds.max_delta_ratio * global_norm) + ")");
  }
  return norm;
}

}  // namespace nf
