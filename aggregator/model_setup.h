// What nf-aggregator builds from its config before serving: the model (spec,
// identity, initial values), the strategy, and the centralized evaluator on the
// Fashion-MNIST test set. Kept apart from main() so tests and benchmarks build
// exactly what the program builds.
#pragma once

#include <memory>

#include "aggregator/config.h"
#include "aggregator/server.h"
#include "core/data/dataset.h"
#include "core/engine/model.h"
#include "core/fl/strategy.h"
#include "core/util/status.h"

namespace nf::aggregator {

// The model spec of `config`: model.spec (text, or @path), else the standard
// MLP with model.fabric hidden layers at model.budget. Errors name the setting.
Result<ModelSpec> model_spec_from(const AggregatorConfig& config);

struct BuiltModel {
  ModelDescription description;
  std::shared_ptr<Model> model;  // kept for evaluation
};
Result<BuiltModel> build_model(const AggregatorConfig& config);

Result<std::unique_ptr<Strategy>> build_strategy(const AggregatorConfig& config);

// An evaluator of the global values on the first `examples` examples of
// `data`, with `model` as scratch (one call at a time). Shared by nf-aggregator
// and the in-process simulation so both report the same figure.
CentralizedEvaluator centralized_evaluator(std::shared_ptr<Model> model,
                                           std::shared_ptr<const Dataset> data, int64_t examples);

// Attaches a centralized evaluator (the first evaluation.examples test
// examples) to `strategy` when evaluation.every > 0. The evaluator uses `model`
// as scratch; the server calls it from one work job at a time.
Status attach_evaluator(const AggregatorConfig& config, std::shared_ptr<Model> model,
                        Strategy& strategy);

}  // namespace nf::aggregator
