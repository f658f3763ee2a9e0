// ModelImpl: the planned layers of a Model and its training workspace.
//
// Internal to the engine but public for tests and benchmarks, which drive a
// training step piece by piece. A step is:
//   prepare(capacity, threads); load_batch(...); forward(w, ...); backward(w, grad)
// then an optimizer step on the flat vector. prepare() allocates only when
// the capacity or thread count grows; the other calls never allocate.
//
// Batch capacity 1 selects the batch-1 path (stride 1, fused backward, one
// thread); otherwise activations are feature-major with a stride rounded up
// to 16 lanes and each operator splits its output rows over the threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <span>
#include <vector>

#include "core/data/dataset.h"
#include "core/engine/float_buffer.h"
#include "core/engine/kernels.h"
#include "core/engine/model.h"
#include "core/engine/model_spec.h"
#include "core/engine/optimizer.h"
#include "core/engine/sublayer_op.h"
#include "core/engine/thread_choice.h"
#include "core/engine/thread_pool.h"
#include "core/fabric/cascade.h"

namespace nf::engine {

struct LayerPlan {
  int32_t n_in = 0;
  int32_t n_out = 0;
  Activation activation = Activation::kLinear;
  std::vector<SublayerOp> ops;
  std::vector<int64_t> weight_offsets;  // per sublayer, into the flat vector
  int64_t bias_offset = 0;
};

// Rounds a batch capacity to the activation stride (1 stays 1).
size_t batch_stride(int capacity);

// The sections of a training step, in the order a step runs them.
enum class StepSection {
  kLoad,                // load_batch / load_rows
  kForward,             // one sublayer's operator
  kBiasActivation,      // a layer's bias and activation
  kLoss,                // softmax cross-entropy
  kActivationBackward,  // a layer's activation gradient and bias gradient
  kBackward,            // one sublayer's weight (and input) gradient
  kUpdate,              // the optimizer step
};

// Told when each section of a step ends, with its layer and sublayer (-1
// where it has none), so that a benchmark can time a step section by
// section (engine_bench --breakdown). Null by default: then a section costs
// one test of a pointer.
class StepProbe {
 public:
  virtual ~StepProbe() = default;
  virtual void done(StepSection section, int layer, int sublayer) = 0;
};

class ModelImpl {
 public:
  ModelSpec spec;
  std::vector<Cascade> cascades;
  std::vector<LayerPlan> layers;
  FloatBuffer params;
  int64_t dense_equivalent = 0;
  // Tests set this to run one kernel variant; null means active_kernels().
  const KernelTable* kernel_override = nullptr;
  // Sections of a step below this many multiply-adds (or element updates)
  // run on the calling thread: handing one to a worker costs microseconds
  // when it has to be woken, more than such a section takes (the 10-row
  // output layer, a bias and activation over 300 x 64). Every section
  // computes the same bits for any number of parts, so this changes only
  // who computes them. Tests set 0 to split every section.
  static constexpr int64_t kMinParallelWork = 65536;
  int64_t min_parallel_work = kMinParallelWork;
  // Training state kept between train() calls so that they do not allocate.
  FloatBuffer grad;
  std::vector<float> anchor;
  std::vector<int64_t> order;
  Optimizer optimizer;
  // Whether train()'s steps split between threads; kept across calls, so
  // that a client's short rounds continue one schedule of probes.
  ThreadChoice thread_choice;
  // Benchmarks set this to time the sections of a step.
  StepProbe* probe = nullptr;
  // Whether the training workspace keeps the batch batch-major for the first
  // sublayer when it can read it (input_rows; TrainConfig says why one
  // would not). Takes effect at the next prepare(). The same bits either way.
  bool batch_major_input = true;

  // Sizes the workspace for batches of up to `capacity` examples and
  // `threads` threads (and input_rows by batch_major_input); the evaluation
  // workspace gets no gradient buffers.
  // Precondition: capacity >= 1, threads >= 1.
  void prepare(int capacity, int threads);
  int capacity() const { return ws_->capacity; }
  size_t stride() const { return ws_->stride; }
  // Switches between the training workspace (the default) and a separate
  // one for evaluation, so that alternating train() and evaluate() calls
  // keep both sized and allocate nothing.
  void use_eval_workspace(bool eval) { ws_ = eval ? &eval_ws_ : &train_ws_; }
  // Examples per batch of the training workspace when it holds batches of
  // 16 or more, else 0. Evaluation runs in it when there is one, so that a
  // device that trains and evaluates keeps one workspace.
  int training_batch_capacity() const {
    return train_ws_.stride >= 16 ? static_cast<int>(train_ws_.stride) : 0;
  }

  // Copies examples into the input matrix and their labels. Preconditions:
  // 1 <= size <= capacity, indices valid, data.dim == input dim.
  void load_batch(const Dataset& data, std::span<const int64_t> indices);
  // Asks the caches for the rows of the next batch, without waiting for
  // them, so that they arrive while this step computes: a shuffled batch's
  // rows are scattered over the data set, and a load that finds them cold
  // waits on memory for each (24-26 of clos-10's 92-96 us at batch 64
  // on Fashion-MNIST; 7.6-7.9 us prefetched). train() calls it once the current batch is loaded.
  // Issuing the lines a few at a time after each section of the step
  // measured no faster than all at once. No effect on results.
  void prefetch_batch(const Dataset& data, std::span<const int64_t> indices) const;
  // Same from row-major features (n rows of input_dim floats) and labels.
  void load_rows(const float* features, const int32_t* labels, int n);

