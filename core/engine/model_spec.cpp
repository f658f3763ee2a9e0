#include "core/engine/model_spec.h"

#include <charconv>
#include <cmath>
#include <limits>

namespace nf {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

template <typename T>
Result<T> parse_int(std::string_view s, std::string_view what) {
  T value{};
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) {
    return invalid_argument(std::string(what) + " '" + std::string(s) + "' is not an integer");
  }
  return value;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

constexpr int32_t kMaxWidth = 1 << 24;

}  // namespace

std::string_view activation_name(Activation a) {
  switch (a) {
    case Activation::kLinear: return "linear";
    case Activation::kRelu: return "relu";
    case Activation::kTanh: return "tanh";
  }
  return "unknown";
}

Result<Activation> parse_activation(std::string_view name) {
  if (name == "linear" || name == "identity") return Activation::kLinear;
  if (name == "relu") return Activation::kRelu;
  if (name == "tanh") return Activation::kTanh;
  return invalid_argument("unknown activation '" + std::string(name) +
                          "' (expected linear, relu or tanh)");
}

std::string_view init_rule_name(InitRule rule) {
  return rule == InitRule::kSparseAware ? "sparse" : "dense";
}

Result<InitRule> parse_init_rule(std::string_view name) {
  if (name == "sparse") return InitRule::kSparseAware;
  if (name == "dense") return InitRule::kDenseShape;
  return invalid_argument("unknown init rule '" + std::string(name) +
                          "' (expected sparse or dense)");
}

std::string format_architecture(const ModelSpec& spec) {
  std::string out = std::to_string(spec.input_dim);
  for (const LayerSpec& layer : spec.layers) {
    out += '|';
    out += std::to_string(layer.width);
    out += ':';
    out += activation_name(layer.activation);
    out += ':';
    out += format_fabric_spec(layer.fabric);
  }
  return out;
}

std::string format_model_spec(const ModelSpec& spec) {
  return format_architecture(spec) + ";init=" + std::string(init_rule_name(spec.init)) +
         ";seed=" + std::to_string(spec.seed);
}

Result<ModelSpec> parse_model_spec(std::string_view text) {
  ModelSpec spec;
  const std::vector<std::string_view> parts = split(trim(text), ';');
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::string_view option = trim(parts[i]);
    const size_t eq = option.find('=');
    if (eq == std::string_view::npos) {
      return invalid_argument("model spec option '" + std::string(option) +
                              "' is not key=value (expected init=... or seed=...)");
    }
    const std::string_view key = trim(option.substr(0, eq));
    const std::string_view value = trim(option.substr(eq + 1));
    if (key == "init") {
      NF_ASSIGN_OR_RETURN(spec.init, parse_init_rule(value));
    } else if (key == "seed") {
      NF_ASSIGN_OR_RETURN(spec.seed, parse_int<uint64_t>(value, "model seed"));
    } else {
      return invalid_argument("unknown model spec option '" + std::string(key) +
                              "' (expected init or seed)");
    }
  }
  const std::vector<std::string_view> tokens = split(parts[0], '|');
  NF_ASSIGN_OR_RETURN(spec.input_dim, parse_int<int32_t>(trim(tokens[0]), "input dimension"));
  if (spec.input_dim <= 0 || spec.input_dim > kMaxWidth) {
    return invalid_argument("input dimension " + std::to_string(spec.input_dim) +
                            " must be in [1, " + std::to_string(kMaxWidth) + "]");
  }
  if (tokens.size() < 2) {
    return invalid_argument("model spec '" + std::string(text) +
                            "' has no layer (expected input|width:activation:fabric|...)");
  }
  for (size_t i = 1; i < tokens.size(); ++i) {
    const std::string_view token = trim(tokens[i]);
    const std::string where = "layer " + std::to_string(i) + " '" + std::string(token) + "'";
    const size_t c1 = token.find(':');
    const size_t c2 = c1 == std::string_view::npos ? c1 : token.find(':', c1 + 1);
    if (c2 == std::string_view::npos) {
      return invalid_argument(where + " is not width:activation:fabric");
    }
    LayerSpec layer;
    auto width = parse_int<int32_t>(trim(token.substr(0, c1)), "width");
    if (!width.is_ok()) return width.status().with_context(where);
    layer.width = *width;
    if (layer.width <= 0 || layer.width > kMaxWidth) {
      return invalid_argument(where + ": width " + std::to_string(layer.width) +
                              " must be in [1, " + std::to_string(kMaxWidth) + "]");
    }
    auto act = parse_activation(trim(token.substr(c1 + 1, c2 - c1 - 1)));
    if (!act.is_ok()) return act.status().with_context(where);
    layer.activation = *act;
    auto fabric = parse_fabric_spec(trim(token.substr(c2 + 1)));
    if (!fabric.is_ok()) return fabric.status().with_context(where);
    layer.fabric = *fabric;
    spec.layers.push_back(std::move(layer));
  }
  return spec;
}

