#include "core/engine/model.h"

#include <cmath>
#include <string>

#include "core/engine/model_impl.h"
#include "core/util/hash.h"
#include "core/util/rng.h"

namespace nf {

using engine::LayerPlan;
using engine::ModelImpl;
using engine::SublayerOp;

Model::Model(std::unique_ptr<ModelImpl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

Result<std::unique_ptr<Model>> Model::create(const ModelSpec& spec) {
  std::vector<Cascade> cascades;
  int32_t n_in = spec.input_dim;
  for (size_t l = 0; l < spec.layers.size(); ++l) {
    auto cascade = build_cascade(spec.layers[l].fabric, n_in, spec.layers[l].width);
    if (!cascade.is_ok()) {
      return cascade.status().with_context("layer " + std::to_string(l + 1) + " (" +
                                           format_fabric_spec(spec.layers[l].fabric) + ")");
    }
    cascades.push_back(std::move(cascade).value());
    n_in = spec.layers[l].width;
  }
  return create_from_cascades(spec, std::move(cascades));
}

Result<std::unique_ptr<Model>> Model::create_from_cascades(const ModelSpec& spec,
                                                           std::vector<Cascade> cascades) {
  if (spec.input_dim <= 0) {
    return invalid_argument("input dimension " + std::to_string(spec.input_dim) +
                            " must be positive");
  }
  if (spec.layers.empty()) return invalid_argument("a model needs at least one layer");
  if (cascades.size() != spec.layers.size()) {
    return invalid_argument(std::to_string(cascades.size()) + " cascades for " +
                            std::to_string(spec.layers.size()) + " layers");
  }
  auto impl = std::make_unique<ModelImpl>();
  impl->spec = spec;
  int64_t offset = 0;
  int32_t n_in = spec.input_dim;
  for (size_t l = 0; l < spec.layers.size(); ++l) {
    const std::string where = "layer " + std::to_string(l + 1);
    const Cascade& c = cascades[l];
    const int32_t n_out = spec.layers[l].width;
    if (c.n_in != n_in || c.n_out != n_out || c.sublayers.empty()) {
      return invalid_argument(where + ": cascade maps " + std::to_string(c.n_in) + " -> " +
                              std::to_string(c.n_out) + " with " +
                              std::to_string(c.sublayers.size()) + " sublayers, expected " +
                              std::to_string(n_in) + " -> " + std::to_string(n_out));
    }
    LayerPlan plan;
    plan.n_in = n_in;
    plan.n_out = n_out;
    plan.activation = spec.layers[l].activation;
    int32_t width = n_in;
    for (size_t i = 0; i < c.sublayers.size(); ++i) {
      const Mask& mask = c.sublayers[i].mask;
      const bool last = i + 1 == c.sublayers.size();
      if (mask.cols != width || (last && mask.rows != n_out)) {
        return invalid_argument(where + ", sublayer " + std::to_string(i) + ": mask is " +
                                std::to_string(mask.rows) + " x " + std::to_string(mask.cols) +
                                ", which does not chain from width " + std::to_string(width));
      }
      auto op = SublayerOp::plan(c.sublayers[i]);
      if (!op.is_ok()) {
        return op.status().with_context(where + ", sublayer " + std::to_string(i));
      }
      plan.weight_offsets.push_back(offset);
      offset += op->nnz();
      plan.ops.push_back(std::move(op).value());
      width = mask.rows;
    }
    plan.bias_offset = offset;
    offset += n_out;
    impl->dense_equivalent += int64_t{n_in} * n_out + n_out;
    impl->layers.push_back(std::move(plan));
    n_in = n_out;
  }
  impl->cascades = std::move(cascades);
  impl->params.assign(static_cast<size_t>(offset), 0.0f);
  std::unique_ptr<Model> model(new Model(std::move(impl)));
  model->initialize(spec.seed);
  return model;
}

const ModelSpec& Model::spec() const { return impl_->spec; }
int Model::num_layers() const { return static_cast<int>(impl_->layers.size()); }
const Cascade& Model::cascade(int layer) const { return impl_->cascades[layer]; }
int32_t Model::input_dim() const { return impl_->spec.input_dim; }
int32_t Model::output_dim() const { return impl_->layers.back().n_out; }
std::span<float> Model::parameters() { return impl_->params; }
std::span<const float> Model::parameters() const { return impl_->params; }
int64_t Model::parameter_count() const { return static_cast<int64_t>(impl_->params.size()); }
int64_t Model::dense_equivalent_count() const { return impl_->dense_equivalent; }
int64_t Model::weight_offset(int layer, int sublayer) const {
  return impl_->layers[layer].weight_offsets[sublayer];
}
int64_t Model::bias_offset(int layer) const { return impl_->layers[layer].bias_offset; }

uint64_t Model::identity() const {
  Hasher h;
  h.str(format_architecture(impl_->spec));
  for (const Cascade& c : impl_->cascades) h.u64(mask_hash(c));
  return h.digest();
}

void Model::initialize(uint64_t seed) {
  const bool sparse_aware = impl_->spec.init == InitRule::kSparseAware;
  float* w = impl_->params.data();
  for (size_t l = 0; l < impl_->layers.size(); ++l) {
    const LayerPlan& layer = impl_->layers[l];
    const Cascade& c = impl_->cascades[l];
    for (size_t i = 0; i < c.sublayers.size(); ++i) {
      const Mask& mask = c.sublayers[i].mask;
      const bool feeds_relu =
          i + 1 == c.sublayers.size() && layer.activation == Activation::kRelu;
      Rng rng(seed, (static_cast<uint64_t>(l) << 20) | i);
      float* wi = w + layer.weight_offsets[i];
      for (int32_t r = 0; r < mask.rows; ++r) {
        const int32_t fan_in = mask.row_ptr[r + 1] - mask.row_ptr[r];
        if (fan_in == 0) continue;
        double variance = 0.0;
        if (sparse_aware) {
          variance = (feeds_relu ? 2.0 : 1.0) / fan_in;
        } else {
          variance = feeds_relu ? 2.0 / mask.cols : 2.0 / (mask.cols + mask.rows);
        }
        // Uniform(-a, a) has variance a^2 / 3; uniform01 is integer-derived, so portable.
        const auto a = static_cast<float>(std::sqrt(3.0 * variance));
        for (int32_t p = mask.row_ptr[r]; p < mask.row_ptr[r + 1]; ++p) {
          wi[p] = (2.0f * rng.uniform01() - 1.0f) * a;
        }
      }
    }
    for (int32_t r = 0; r < layer.n_out; ++r) w[layer.bias_offset + r] = 0.0f;
  }
}

MemoryReport Model::memory_report(int batch_size, OptimizerKind optimizer, float momentum) const {
  MemoryReport report;
  const int64_t bytes = parameter_count() * static_cast<int64_t>(sizeof(float));
  report.weight_bytes = bytes;
  report.gradient_bytes = bytes;
  report.optimizer_bytes = bytes * optimizer_state_vectors(optimizer, momentum);
  report.activation_bytes = impl_->workspace_bytes(batch_size < 1 ? 1 : batch_size, 1);
  report.index_bytes = impl_->index_bytes();
  return report;
}

}  // namespace nf
