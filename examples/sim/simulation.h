// run_simulation: one nf-sim run in this process. The real aggregator
// (nf::aggregator::Server) and VirtualFleet's real agents talk over the
// in-process transport; this file only wires them together and keeps score.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/engine/model.h"
#include "core/util/status.h"
#include "examples/sim/sim_options.h"
#include "examples/sim/summary.h"

namespace nf::sim {

// Runs the simulation `options` describes. `progress` is called after every
// round (on the simulation's network thread).
Result<SimSummary> run_simulation(const SimOptions& options,
                                  const std::function<void(const RoundRecord&)>& progress);

// The model of `options`: --model, else the standard MLP of --fabric at
// --budget, seeded by --seed (as nf-aggregator builds it from model.seed).
Result<ModelSpec> sim_model_spec(const SimOptions& options);

// Fills the summary's model figures (spec, identity, weights against dense).
void describe_model(const Model& model, const ModelSpec& spec, SimSummary& summary);

// Hash of a parameter vector's bytes: the final-model check of determinism tests.
uint64_t values_hash(std::span<const float> values);

}  // namespace nf::sim
