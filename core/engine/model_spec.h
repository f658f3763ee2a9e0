// ModelSpec: the small canonical description a model is built from.
//
// A model is a stack of layers; each layer replaces a dense layer of `width`
// outputs by the cascade its FabricSpec derives (core/fabric), adds a bias and
// applies an activation. The last layer feeds softmax cross-entropy, so it is
// normally `linear`. Every party that parses the same text builds the same
// masks, hence the same parameter layout (docs/engine.md).
//
// Canonical text:
//   <input_dim>|<width>:<activation>:<fabric spec>|...[;init=<rule>][;seed=<n>]
// e.g. "784|300:relu:clos:n=28,m=24,r=28|100:relu:dense|10:linear:dense;init=sparse;seed=1".
// `init` and `seed` may be omitted on input (defaults: sparse, 0) and are always
// written by format_model_spec.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/fabric/fabric_spec.h"
#include "core/util/status.h"

namespace nf {

enum class Activation { kLinear, kRelu, kTanh };

// "linear", "relu", "tanh"; parse also accepts "identity" for linear.
std::string_view activation_name(Activation a);
Result<Activation> parse_activation(std::string_view name);

enum class InitRule {
  // Per-neuron variance 1/fan_in in linear hidden sublayers and 2/fan_in in the
  // sublayer that feeds a ReLU (fan_in = that neuron's mask row count): keeps the
  // signal variance through deep cascades.
  kSparseAware,
  // Baseline: every sublayer drawn as if dense of its shape (He 2/cols before a
  // ReLU, Glorot 2/(rows+cols) otherwise); shrinks the signal by the density
  // at every sublayer.
  kDenseShape,
};

// "sparse", "dense".
std::string_view init_rule_name(InitRule rule);
Result<InitRule> parse_init_rule(std::string_view name);

struct LayerSpec {
  int32_t width = 0;
  Activation activation = Activation::kRelu;
  FabricSpec fabric;
};

struct ModelSpec {
  int32_t input_dim = 0;
  std::vector<LayerSpec> layers;
  InitRule init = InitRule::kSparseAware;
  uint64_t seed = 0;  // initialization seed
};

// The canonical text (see the top of this file); parse_model_spec accepts it,
// ignores spaces around separators and rejects anything else with a message
// naming the bad piece.
std::string format_model_spec(const ModelSpec& spec);
Result<ModelSpec> parse_model_spec(std::string_view text);

// The architecture part of the canonical text (no init rule, no seed): what
// decides the parameter layout.
std::string format_architecture(const ModelSpec& spec);

// The standard Fashion-MNIST MLP 784-300-100-10 (ReLU, ReLU, linear) whose
// hidden layers use `kind` with explicit parameters `params` (the classifier
// layer is dense). For kDense `params` is ignored.
ModelSpec standard_mlp_spec(FabricKind kind, const FabricParams& params, uint64_t seed = 0);

// The same, choosing parameters per layer so that each hidden layer keeps about
// `weight_fraction` of its dense weights. Supports Clos and butterfly kinds (and
// dense, which ignores the fraction); errors name an unsupported kind.
Result<ModelSpec> standard_mlp_spec_for_fraction(FabricKind kind, double weight_fraction,
                                                 uint64_t seed = 0);

}  // namespace nf
