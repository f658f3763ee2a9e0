// The study's results table: one row per training run, kept as CSV so a run
// can resume and the figures can be redrawn without training again.
#pragma once

#include <string>
#include <vector>

#include "core/util/status.h"

namespace nf::study {

struct RunRecord {
  std::string experiment;      // "budget", "init_depth" or "batch"
  std::string fabric;          // study fabric name, e.g. "clos"
  double budget = 0;           // target fraction of each hidden layer's dense weights
  double weight_fraction = 0;  // achieved: model weights / 266200
  long long weights = 0;
  bool within_tolerance = true;
  std::string init;  // "sparse" or "dense"
  int depth = 0;     // deepest hidden cascade
  int batch = 0;
  int seed = 0;
  int epochs = 0;
  long long train_examples = 0;
  double test_accuracy = 0;  // after the last epoch
  double test_loss = 0;
  double seconds_per_epoch = 0;  // training only
  std::vector<double> epoch_accuracies;
  // Data-free scores of the masks (averaged over hidden layers).
  double path_cv = 0;
  double log_min_paths = 0;
  double spectral_ratio = 0;
  double expressivity = 0;
  double reachable = 0;
  double data_free_fitness = 0;
  std::string spec;  // canonical model spec

  // Identifies a run for resuming: experiment, fabric, budget, init, depth
  // (init_depth only), batch, seed.
  std::string key() const;
};

// CSV with a header line; `spec` is quoted (it contains commas) and
// epoch_accuracies are joined with ';'.
std::string records_to_csv(const std::vector<RunRecord>& records);
// Parses what records_to_csv wrote; errors name the line.
Result<std::vector<RunRecord>> records_from_csv(const std::string& text);

}  // namespace nf::study
