// The built-in strategies: a combine rule (weighted mean, median, trimmed
// mean, Krum) followed by a server update rule (core/fl/server_optimizer.h).
#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <unordered_set>
#include <utility>

#include "core/fl/client_sampling.h"
#include "core/fl/robust.h"
#include "core/fl/state_bytes.h"
#include "core/fl/strategy_factory.h"
#include "core/fl/weighted_sum.h"
#include "core/util/hash.h"

namespace nf {

namespace {

constexpr uint32_t kStateMagic = 0x5353464eu;  // "NFSS" little-endian
constexpr uint32_t kStateVersion = 1;

std::string format_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

class StandardStrategy final : public Strategy {
 public:
  StandardStrategy(StrategyParams params, StrategyOptions options)
      : params_(std::move(params)), options_(options), optimizer_(params_.optimizer) {}

  std::string spec() const override { return params_.to_string(); }

  FitConfig configure_fit(int64_t round) const override {
    FitConfig c;
    c.round = round;
    c.clients_per_round = options_.clients_per_round;
    c.clients_to_sample = with_over_selection(options_.clients_per_round, options_.over_selection);
    c.min_fit_results = options_.min_fit_results;
    c.local_epochs = options_.local_epochs;
    c.batch_size = options_.batch_size;
    c.learning_rate = options_.learning_rate;
    c.proximal_mu = params_.proximal_mu;
    return c;
  }

  EvaluateConfig configure_evaluate(int64_t round) const override {
    EvaluateConfig c;
    c.round = round;
    c.batch_size = options_.evaluate_batch_size;
    if (options_.evaluate_every <= 0 || round % options_.evaluate_every != 0) return c;
    c.clients_per_round = options_.evaluate_clients_per_round;
    c.fraction = options_.evaluate_fraction;
    return c;
  }

  void begin_fit(int64_t round, std::span<const float> global) override {
    in_round_ = true;
    round_ = round;
    global_ = global;
    global_norm_ = l2_norm(global);
    failures_.clear();
    seen_.clear();
    num_results_ = 0;
    num_examples_ = 0;
    num_clipped_ = 0;
    if (params_.combine == CombineRule::kMean) {
      sum_.reset(global.size());
    } else {
      buffered_.clear();
      buffered_examples_.clear();
    }
  }

  Status accept_fit(const FitResult& result) override {
    assert(in_round_ && "accept_fit before begin_fit");
    Status status = check(result);
    if (!status.is_ok()) {
      failures_.push_back({result.client_id, "rejected: " + status.message()});
      return status.with_context("update from client '" + result.client_id + "' rejected");
    }
    return Status::ok();
  }

  void add_failure(ClientFailure failure) override {
    assert(in_round_ && "add_failure before begin_fit");
    failures_.push_back(std::move(failure));
  }

  Result<FitOutcome> finish_fit() override {
    assert(in_round_ && "finish_fit before begin_fit");
    in_round_ = false;
    const std::string where = "round " + std::to_string(round_) + ": ";
    if (num_results_ < std::max(options_.min_fit_results, 1)) {
      return failed_precondition(where + std::to_string(num_results_) +
                                 " updates accepted, at least " +
                                 std::to_string(std::max(options_.min_fit_results, 1)) +
                                 " required (" + std::to_string(failures_.size()) + " failures)");
    }
    delta_.assign(global_.size(), 0.0);
    NF_RETURN_IF_ERROR(combine().with_context(where.substr(0, where.size() - 2)));
    FitOutcome outcome;
    outcome.values.resize(global_.size());
    // step() fails only before it touches the moments, so a failed round
    // leaves the strategy's state as it was.
    NF_RETURN_IF_ERROR(optimizer_.step(global_, delta_, outcome.values));
    last_round_ = round_;
    outcome.num_results = num_results_;
    outcome.num_examples = num_examples_;
    outcome.num_clipped = num_clipped_;
    outcome.failures = std::move(failures_);
    failures_.clear();
    buffered_.clear();
    return outcome;
  }

  int64_t last_round() const override { return last_round_; }

  std::vector<uint8_t> save_state() const override {
    fl_detail::ByteWriter w;
    w.u32(kStateMagic);
    w.u32(kStateVersion);
    w.str(params_.name);
    w.u64(static_cast<uint64_t>(last_round_));
    w.floats(optimizer_.first_moment());
    w.floats(optimizer_.second_moment());
    const uint64_t digest = Hasher().bytes(w.bytes()).digest();
    w.u64(digest);
    return std::move(w.bytes());
  }