ModelSpec standard_mlp_spec(FabricKind kind, const FabricParams& params, uint64_t seed) {
  ModelSpec spec;
  spec.input_dim = 784;
  spec.seed = seed;
  const int32_t widths[3] = {300, 100, 10};
  for (int i = 0; i < 3; ++i) {
    LayerSpec layer;
    layer.width = widths[i];
    layer.activation = i < 2 ? Activation::kRelu : Activation::kLinear;
    if (i < 2 && kind != FabricKind::kDense) {
      layer.fabric.kind = kind;
      layer.fabric.params = params;
    }
    spec.layers.push_back(layer);
  }
  return spec;
}

namespace {

// Among `candidates`, the parameters whose cascade for n_in -> n_out has the
// weight count closest (in log ratio) to `fraction` of the dense count.
Result<FabricParams> closest_params(FabricKind kind, const std::vector<FabricParams>& candidates,
                                    int32_t n_in, int32_t n_out, double fraction) {
  const double target = fraction * static_cast<double>(n_in) * n_out;
  double best_err = std::numeric_limits<double>::infinity();
  FabricParams best;
  Status last_error = invalid_argument("no candidate parameters");
  for (const FabricParams& p : candidates) {
    FabricSpec fs;
    fs.kind = kind;
    fs.params = p;
    auto cascade = build_cascade(fs, n_in, n_out);
    if (!cascade.is_ok()) {
      last_error = cascade.status();
      continue;
    }
    const double err = std::fabs(std::log(static_cast<double>(cascade->nnz()) / target));
    if (err < best_err) {
      best_err = err;
      best = p;
    }
  }
  if (!std::isfinite(best_err)) return last_error;
  return best;
}

}  // namespace

Result<ModelSpec> standard_mlp_spec_for_fraction(FabricKind kind, double weight_fraction,
                                                 uint64_t seed) {
  if (!(weight_fraction > 0.0 && weight_fraction <= 1.0)) {
    return invalid_argument("weight fraction " + std::to_string(weight_fraction) +
                            " must be in (0, 1]");
  }
  ModelSpec spec = standard_mlp_spec(FabricKind::kDense, {}, seed);
  if (kind == FabricKind::kDense) return spec;
  int32_t n_in = spec.input_dim;
  for (int i = 0; i < 2; ++i) {
    const int32_t n_out = spec.layers[i].width;
    std::vector<FabricParams> candidates;
    if (kind == FabricKind::kClos) {
      // Square-ish switches: n = r = ceil(sqrt(n_in)); the middle count m sets the density.
      const auto n = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(n_in))));
      const int64_t r = (n_in + n - 1) / n;
      for (int64_t m = 1; m <= 2 * n; ++m) {
        FabricParams p;
        p.n = n;
        p.m = m;
        p.r = r;
        candidates.push_back(p);
      }
    } else if (kind == FabricKind::kButterfly) {
      for (int64_t radix = 2; radix <= 64; ++radix) {
        FabricParams p;
        p.radix = radix;
        candidates.push_back(p);
      }
    } else {
      return invalid_argument("no weight-fraction rule for fabric kind '" +
                              std::string(fabric_kind_name(kind)) +
                              "' (supported: dense, clos, butterfly)");
    }
    NF_ASSIGN_OR_RETURN(FabricParams params,
                        closest_params(kind, candidates, n_in, n_out, weight_fraction));
    spec.layers[i].fabric.kind = kind;
    spec.layers[i].fabric.params = params;
    n_in = n_out;
  }
  return spec;
}

}  // namespace nf
