#include "core/engine/trainer.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "core/engine/model_impl.h"
#include "core/util/rng.h"

namespace nf {

namespace {

Status check_data(const Model& model, const Dataset& data, std::span<const int64_t> indices) {
  if (data.dim != model.input_dim()) {
    return invalid_argument("dataset '" + data.name + "' has " + std::to_string(data.dim) +
                            " features per example, the model expects " +
                            std::to_string(model.input_dim()));
  }
  if (data.num_classes > model.output_dim()) {
    return invalid_argument("dataset '" + data.name + "' has " + std::to_string(data.num_classes) +
                            " classes, the model outputs " + std::to_string(model.output_dim()));
  }
  for (int64_t i : indices) {
    if (i < 0 || i >= data.size) {
      return invalid_argument("example index " + std::to_string(i) + " is outside dataset '" +
                              data.name + "' of " + std::to_string(data.size) + " examples");
    }
  }
  return Status::ok();
}

}  // namespace

Result<TrainStats> train(Model& model, const Dataset& data, std::span<const int64_t> indices,
                         const TrainConfig& config, std::span<const float> prox_anchor) {
  const auto start = std::chrono::steady_clock::now();
  NF_RETURN_IF_ERROR(check_data(model, data, indices));
  if (config.epochs < 0) {
    return invalid_argument("epochs " + std::to_string(config.epochs) + " must be >= 0");
  }
  if (config.batch_size < 1 || config.batch_size > (1 << 16)) {
    return invalid_argument("batch size " + std::to_string(config.batch_size) +
                            " must be in [1, 65536]");
  }
  if (config.threads < 1 || config.threads > 256) {
    return invalid_argument("threads " + std::to_string(config.threads) + " must be in [1, 256]");
  }
  if (!(config.learning_rate >= 0.0f) || !std::isfinite(config.learning_rate)) {
    return invalid_argument("learning rate " + std::to_string(config.learning_rate) +
                            " must be finite and >= 0");
  }
  if (config.prox_mu < 0.0f || config.clip_norm < 0.0f || config.weight_decay < 0.0f) {
    return invalid_argument("prox_mu, clip_norm and weight_decay must be >= 0");
  }
  const int64_t count = model.parameter_count();
  if (!prox_anchor.empty() && static_cast<int64_t>(prox_anchor.size()) != count) {
    return invalid_argument("prox anchor has " + std::to_string(prox_anchor.size()) +
                            " values, the model has " + std::to_string(count));
  }

  engine::ModelImpl& m = model.impl();
  m.batch_major_input = config.batch_major_input;
  m.prepare(config.batch_size, config.threads);
  m.grad.resize(static_cast<size_t>(count));
  OptimizerConfig oc;
  oc.kind = config.optimizer;
  oc.learning_rate = config.learning_rate;
  oc.momentum = config.momentum;
  oc.weight_decay = config.weight_decay;
  oc.clip_norm = config.clip_norm;
  oc.prox_mu = config.prox_mu;
  m.optimizer.reset(oc, count);
  std::span<const float> anchor;
  if (config.prox_mu > 0.0f) {
    if (prox_anchor.empty()) {
      m.anchor.assign(m.params.begin(), m.params.end());
      anchor = m.anchor;
    } else {
      anchor = prox_anchor;
    }
  }
  m.order.assign(indices.begin(), indices.end());

  Rng rng(config.seed);
  TrainStats stats;
  double loss_sum = 0.0;
  const auto n_total = static_cast<int64_t>(m.order.size());
  // With several threads, each step splits its sections between them or
  // runs on this thread, whichever measured faster (ThreadChoice); split
  // steps keep the workers spinning between sections (WorkerPool::hold).
  // Leaves the workspace splitting and its workers free to sleep.
  struct Split {
    engine::ModelImpl& impl;
    void set(bool split) {
      impl.set_split(split);
      impl.hold_workers(split);
    }
    ~Split() {
      impl.set_split(true);
      impl.hold_workers(false);
    }
  } split{m};
  const bool can_split = config.threads > 1 && config.batch_size > 1;
  const bool choose = can_split && config.choose_threads;
  for (int epoch = 0; epoch < config.epochs; ++epoch) {
    rng.shuffle(std::span<int64_t>(m.order));
    for (int64_t b0 = 0; b0 < n_total; b0 += config.batch_size) {
      const int64_t n = std::min<int64_t>(config.batch_size, n_total - b0);
      const bool split_step = choose ? m.thread_choice.split() : can_split;
      split.set(split_step);
      stats.split_steps += split_step ? 1 : 0;
      const auto step_start = std::chrono::steady_clock::now();
      m.load_batch(data, std::span<const int64_t>(m.order.data() + b0, static_cast<size_t>(n)));
      if (b0 + n < n_total) {
        const int64_t next = std::min<int64_t>(config.batch_size, n_total - b0 - n);
        m.prefetch_batch(
            data, std::span<const int64_t>(m.order.data() + b0 + n, static_cast<size_t>(next)));
      }
      loss_sum += m.forward(m.params.data(), true, nullptr);
      m.backward_update(m.optimizer, m.params, m.grad, anchor);
      stats.examples += n;
      if (choose) {
        m.thread_choice.record(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start).count(),
            n == config.batch_size);
      }
    }
  }
  stats.mean_loss = stats.examples > 0 ? loss_sum / static_cast<double>(stats.examples) : 0.0;
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return stats;
}

EvalStats evaluate(const Model& model, const Dataset& data, std::span<const int64_t> indices) {
  constexpr int kBatch = kEvalBatch;
  assert(data.dim == model.input_dim());
  EvalStats stats;
  const int64_t total = indices.empty() ? data.size : static_cast<int64_t>(indices.size());
  stats.examples = total;
  if (total == 0) return stats;
  engine::ModelImpl& m = model.impl();
  // In the training workspace when train() sized one for batches (no
  // second workspace on a device that trains and evaluates), else in the
  // evaluation workspace. forward() chains the loss per 16 examples, so
  // both give the same bits.
  const int trained_batch = m.training_batch_capacity();
  const int batch_size = trained_batch > 0 ? trained_batch : kBatch;
  if (trained_batch == 0) {
    m.use_eval_workspace(true);
    m.prepare(kBatch, 1);
  }
  double loss = 0.0;
  int64_t correct = 0;
  std::vector<int64_t> batch(static_cast<size_t>(batch_size));
  for (int64_t b0 = 0; b0 < total; b0 += batch_size) {
    const int n = static_cast<int>(std::min<int64_t>(batch_size, total - b0));
    for (int i = 0; i < n; ++i) batch[i] = indices.empty() ? b0 + i : indices[b0 + i];
    m.load_batch(data, std::span<const int64_t>(batch.data(), static_cast<size_t>(n)));
    loss = m.forward(m.params.data(), false, &correct, loss);
  }
  m.use_eval_workspace(false);
  stats.loss = loss / static_cast<double>(total);
  stats.accuracy = static_cast<double>(correct) / static_cast<double>(total);
  return stats;
}

}  // namespace nf