  Status load_state(std::span<const uint8_t> bytes) override {
    if (bytes.size() < 8)
      return corrupt("strategy state of " + std::to_string(bytes.size()) + " bytes is too short");
    const uint64_t digest = Hasher().bytes(bytes.first(bytes.size() - 8)).digest();
    fl_detail::ByteReader tail(bytes.last(8));
    uint64_t stored = 0;
    (void)tail.u64(stored);
    if (stored != digest) return corrupt("strategy state checksum mismatch");
    fl_detail::ByteReader r(bytes.first(bytes.size() - 8));
    uint32_t magic = 0, version = 0;
    std::string name;
    uint64_t round = 0;
    std::vector<float> m, v;
    if (!r.u32(magic) || magic != kStateMagic) return corrupt("not a strategy state (bad magic)");
    if (!r.u32(version) || version != kStateVersion) {
      return corrupt("strategy state version " + std::to_string(version) + " is not supported");
    }
    if (!r.str(name) || !r.u64(round) || !r.floats(m) || !r.floats(v) || !r.at_end()) {
      return corrupt("strategy state is truncated or has trailing bytes");
    }
    if (name != params_.name) {
      return failed_precondition("strategy state was saved by '" + name + "', not '" +
                                 params_.name + "'");
    }
    last_round_ = static_cast<int64_t>(round);
    optimizer_.set_moments(std::move(m), std::move(v));
    return Status::ok();
  }

 private:
  Status check(const FitResult& result) {
    if (result.num_examples <= 0) {
      return invalid_argument("example count " + std::to_string(result.num_examples) +
                              " is not positive");
    }
    if (!seen_.insert(result.client_id).second) {
      return invalid_argument("a second update in round " + std::to_string(round_));
    }
    NF_ASSIGN_OR_RETURN(const double norm, check_update(global_, global_norm_, result.values,
                                                        result.is_delta, options_.bounds));
    const double scale = clip_factor(norm, params_.clip_norm);
    if (scale < 1.0) ++num_clipped_;
    const double weight = static_cast<double>(result.num_examples);
    if (params_.combine == CombineRule::kMean) {
      if (result.is_delta) {
        sum_.add_scaled(result.values, scale, weight);
      } else {
        sum_.add_difference(result.values, global_, weight, scale);
      }
    } else {
      std::vector<float> delta(global_.size());
      for (size_t i = 0; i < delta.size(); ++i) {
        const double d = result.is_delta ? static_cast<double>(result.values[i])
                                         : static_cast<double>(result.values[i]) - global_[i];
        delta[i] = static_cast<float>(d * scale);
      }
      buffered_.push_back(std::move(delta));
      buffered_examples_.push_back(result.num_examples);
    }
    ++num_results_;
    num_examples_ += result.num_examples;
    return Status::ok();
  }

  // Writes the round's aggregated delta into delta_.
  Status combine() {
    if (params_.combine == CombineRule::kMean) {
      const double w = sum_.total_weight();
      for (size_t i = 0; i < delta_.size(); ++i) delta_[i] = sum_.sum()[i] / w;
      return Status::ok();
    }
    std::vector<std::span<const float>> views(buffered_.begin(), buffered_.end());
    std::vector<float> out(global_.size());
    switch (params_.combine) {
      case CombineRule::kMedian:
        coordinate_median(views, out);
        break;
      case CombineRule::kTrimmedMean:
        NF_RETURN_IF_ERROR(trimmed_mean(views, params_.trim_beta, out));
        break;
      case CombineRule::kKrum:
      case CombineRule::kMultiKrum: {
        const int32_t m = params_.combine == CombineRule::kKrum ? 1 : params_.krum_m;
        NF_ASSIGN_OR_RETURN(const std::vector<int32_t> chosen,
                            krum_select(views, params_.krum_f, m));
        // Multi-Krum averages the survivors weighted by examples, like FedAvg
        // (as Flower does); Krum (m = 1) returns the one chosen update.
        WeightedSum sum(global_.size());
        for (int32_t i : chosen) {
          sum.add(views[static_cast<size_t>(i)],
                  static_cast<double>(buffered_examples_[static_cast<size_t>(i)]));
        }
        for (size_t i = 0; i < delta_.size(); ++i) {
          delta_[i] = sum.sum()[i] / sum.total_weight();
        }
        return Status::ok();
      }
      case CombineRule::kMean:
        break;
    }
    for (size_t i = 0; i < delta_.size(); ++i) delta_[i] = out[i];
    return Status::ok();
  }