  // Forward pass over the loaded batch. Returns loss_before plus the summed
  // softmax cross-entropy, added in a fixed chain per group of 16 examples,
  // so that a data set's loss has the same bits in batches of any multiple
  // of 16; adds the number of correct argmax predictions to *correct when
  // not null. When `for_backward`, leaves d(mean loss)/d(logits) for backward().
  double forward(const float* w, bool for_backward, int64_t* correct, double loss_before = 0.0);
  // Gradient of the mean loss of the last forward() into grad (parameter count).
  void backward(const float* w, float* grad);

  // One optimizer update of `w` by `grad` (Optimizer::step), its elements
  // split between the threads in ranges of whole cache lines.
  void update(Optimizer& opt, std::span<float> w, std::span<const float> grad,
              std::span<const float> anchor);
  // backward(w, grad), then update(opt, w, grad, anchor), with the same
  // values. When fuse_update is set, the batch is not batch 1 and the update
  // needs no more than each element's own gradient (no clipping, whose norm
  // needs all of them), each sublayer's weights and each layer's biases are
  // updated as soon as their gradient is complete, while it is in the
  // caches: the backward pass never reads a sublayer's weights after its
  // own gradient.
  void backward_update(Optimizer& opt, std::span<float> w, std::span<float> grad,
                       std::span<const float> anchor);
  // Whether backward_update() fuses the update into the backward pass when
  // it can; tests compare the two.
  bool fuse_update = true;
  // Whether sections of at least min_parallel_work are split between the
  // threads (the default) or all run on the calling thread; the same bits
  // either way. train() sets it per step (ThreadChoice).
  void set_split(bool split) { split_ = split; }
  // Keeps the workers spinning between the sections of a training loop
  // (WorkerPool::hold); train() holds them while it runs.
  void hold_workers(bool held) { ws_->pool->hold(held); }

  // Output activations of layer `layer` (feature-major, stride()).
  const float* layer_output(int layer) const { return ws_->out[layer].data(); }
  // Bytes of the training workspace prepare(capacity, threads) allocates.
  int64_t workspace_bytes(int capacity, int threads) const;
  // Rows of the widest gradient the backward pass writes (the data's
  // gradient is never computed).
  int32_t gradient_width() const;
  // Bytes the current workspace holds (what workspace_bytes predicts).
  int64_t allocated_workspace_bytes() const;
  int64_t index_bytes() const;

 private:
  const KernelTable& kernels() const {
    return kernel_override != nullptr ? *kernel_override : active_kernels();
  }
  void section_done(StepSection section, int layer = -1, int sublayer = -1) {
    if (probe != nullptr) probe->done(section, layer, sublayer);
  }
  void copy_batch(const Dataset& data, std::span<const int64_t> indices);
  // backward(); with `step` (a planned update of the whole vector) not
  // null, the elements of each gradient updated once it is complete.
  void backward_pass(const float* w, float* grad, const OptimizerStep* step);
  // `count` elements of `step` from `begin`, split between the threads in
  // ranges of whole cache lines.
  void update_range(const OptimizerStep& step, int64_t begin, int64_t count);
  // Whether a training workspace of stride `stride` keeps input_rows.
  bool keeps_input_rows(size_t stride) const;
  // Fills input_rows' row b (b < stride) with fill_row(b, row), examples
  // split between the threads in groups of 16, and transposes each group
  // into `input`.
  template <typename F>
  void load_input_rows(F&& fill_row);
  // Widest block (or CSR row) of any sublayer: the scratch's row length.
  int32_t max_block_width() const;
  const float* sublayer_input(int layer, int sublayer) const;
  float* sublayer_output(int layer, int sublayer);
  // Runs fn(part, parts) on the pool, or as fn(0, 1) when `work` (multiply-
  // adds) is too small to pay for the hand-over.
  template <typename F>
  void parallel(int64_t work, F&& fn);

  struct Workspace {
    int capacity = 0;
    int threads = 0;
    size_t stride = 0;
    int n = 0;  // examples in the loaded batch
    FloatBuffer input;
    // The batch batch-major (InputRows of the first sublayer), kept in a
    // training workspace when the first sublayer reads it: a load of bytes
    // (or load_rows) writes it and transposes it into `input`, and the first
    // sublayer's weight gradient reads it instead of transposing `input`
    // back. Empty otherwise; rows_loaded says whether it holds this batch.
    FloatBuffer input_rows;
    bool rows_loaded = false;
    std::vector<std::vector<FloatBuffer>> hidden;  // [layer][sublayer < depth-1]
    std::vector<FloatBuffer> out;                  // [layer], after bias and activation
    FloatBuffer grad_a, grad_b;
    std::vector<FloatBuffer> scratch;  // per thread
    std::vector<int32_t> labels;
    std::vector<int32_t> row_index;  // examples of the batch, for the input transpose
    std::vector<float> loss_max;     // per example: the largest logit (loss pass)
    std::vector<double> loss_sum;    // per example: sum of exp(logit - max)
    std::unique_ptr<WorkerPool> pool;
  };
  Workspace train_ws_, eval_ws_;
  bool split_ = true;
  Workspace* ws_ = &train_ws_;
};

}  // namespace nf::engine
