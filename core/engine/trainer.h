// Local training and evaluation of a Model on a client's examples.
//
// train() is deterministic: the same model values, data, indices and config
// give bit-identical parameters on the same build, whatever `threads` is
// (operators split output rows, never a reduction). Examples are visited in
// an order shuffled by nf::Rng(config.seed), reshuffled every epoch; the last
// batch of an epoch may be smaller. The optimizer state starts from zero at
// every call, as a federated client starts every round.
//
// Both functions use the Model's workspace: calls on one Model must not
// overlap (see model.h). After the first call with a given batch size and
// thread count, they do not allocate.
#pragma once

#include <cstdint>
#include <span>

#include "core/data/dataset.h"
#include "core/engine/model.h"
#include "core/engine/optimizer.h"
#include "core/util/status.h"

namespace nf {

struct TrainConfig {
  int epochs = 1;
  int batch_size = 32;  // 1 selects the batch-1 path
  OptimizerKind optimizer = OptimizerKind::kSgd;
  float learning_rate = 0.05f;
  float momentum = 0.0f;
  float weight_decay = 0.0f;
  float clip_norm = 0.0f;  // 0: no clipping
  float prox_mu = 0.0f;    // 0: no FedProx term
  uint64_t seed = 0;       // shuffling
  int threads = 1;
  // With threads > 1: each step runs on one thread or splits between all,
  // whichever measures faster (ThreadChoice); false: every step splits.
  bool choose_threads = true;
  // Keep each batch batch-major as well when the first sublayer's blocks
  // have consecutive columns (Clos, dense), so that its weight gradient
  // reads its input without transposing it back: faster steps (clos-10 at
  // batch 64: that gradient 11.1 -> 7.8 us of an 80 us step) for
  // batch x input_dim floats of workspace (100 kB at batch 32 for 784
  // inputs). The same bits either way; nf-agent turns it off, its memory
  // being the limit and its tasks short.
  bool batch_major_input = true;
};

struct TrainStats {
  int64_t examples = 0;    // examples processed (epochs x indices)
  double mean_loss = 0.0;  // mean training loss over those examples, before each step
  double seconds = 0.0;
  // With threads > 1: the steps that split their sections between threads;
  // the others ran on one thread because it measured faster (ThreadChoice).
  int64_t split_steps = 0;
};

// Trains `model` in place on data[indices]. With prox_mu > 0 the anchor is
// `prox_anchor` (the round's global values; size parameter_count()) or, when
// empty, the model's values at the start of the call. Errors: a dataset whose
// dim or class count does not fit the model, an index out of range, a bad
// config value (named with its value).
Result<TrainStats> train(Model& model, const Dataset& data, std::span<const int64_t> indices,
                         const TrainConfig& config, std::span<const float> prox_anchor = {});

struct EvalStats {
  double loss = 0.0;      // mean softmax cross-entropy
  double accuracy = 0.0;  // fraction of argmax predictions equal to the label
  int64_t examples = 0;
};

// Examples per evaluation batch. 64 is as fast as 256 per example (the
// engine's forward pass, measured with dense and clos-10 models) and its
// workspace a quarter of the size: about 0.54 MB for the standard Clos model,
// on devices that have 8 MB in all.
inline constexpr int kEvalBatch = 64;

// Evaluates on data[indices] (all examples when `indices` is empty) with
// the engine's kernels: in the training workspace (its batch size and
// threads) when train() has sized one for batches of 16 or more, else in
// batches of kEvalBatch on one thread in a workspace of its own. The result
// has the same bits either way. (XNNPACK's dense
// evaluation is evaluate_xnnpack in xnn_dense.h, in its own library, so that
// programs that never use it do not link XNNPACK.) Preconditions (asserted):
// data.dim equals the model's input dimension and every label and index is in
// range.
EvalStats evaluate(const Model& model, const Dataset& data, std::span<const int64_t> indices = {});

}  // namespace nf
