// Shared helpers of the engine suites: small models over hand-built cascades
// and a double-precision reference forward pass.
#pragma once

#include <cmath>
#include <memory>
#include <vector>

#include "core/engine/model.h"
#include "core/engine/model_impl.h"
#include "test_cascades.h"

namespace nf::test {

inline std::unique_ptr<Model> make_model(int32_t input_dim,
                                         const std::vector<std::pair<int32_t, Activation>>& layers,
                                         std::vector<Cascade> cascades, uint64_t seed = 1,
                                         InitRule init = InitRule::kSparseAware) {
  ModelSpec spec;
  spec.input_dim = input_dim;
  spec.init = init;
  spec.seed = seed;
  for (const auto& [width, act] : layers) {
    LayerSpec l;
    l.width = width;
    l.activation = act;
    spec.layers.push_back(l);
  }
  auto model = Model::create_from_cascades(spec, std::move(cascades));
  REQUIRE_MESSAGE(model.is_ok(), model.status().to_string());
  return std::move(model).value();
}

// Mean softmax cross-entropy of the model at parameters `w`, in double,
// straight from the masks (no engine code involved).
inline double reference_loss(const Model& model, const std::vector<double>& w,
                             const std::vector<float>& features, const std::vector<int32_t>& labels) {
  const int n = static_cast<int>(labels.size());
  const int32_t dim = model.input_dim();
  double total = 0.0;
  for (int b = 0; b < n; ++b) {
    std::vector<double> x(features.begin() + static_cast<long>(b) * dim,
                          features.begin() + static_cast<long>(b + 1) * dim);
    for (int l = 0; l < model.num_layers(); ++l) {
      const Cascade& c = model.cascade(l);
      for (int i = 0; i < c.depth(); ++i) {
        const Mask& mask = c.sublayers[i].mask;
        const int64_t off = model.weight_offset(l, i);
        std::vector<double> y(mask.rows, 0.0);
        for (int32_t r = 0; r < mask.rows; ++r) {
          for (int32_t p = mask.row_ptr[r]; p < mask.row_ptr[r + 1]; ++p) {
            y[r] += w[off + p] * x[mask.col_idx[p]];
          }
        }
        x = std::move(y);
      }
      const int64_t boff = model.bias_offset(l);
      const Activation act = model.spec().layers[l].activation;
      for (size_t r = 0; r < x.size(); ++r) {
        x[r] += w[boff + r];
        if (act == Activation::kRelu) x[r] = std::max(x[r], 0.0);
        if (act == Activation::kTanh) x[r] = std::tanh(x[r]);
      }
    }
    double zmax = x[0];
    for (double v : x) zmax = std::max(zmax, v);
    double sum = 0.0;
    for (double v : x) sum += std::exp(v - zmax);
    total += std::log(sum) - (x[labels[b]] - zmax);
  }
  return total / n;
}

inline void random_batch(int n, int32_t dim, int32_t classes, uint64_t seed,
                         std::vector<float>* features, std::vector<int32_t>* labels) {
  Rng rng(seed);
  features->resize(static_cast<size_t>(n) * dim);
  labels->resize(n);
  for (float& f : *features) f = 2.0f * rng.uniform01() - 1.0f;
  for (int32_t& l : *labels) l = static_cast<int32_t>(rng.uniform(classes));
}

}  // namespace nf::test
