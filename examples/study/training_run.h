// One training run with per-epoch evaluation: what `nf train`, `nf topo
// search` and the study share.
//
// Each epoch is one call of nf::train (so the optimizer state restarts every
// epoch, as a federated client's does every round) with the shuffle seed
// derived from the run's seed and the epoch, and a per-epoch learning-rate
// schedule (exponential decay or cosine, with optional linear warmup). The
// test set is evaluated after every epoch.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "core/data/dataset.h"
#include "core/engine/model.h"
#include "core/engine/trainer.h"
#include "core/util/status.h"

namespace nf::study {

struct EpochReport {
  int epoch = 0;  // 1-based
  double learning_rate = 0;
  double train_loss = 0;  // mean loss during the epoch
  double test_loss = 0;
  double test_accuracy = 0;
  double train_seconds = 0;  // training only, evaluation excluded
};

enum class LrSchedule {
  kExponential,  // epoch e (0-based, after warmup) runs at lr * lr_decay^e
  kCosine,       // epoch e of the E after warmup runs at lr * (1 + cos(pi e / E)) / 2
};
// "exp", "cosine".
Result<LrSchedule> parse_lr_schedule(std::string_view name);

struct RunOptions {
  TrainConfig config;  // config.epochs is the number of epochs of the run
  LrSchedule schedule = LrSchedule::kExponential;
  double lr_decay = 1.0;  // kExponential's factor per epoch, in (0, 1]
  // The first warmup_epochs epochs (fewer than config.epochs) run at
  // lr * (w + 1) / (warmup_epochs + 1) for w = 0, 1, ...; the schedule then
  // starts at its epoch 0.
  int warmup_epochs = 0;
  // Called after each epoch (e.g. to print a line); may be empty.
  std::function<void(const EpochReport&)> on_epoch;
};

struct RunResult {
  std::vector<EpochReport> epochs;
  double final_accuracy = 0;
  double best_accuracy = 0;
  double seconds_per_epoch = 0;  // mean training seconds per epoch over the run
};

// The learning rate of epoch `epoch` (0-based) of a run with these options.
// Preconditions: the options passed run_training's checks.
double epoch_learning_rate(const RunOptions& options, int epoch);

// Trains `model` on train[train_indices] and evaluates on test[test_indices]
// (all of test when empty). Errors come from nf::train (bad config, sizes).
Result<RunResult> run_training(Model& model, const Dataset& train,
                               std::span<const int64_t> train_indices, const Dataset& test,
                               std::span<const int64_t> test_indices, const RunOptions& options);

// 0..n-1, or a seeded random subset of `limit` of them (sorted) when 0 < limit < n.
std::vector<int64_t> subset_indices(int64_t n, int64_t limit, uint64_t seed);

}  // namespace nf::study
