#include "examples/study/training_run.h"

#include <cmath>
#include <numbers>
#include <numeric>
#include <string>

#include "core/util/rng.h"

namespace nf::study {

Result<LrSchedule> parse_lr_schedule(std::string_view name) {
  if (name == "exp") return LrSchedule::kExponential;
  if (name == "cosine") return LrSchedule::kCosine;
  return invalid_argument("unknown learning-rate schedule '" + std::string(name) +
                          "' (expected exp or cosine)");
}

double epoch_learning_rate(const RunOptions& options, int epoch) {
  const double lr = options.config.learning_rate;
  const int warmup = options.warmup_epochs;
  if (epoch < warmup) return lr * (epoch + 1) / (warmup + 1);
  const int e = epoch - warmup;
  const int span = options.config.epochs - warmup;
  switch (options.schedule) {
    case LrSchedule::kExponential:
      return lr * std::pow(options.lr_decay, e);
    case LrSchedule::kCosine:
      return lr * 0.5 * (1.0 + std::cos(std::numbers::pi * e / span));
  }
  return lr;
}

Result<RunResult> run_training(Model& model, const Dataset& train,
                               std::span<const int64_t> train_indices, const Dataset& test,
                               std::span<const int64_t> test_indices, const RunOptions& options) {
  if (options.config.epochs < 1) {
    return invalid_argument("epochs " + std::to_string(options.config.epochs) +
                            " must be at least 1");
  }
  if (!(options.lr_decay > 0.0 && options.lr_decay <= 1.0)) {
    return invalid_argument("learning-rate decay " + std::to_string(options.lr_decay) +
                            " must be in (0, 1]");
  }
  if (options.warmup_epochs < 0 || options.warmup_epochs >= options.config.epochs) {
    return invalid_argument("warmup of " + std::to_string(options.warmup_epochs) +
                            " epochs must be at least 0 and fewer than the " +
                            std::to_string(options.config.epochs) + " epochs");
  }
  if (test.dim != model.input_dim()) {
    return invalid_argument("test set '" + test.name + "' has " + std::to_string(test.dim) +
                            " features, the model expects " + std::to_string(model.input_dim()));
  }
  RunResult out;
  double total_seconds = 0;
  for (int e = 0; e < options.config.epochs; ++e) {
    TrainConfig cfg = options.config;
    cfg.epochs = 1;
    cfg.seed = options.config.seed * 1000003ULL + static_cast<uint64_t>(e);
    cfg.learning_rate = static_cast<float>(epoch_learning_rate(options, e));
    NF_ASSIGN_OR_RETURN(TrainStats ts, nf::train(model, train, train_indices, cfg));
    const EvalStats ev = evaluate(model, test, test_indices);
    EpochReport r;
    r.epoch = e + 1;
    r.learning_rate = cfg.learning_rate;
    r.train_loss = ts.mean_loss;
    r.test_loss = ev.loss;
    r.test_accuracy = ev.accuracy;
    r.train_seconds = ts.seconds;
    total_seconds += ts.seconds;
    out.best_accuracy = std::max(out.best_accuracy, r.test_accuracy);
    out.final_accuracy = r.test_accuracy;
    out.epochs.push_back(r);
    if (options.on_epoch) options.on_epoch(r);
  }
  out.seconds_per_epoch = total_seconds / options.config.epochs;
  return out;
}

std::vector<int64_t> subset_indices(int64_t n, int64_t limit, uint64_t seed) {
  if (limit <= 0 || limit >= n) {
    std::vector<int64_t> all(static_cast<size_t>(n));
    std::iota(all.begin(), all.end(), int64_t{0});
    return all;
  }
  Rng rng(seed, 0x5ab5e7);
  return rng.sample_sorted(n, limit);
}

}  // namespace nf::study
