// Server-side update rules applied to the round's aggregated delta
// ("pseudo-gradient" Delta = aggregate(client - global)), after Reddi et al.
// 2021, "Adaptive Federated Optimization" (Algorithm 2), and Hsu et al. 2019
// for server momentum. Per coordinate, with x the global model:
//
//   sgd       x += lr * Delta                         (FedAvg when lr = 1)
//   momentum  m = momentum * m + Delta;  x += lr * m  (FedAvgM)
//   adagrad   m = b1 m + (1-b1) Delta;  v = v + Delta^2;            x += lr m / (sqrt(v) + tau)
//   adam      m = b1 m + (1-b1) Delta;  v = b2 v + (1-b2) Delta^2;   x += lr m / (sqrt(v) + tau)
//   yogi      m = b1 m + (1-b1) Delta;  v = v - (1-b2) Delta^2 sign(v - Delta^2);  same step
//
// m starts at 0 and v at tau^2 (the paper's v_{-1} >= tau^2); no bias
// correction, as in the paper. Moments are kept in float (one or two arrays
// the size of the model), arithmetic is done in double and rounded once.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/util/status.h"

namespace nf {

enum class ServerRule { kSgd, kMomentum, kAdagrad, kAdam, kYogi };

struct ServerOptimizerParams {
  ServerRule rule = ServerRule::kSgd;
  double lr = 1.0;
  double momentum = 0.9;  // kMomentum
  double beta1 = 0.9;     // adaptive rules
  double beta2 = 0.99;    // kAdam, kYogi
  double tau = 1e-3;      // adaptive rules: degree of adaptivity
};

class ServerOptimizer {
 public:
  explicit ServerOptimizer(ServerOptimizerParams params) : params_(params) {}

  // Writes the next global model. The moments are sized on the first step;
  // a later step with another length fails with invalid_argument and changes
  // nothing. Preconditions: global.size() == delta.size() == out.size().
  Status step(std::span<const float> global, std::span<const double> delta, std::span<float> out);

  const ServerOptimizerParams& params() const { return params_; }
  // Moments (empty until the first step, or for sgd).
  const std::vector<float>& first_moment() const { return m_; }
  const std::vector<float>& second_moment() const { return v_; }
  // Restores moments saved from first_moment()/second_moment().
  void set_moments(std::vector<float> m, std::vector<float> v) {
    m_ = std::move(m);
    v_ = std::move(v);
  }

 private:
  ServerOptimizerParams params_;
  std::vector<float> m_;
  std::vector<float> v_;
};

}  // namespace nf
