// One training run with per-epoch evaluation: what `nf train`, `nf topo
// search` and the study share.
//
// Each epoch is one call of nf::train (so the optimizer state restarts every
// epoch, as a federated client's does every round) with the shuffle seed
// derived from the run's seed and the epoch, and an optional per-epoch
// learning-rate decay. The test set is evaluated after every epoch.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
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

struct RunOptions {
  TrainConfig config;     // config.epochs is the number of epochs of the run
  double lr_decay = 1.0;  // learning rate of epoch e (0-based) is lr * lr_decay^e
  // Called after each epoch (e.g. to print a line); may be empty.
  std::function<void(const EpochReport&)> on_epoch;
};

struct RunResult {
  std::vector<EpochReport> epochs;
  double final_accuracy = 0;
  double best_accuracy = 0;
  double seconds_per_epoch = 0;  // mean training seconds per epoch over the run
};

// Trains `model` on train[train_indices] and evaluates on test[test_indices]
// (all of test when empty). Errors come from nf::train (bad config, sizes).
Result<RunResult> run_training(Model& model, const Dataset& train,
                               std::span<const int64_t> train_indices, const Dataset& test,
                               std::span<const int64_t> test_indices, const RunOptions& options);

// 0..n-1, or a seeded random subset of `limit` of them (sorted) when 0 < limit < n.
std::vector<int64_t> subset_indices(int64_t n, int64_t limit, uint64_t seed);

}  // namespace nf::study
