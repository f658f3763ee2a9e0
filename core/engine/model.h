// Model: a ModelSpec's layers, their masks and one flat parameter vector.
//
// Parameter layout (canonical, shared with the aggregator): layer by layer,
// each layer's sublayers in order, each sublayer's weights in the CSR order
// of its mask, then the layer's n_out biases. Layers hold views (offsets)
// into the vector; nothing else stores a weight.
//
// A Model also owns the workspace of its training and evaluation steps
// (activations, gradients, per-thread scratch), sized on first use for a
// batch size and thread count and reused afterwards, so repeated calls do
// not allocate. Hence a Model is not thread-safe: calls on one Model (even
// const ones such as evaluate) must not overlap. Different Models are
// independent.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/data/dataset.h"
#include "core/engine/model_spec.h"
#include "core/engine/optimizer.h"
#include "core/fabric/cascade.h"
#include "core/util/status.h"

namespace nf {

// Bytes a model needs at a batch size.
struct MemoryReport {
  int64_t weight_bytes = 0;      // the flat parameter vector
  int64_t gradient_bytes = 0;    // its gradient
  int64_t optimizer_bytes = 0;   // optimizer state
  int64_t activation_bytes = 0;  // forward activations and backward buffers at the batch size
  int64_t index_bytes = 0;       // mask tables the kernels read
  int64_t total() const {
    return weight_bytes + gradient_bytes + optimizer_bytes + activation_bytes + index_bytes;
  }
};

namespace engine {
class ModelImpl;
}

class Model {
 public:
  // Derives every layer's cascade from its FabricSpec and initializes the
  // parameters with spec.init and spec.seed. Errors name the layer.
  static Result<std::unique_ptr<Model>> create(const ModelSpec& spec);
  // Same with cascades built elsewhere (tests, hand-made masks): cascades[i]
  // must map layer i's inputs to its width; spec.layers[i].fabric is then
  // only a label.
  static Result<std::unique_ptr<Model>> create_from_cascades(const ModelSpec& spec,
                                                             std::vector<Cascade> cascades);
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const ModelSpec& spec() const;
  int num_layers() const;
  const Cascade& cascade(int layer) const;
  int32_t input_dim() const;
  int32_t output_dim() const;

  // The flat vector in canonical order. Writing it is how a model receives
  // global values; the span stays valid for the Model's lifetime.
  std::span<float> parameters();
  std::span<const float> parameters() const;
  int64_t parameter_count() const;
  // Weights and biases of the same layers if every layer were dense.
  int64_t dense_equivalent_count() const;
  // Offsets into the vector: weights of (layer, sublayer) and biases of a layer.
  int64_t weight_offset(int layer, int sublayer) const;
  int64_t bias_offset(int layer) const;

  // 64-bit hash of the architecture text (format_architecture: no seed, no
  // init rule, since those do not change the layout) combined with every
  // layer's mask_hash. Two parties may exchange values iff identities match.
  uint64_t identity() const;

  // Draws all weights again with the spec's init rule and `seed` (biases 0).
  // The draw uses integer-derived uniforms, so it is bit-identical on every host.
  void initialize(uint64_t seed);

  // Bytes to train at `batch_size` with `optimizer` (momentum only matters for SGD).
  MemoryReport memory_report(int batch_size, OptimizerKind optimizer, float momentum = 0.9f) const;

  // The compute behind train() and evaluate(), for tests and benchmarks.
  engine::ModelImpl& impl() const { return *impl_; }

 private:
  explicit Model(std::unique_ptr<engine::ModelImpl> impl);
  std::unique_ptr<engine::ModelImpl> impl_;
};

}  // namespace nf
