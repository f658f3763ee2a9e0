#include "examples/study/budget_model.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/fabric/budget.h"
#include "core/fabric/path_counts.h"

namespace nf::study {

Result<BudgetModel> budget_mlp(const FabricSpec& hidden, double fraction, InitRule init,
                               uint64_t seed) {
  if (!(fraction > 0.0 && fraction <= 1.0)) {
    return invalid_argument("weight fraction " + std::to_string(fraction) + " must be in (0, 1]");
  }
  BudgetModel out;
  out.spec = standard_mlp_spec(FabricKind::kDense, {}, seed);
  out.spec.init = init;
  out.spec.seed = seed;
  int32_t n_in = kInputDim;
  for (int i = 0; i < 2; ++i) {
    const int32_t n_out = out.spec.layers[i].width;
    FabricSpec layer = hidden;
    // Random fabrics get a per-layer mask seed derived from the model seed, so
    // seeds vary masks too, as a fresh draw of the random graph would.
    if (fabric_kind_is_random(layer.kind) && layer.seed == 0) layer.seed = seed * 2 + i + 1;
    if (layer.kind == FabricKind::kDense) {
      out.spec.layers[i].fabric = layer;
    } else {
      auto solved = solve_budget(layer, n_in, n_out, params_for_density(fraction, n_in, n_out));
      if (!solved.is_ok()) {
        return solved.status().with_context("hidden layer " + std::to_string(i + 1) + " (" +
                                            std::to_string(n_in) + " -> " + std::to_string(n_out) +
                                            ")");
      }
      out.spec.layers[i].fabric = solved->spec;
      if (!solved->within_tolerance) {
        out.within_tolerance = false;
        if (!out.note.empty()) out.note += "; ";
        out.note += "layer " + std::to_string(i + 1) + ": " + solved->note;
      }
    }
    n_in = n_out;
  }
  NF_ASSIGN_OR_RETURN(out.weights, spec_weights(out.spec));
  const double hidden_target =
      static_cast<double>(params_for_density(fraction, kInputDim, kHidden1) +
                          params_for_density(fraction, kHidden1, kHidden2));
  const double hidden_weights = static_cast<double>(out.weights - int64_t{kHidden2} * kClasses);
  out.hidden_relative_error = (hidden_weights - hidden_target) / hidden_target;
  out.weight_fraction = static_cast<double>(out.weights) / static_cast<double>(kDenseWeights);
  return out;
}

Result<int64_t> spec_weights(const ModelSpec& spec) {
  int64_t total = 0;
  int32_t n_in = spec.input_dim;
  for (const LayerSpec& layer : spec.layers) {
    NF_ASSIGN_OR_RETURN(Cascade c, build_cascade(layer.fabric, n_in, layer.width));
    total += c.nnz();
    n_in = layer.width;
  }
  return total;
}

double bottleneck_fraction(const Cascade& c) {
  const double full = std::min(c.n_in, c.n_out);
  double narrowest = full;
  for (size_t l = 0; l + 1 < c.sublayers.size(); ++l) {
    const Mask& in = c.sublayers[l].mask;  // rows: the hidden nodes
    const std::vector<int32_t> out_edges = c.sublayers[l + 1].mask.column_counts();
    int64_t live = 0;
    for (int32_t r = 0; r < in.rows; ++r) {
      if (in.row_ptr[r + 1] > in.row_ptr[r] && out_edges[r] > 0) ++live;
    }
    narrowest = std::min(narrowest, static_cast<double>(live));
  }
  return full > 0 ? narrowest / full : 0.0;
}

Result<ModelScores> model_scores(const ModelSpec& spec, const ScoreOptions& options) {
  ModelScores out;
  double cv = 0, min_paths = 0, ratio = 0, expr = 0, reach = 0, bottleneck = 0;
  int layers = 0, expr_layers = 0;
  int32_t n_in = spec.input_dim;
  for (size_t i = 0; i + 1 < spec.layers.size(); ++i) {
    const LayerSpec& layer = spec.layers[i];
    NF_ASSIGN_OR_RETURN(Cascade c, build_cascade(layer.fabric, n_in, layer.width));
    NF_ASSIGN_OR_RETURN(FabricScores s, score_fabric(layer.fabric, c, options));
    cv += s.paths.cv;
    min_paths += std::log10(1.0 + static_cast<double>(s.paths.min_paths));
    ratio += s.spectral.ratio;
    reach += s.paths.reachable ? 1.0 : 0.0;
    bottleneck += bottleneck_fraction(c);
    if (s.expressivity) {
      expr += s.expressivity->fraction;
      ++expr_layers;
    }
    out.max_depth = std::max(out.max_depth, c.depth());
    ++layers;
    n_in = layer.width;
  }
  const double nan = std::numeric_limits<double>::quiet_NaN();
  out.path_cv = layers ? cv / layers : nan;
  out.log_min_paths = layers ? min_paths / layers : nan;
  out.spectral_ratio = layers ? ratio / layers : nan;
  out.reachable = layers ? reach / layers : nan;
  out.bottleneck = layers ? bottleneck / layers : nan;
  out.expressivity = expr_layers ? expr / expr_layers : nan;
  return out;
}

std::vector<StudyFabric> study_fabrics() {
  auto make = [](const char* name, FabricKind kind) {
    StudyFabric f;
    f.name = name;
    f.hidden.kind = kind;
    return f;
  };
  return {make("dense", FabricKind::kDense),
          make("low_rank", FabricKind::kLowRank),
          make("random_fan_in", FabricKind::kRandomFanIn),
          make("erdos_renyi", FabricKind::kErdosRenyi),
          make("clos", FabricKind::kClos),
          make("butterfly", FabricKind::kButterfly),
          make("parallel_butterfly", FabricKind::kParallelButterfly),
          make("hypercube", FabricKind::kHypercube),
          make("torus", FabricKind::kTorus),
          make("radix_net", FabricKind::kRadixNet)};
}

}  // namespace nf::study

namespace nf::study {

double data_free_fitness(const ModelScores& s) {
  return kFitnessMixing * (1.0 - s.spectral_ratio) +
         kFitnessBottleneck * std::log10(std::max(s.bottleneck, 0.01));
}

}  // namespace nf::study