  StrategyParams params_;
  StrategyOptions options_;
  ServerOptimizer optimizer_;
  int64_t last_round_ = 0;

  // The round being aggregated.
  bool in_round_ = false;
  int64_t round_ = 0;
  std::span<const float> global_;
  double global_norm_ = 0.0;
  std::vector<ClientFailure> failures_;
  std::unordered_set<std::string> seen_;  // ids only: bytes per client, not per parameter
  int32_t num_results_ = 0;
  int64_t num_examples_ = 0;
  int32_t num_clipped_ = 0;
  WeightedSum sum_;                           // kMean
  std::vector<std::vector<float>> buffered_;  // robust rules: clipped deltas
  std::vector<int64_t> buffered_examples_;
  std::vector<double> delta_;
};

// ---- spec parsing ----

struct KeyValue {
  std::string key;
  std::string value;
};

Result<double> parse_number(const std::string& spec, const KeyValue& kv) {
  const char* begin = kv.value.c_str();
  char* end = nullptr;
  const double v = std::strtod(begin, &end);
  if (kv.value.empty() || end != begin + kv.value.size() || !std::isfinite(v)) {
    return invalid_argument("strategy '" + spec + "': " + kv.key + "='" + kv.value +
                            "' is not a number");
  }
  return v;
}

Status out_of_range(const std::string& spec, const std::string& key, double v, const char* range) {
  return invalid_argument("strategy '" + spec + "': " + key + "=" + format_number(v) +
                          " is outside " + range);
}

}  // namespace

std::string StrategyParams::to_string() const {
  std::string s = name + ":";
  auto add = [&](const char* key, double v) {
    if (s.back() != ':') s += ",";
    s += key;
    s += "=";
    s += format_number(v);
  };
  const ServerOptimizerParams& o = optimizer;
  if (name == "fedprox") add("mu", proximal_mu);
  if (name == "trimmed_mean") add("beta", trim_beta);
  if (combine == CombineRule::kKrum || combine == CombineRule::kMultiKrum) add("f", krum_f);
  if (combine == CombineRule::kMultiKrum) add("m", krum_m);
  if (o.rule == ServerRule::kMomentum) add("momentum", o.momentum);
  if (o.rule == ServerRule::kAdagrad || o.rule == ServerRule::kAdam ||
      o.rule == ServerRule::kYogi) {
    add("lr", o.lr);
    add("beta1", o.beta1);
    if (o.rule != ServerRule::kAdagrad) add("beta2", o.beta2);
    add("tau", o.tau);
  } else {
    add("server_lr", o.lr);
  }
  add("clip", clip_norm);
  return s;
}

Result<StrategyParams> parse_strategy_spec(std::string_view text) {
  const std::string spec(text);
  const size_t colon = spec.find(':');
  StrategyParams p;
  p.name = spec.substr(0, colon);
  std::vector<KeyValue> pairs;
  if (colon != std::string::npos) {
    std::string rest = spec.substr(colon + 1);
    size_t start = 0;
    while (start <= rest.size()) {
      size_t comma = rest.find(',', start);
      if (comma == std::string::npos) comma = rest.size();
      const std::string item = rest.substr(start, comma - start);
      const size_t eq = item.find('=');
      if (eq == std::string::npos || eq == 0) {
        return invalid_argument("strategy '" + spec + "': '" + item + "' is not key=value");
      }
      pairs.push_back({item.substr(0, eq), item.substr(eq + 1)});
      start = comma + 1;
    }
  }

  std::vector<std::string> keys = {"clip"};
  ServerOptimizerParams& o = p.optimizer;
  if (p.name == "fedavg" || p.name == "fedprox" || p.name == "median" || p.name == "trimmed_mean" ||
      p.name == "krum" || p.name == "multikrum") {
    o.rule = ServerRule::kSgd;
    o.lr = 1.0;
    keys.push_back("server_lr");
  }
  if (p.name == "fedprox") {
    p.proximal_mu = 0.01f;
    keys.push_back("mu");
  } else if (p.name == "fedavgm") {
    o.rule = ServerRule::kMomentum;
    o.lr = 1.0;
    o.momentum = 0.9;
    keys.insert(keys.end(), {"momentum", "server_lr"});
  } else if (p.name == "fedadam" || p.name == "fedyogi" || p.name == "fedadagrad") {
    o.rule = p.name == "fedadam"   ? ServerRule::kAdam
             : p.name == "fedyogi" ? ServerRule::kYogi
                                   : ServerRule::kAdagrad;
    o.lr = 0.01;
    o.beta1 = p.name == "fedadagrad" ? 0.0 : 0.9;
    o.beta2 = 0.99;
    o.tau = 1e-3;
    keys.insert(keys.end(), {"lr", "beta1", "tau"});
    if (p.name != "fedadagrad") keys.push_back("beta2");
  } else if (p.name == "median") {
    p.combine = CombineRule::kMedian;
  } else if (p.name == "trimmed_mean") {
    p.combine = CombineRule::kTrimmedMean;
    keys.push_back("beta");
  } else if (p.name == "krum") {
    p.combine = CombineRule::kKrum;
    keys.push_back("f");
  } else if (p.name == "multikrum") {
    p.combine = CombineRule::kMultiKrum;
    keys.insert(keys.end(), {"f", "m"});
  } else if (p.name != "fedavg") {
    return invalid_argument("unknown strategy '" + p.name +
                            "' (known: fedavg, fedprox, fedavgm, fedadam, fedyogi, fedadagrad, "
                            "median, trimmed_mean, krum, multikrum)");
  }

  bool has_m = false;
  for (const KeyValue& kv : pairs) {
    if (std::find(keys.begin(), keys.end(), kv.key) == keys.end()) {
      std::string list;
      for (const std::string& k : keys) list += (list.empty() ? "" : ", ") + k;
      return invalid_argument("strategy '" + spec + "': unknown key '" + kv.key + "' for " +
                              p.name + " (keys: " + list + ")");
    }
    NF_ASSIGN_OR_RETURN(const double v, parse_number(spec, kv));
    const std::string& k = kv.key;
    if (k == "clip") {
      if (v < 0) return out_of_range(spec, k, v, "[0, inf)");
      p.clip_norm = v;
    } else if (k == "server_lr" || k == "lr") {
      if (v <= 0) return out_of_range(spec, k, v, "(0, inf)");
      o.lr = v;
    } else if (k == "mu") {
      if (v < 0) return out_of_range(spec, k, v, "[0, inf)");
      p.proximal_mu = static_cast<float>(v);
    } else if (k == "momentum" || k == "beta1" || k == "beta2") {
      if (v < 0 || v >= 1) return out_of_range(spec, k, v, "[0, 1)");
      (k == "momentum" ? o.momentum : k == "beta1" ? o.beta1 : o.beta2) = v;
    } else if (k == "tau") {
      if (v <= 0) return out_of_range(spec, k, v, "(0, inf)");
      o.tau = v;
    } else if (k == "beta") {
      if (v < 0 || v >= 0.5) return out_of_range(spec, k, v, "[0, 0.5)");
      p.trim_beta = v;
    } else if (k == "f" || k == "m") {
      if (v != std::floor(v) || v < (k == "f" ? 0 : 1) || v > 1e6) {
        return out_of_range(spec, k, v, k == "f" ? "the integers >= 0" : "the integers >= 1");
      }
      (k == "f" ? p.krum_f : p.krum_m) = static_cast<int32_t>(v);
      if (k == "m") has_m = true;
    }
  }
  if (p.combine == CombineRule::kMultiKrum && !has_m) {
    return invalid_argument("strategy '" + spec + "': multikrum needs m (updates to average)");
  }
  return p;
}

std::unique_ptr<Strategy> make_strategy(const StrategyParams& params,
                                        const StrategyOptions& options) {
  return std::make_unique<StandardStrategy>(params, options);
}

Result<std::unique_ptr<Strategy>> make_strategy(std::string_view spec,
                                                const StrategyOptions& options) {
  NF_ASSIGN_OR_RETURN(StrategyParams params, parse_strategy_spec(spec));
  return make_strategy(params, options);
}

}  // namespace nf
