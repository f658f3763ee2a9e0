#include "core/engine/model_impl.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <utility>

namespace nf::engine {

namespace {

constexpr size_t kLaneAlign = 16;

size_t round_up(size_t v, size_t a) {
  return (v + a - 1) / a * a;
}

// Part `part` of `parts` of [0, n) in whole tiles of `tile` elements (whole
// cache lines for 16 floats): {begin, end}, possibly empty.
std::pair<size_t, size_t> tile_slice(size_t n, size_t tile, int part, int parts) {
  const size_t tiles = (n + tile - 1) / tile;
  return {std::min(n, tiles * part / parts * tile), std::min(n, tiles * (part + 1) / parts * tile)};
}

// The kernels' activation code of a layer's activation.
int act_code(Activation a) {
  switch (a) {
    case Activation::kLinear:
      return kActLinear;
    case Activation::kRelu:
      return kActRelu;
    case Activation::kTanh:
      return kActTanh;
  }
  return kActLinear;
}

// Rows 0..15: the gather table of a transpose of 16 consecutive rows (a
// group of examples of a batch).
constexpr int32_t kIota16[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

// Floats of a batch-major copy of the input: `stride` rows of `dim`, and
// one vector of 16 after the last, which the weight-gradient kernel may read.
size_t input_rows_floats(int32_t dim, size_t stride) {
  return static_cast<size_t>(dim) * stride + 16;
}

}  // namespace

size_t batch_stride(int capacity) {
  return capacity <= 1 ? 1 : round_up(static_cast<size_t>(capacity), kLaneAlign);
}

template <typename F>
void ModelImpl::parallel(int64_t work, F&& fn) {
  if (work < min_parallel_work || !split_) {
    fn(0, 1);
    return;
  }
  ws_->pool->run(fn);
}

int32_t ModelImpl::gradient_width() const {
  // The backward pass writes each layer's output gradient and each
  // sublayer's input gradient, except the first sublayer's: nobody needs
  // the gradient of the data (784 rows where the widest other is 364 in the
  // standard Clos model).
  int32_t width = 1;
  for (size_t l = 0; l < layers.size(); ++l) {
    width = std::max(width, layers[l].n_out);
    for (size_t i = 0; i < layers[l].ops.size(); ++i) {
      const SublayerOp& op = layers[l].ops[i];
      width = std::max(width, op.rows());
      if (l > 0 || i > 0) width = std::max(width, op.cols());
    }
  }
  return width;
}

int32_t ModelImpl::max_block_width() const {
  int32_t k = 1;
  for (const LayerPlan& layer : layers) {
    for (const SublayerOp& op : layer.ops) k = std::max(k, op.max_k());
  }
  return k;
}

void ModelImpl::prepare(int capacity, int threads) {
  assert(capacity >= 1 && threads >= 1);
  const size_t want = batch_stride(capacity);
  const bool training = ws_ == &train_ws_;
  if (ws_->stride != 0 && threads == ws_->threads && (want == 1) == (ws_->stride == 1) &&
      want <= ws_->stride &&
      (training && keeps_input_rows(ws_->stride)) == !ws_->input_rows.empty()) {
    return;
  }
  ws_->stride = want;
  ws_->capacity = static_cast<int>(want);
  if (threads != ws_->threads || !ws_->pool) {
    ws_->pool = std::make_unique<WorkerPool>(threads);
    ws_->threads = threads;
  }
  const size_t s = ws_->stride;
  ws_->input.assign(static_cast<size_t>(spec.input_dim) * s, 0.0f);
  ws_->rows_loaded = false;
  ws_->input_rows.assign(training && keeps_input_rows(s) ? input_rows_floats(spec.input_dim, s) : 0,
                         0.0f);
  ws_->hidden.assign(layers.size(), {});
  ws_->out.assign(layers.size(), {});
  for (size_t l = 0; l < layers.size(); ++l) {
    const LayerPlan& layer = layers[l];
    for (size_t i = 0; i + 1 < layer.ops.size(); ++i) {
      ws_->hidden[l].emplace_back(static_cast<size_t>(layer.ops[i].rows()) * s, 0.0f);
    }
    ws_->out[l].assign(static_cast<size_t>(layer.n_out) * s, 0.0f);
  }
  // Evaluation runs forward only: the loss pass needs the classes' rows,
  // and the kernels' scratch is read only by the batch-1 path.
  const size_t gw =
      training ? static_cast<size_t>(gradient_width()) : static_cast<size_t>(layers.back().n_out);
  ws_->grad_a.assign(gw * s, 0.0f);
  ws_->grad_b.assign(training ? gw * s : 0, 0.0f);
  const size_t scratch =
      training || s == 1 ? padded_width(max_block_width(), 16) * std::max<size_t>(s, 2) : 0;
  ws_->scratch.assign(static_cast<size_t>(ws_->threads), FloatBuffer(scratch, 0.0f));
  ws_->labels.assign(ws_->stride, 0);
  ws_->row_index.assign(ws_->stride, 0);
  ws_->loss_max.assign(ws_->stride, 0.0f);
  ws_->loss_sum.assign(ws_->stride, 0.0);
}

int64_t ModelImpl::workspace_bytes(int capacity, int threads) const {
  const auto s = static_cast<int64_t>(batch_stride(capacity));
  int64_t floats = int64_t{spec.input_dim} * s;
  if (keeps_input_rows(static_cast<size_t>(s))) {
    floats += static_cast<int64_t>(input_rows_floats(spec.input_dim, static_cast<size_t>(s)));
  }
  for (const LayerPlan& layer : layers) {
    for (size_t i = 0; i + 1 < layer.ops.size(); ++i) floats += int64_t{layer.ops[i].rows()} * s;
    floats += int64_t{layer.n_out} * s;
  }
  floats += 2 * int64_t{gradient_width()} * s +
            int64_t{threads} * static_cast<int64_t>(padded_width(max_block_width(), 16)) *
                std::max<int64_t>(s, 2);
  // Per lane: label and row index (int32), the loss pass's max (float) and
  // sum (double).
  return floats * static_cast<int64_t>(sizeof(float)) + s * (4 + 4 + 4 + 8);
}

int64_t ModelImpl::allocated_workspace_bytes() const {
  auto bytes = [](const auto& v) { return static_cast<int64_t>(v.size() * sizeof(v[0])); };
  int64_t total = bytes(ws_->input) + bytes(ws_->input_rows) + bytes(ws_->grad_a) +
                  bytes(ws_->grad_b) + bytes(ws_->labels) + bytes(ws_->row_index) +
                  bytes(ws_->loss_max) + bytes(ws_->loss_sum);
  for (const auto& layer : ws_->hidden) {
    for (const FloatBuffer& h : layer) total += bytes(h);
  }
  for (const FloatBuffer& o : ws_->out) total += bytes(o);
  for (const FloatBuffer& sc : ws_->scratch) total += bytes(sc);
  return total;
}

int64_t ModelImpl::index_bytes() const {
  int64_t bytes = 0;
  for (const LayerPlan& layer : layers) {
    for (const SublayerOp& op : layer.ops) bytes += op.index_bytes();
  }
  return bytes;
}

void ModelImpl::load_batch(const Dataset& data, std::span<const int64_t> indices) {
  copy_batch(data, indices);
  section_done(StepSection::kLoad);
}

void ModelImpl::prefetch_batch(const Dataset& data, std::span<const int64_t> indices) const {
  constexpr uintptr_t kLine = 64;
  const bool bytes = !data.pixels.empty();
  const size_t row_bytes = static_cast<size_t>(data.dim) * (bytes ? 1 : sizeof(float));
  const auto base = bytes ? reinterpret_cast<uintptr_t>(data.pixels.data())
                          : reinterpret_cast<uintptr_t>(data.features.data());
  for (int64_t i : indices) {
    const uintptr_t row = base + static_cast<uintptr_t>(i) * row_bytes;
    // Every line the row touches, from the one holding its first byte.
    for (uintptr_t p = row - row % kLine; p < row + row_bytes; p += kLine) {
      __builtin_prefetch(reinterpret_cast<const void*>(p));
    }
  }
}

bool ModelImpl::keeps_input_rows(size_t stride) const {
  return batch_major_input && stride > 1 && !layers.empty() && !layers[0].ops.empty() &&
         layers[0].ops[0].reads_input_rows();
}

template <typename F>
void ModelImpl::load_input_rows(F&& fill_row) {
  const size_t s = ws_->stride;
  const auto dim = static_cast<size_t>(spec.input_dim);
  float* rows = ws_->input_rows.data();
  float* input = ws_->input.data();
  const KernelTable& kt = kernels();
  parallel(static_cast<int64_t>(dim * s), [&](int part, int parts) {
    const auto [b0, b1] = tile_slice(s, 16, part, parts);
    for (size_t g = b0; g < b1; g += 16) {
      for (size_t b = g; b < g + 16; ++b) fill_row(b, rows + b * dim);
      kt.gather_transpose(16, static_cast<int>(dim), rows + g * dim, kIota16, dim, input + g, s);
    }
  });
  ws_->rows_loaded = true;
}

void ModelImpl::copy_batch(const Dataset& data, std::span<const int64_t> indices) {
  const int n = static_cast<int>(indices.size());
  assert(n >= 1 && n <= ws_->capacity && data.dim == spec.input_dim);
  ws_->n = n;
  const size_t s = ws_->stride;
  const int32_t dim = data.dim;
  for (int b = 0; b < n; ++b) ws_->labels[b] = data.labels[indices[b]];
  const KernelTable& kt = kernels();
  // Padding lanes repeat the first example (finite, and their gradient is 0).
  auto example = [&](size_t b) { return indices[b < static_cast<size_t>(n) ? b : 0]; };
  ws_->rows_loaded = false;
  if (!data.pixels.empty() && !ws_->input_rows.empty()) {
    // The bytes are converted anyway: into the batch-major copy, which the
    // first sublayer's weight gradient reads (3.3 us of clos-10's step at
    // batch 64 on AVX-512) and which is transposed into `input` a group of
    // examples at a time. Floats keep the transposing load below: a copy of
    // their rows from the data set costs more than it saves (docs/engine.md).
    load_input_rows([&](size_t b, float* row) {
      kt.pixels_to_floats(static_cast<size_t>(dim), data.pixels.data() + example(b) * dim, row);
    });
    return;
  }
  if (!data.pixels.empty()) {
    // Bytes converted as they are transposed, with the same values as the
    // float path below.
    if (s == 1) {
      kt.pixels_to_floats(static_cast<size_t>(dim), data.pixels.data() + example(0) * dim,
                          ws_->input.data());
      return;
    }
    // 16 examples x 64 features at a time: converted into a row-major tile
    // on the stack, then put in place by the transpose kernel, as the float
    // path does. Example by example, the strided stores took 59 us for a
    // batch of 64 (eight times the float path).
    constexpr int kGroup = 16, kChunk = 64;
    alignas(64) float tile[kGroup * kChunk];
    for (size_t b0 = 0; b0 < s; b0 += kGroup) {
      const uint8_t* rows[kGroup];
      for (int i = 0; i < kGroup; ++i) {
        rows[i] = data.pixels.data() + example(b0 + static_cast<size_t>(i)) * dim;
      }
      for (int32_t f0 = 0; f0 < dim; f0 += kChunk) {
        const int width = std::min<int32_t>(kChunk, dim - f0);
        for (int i = 0; i < kGroup; ++i) {
          kt.pixels_to_floats(static_cast<size_t>(width), rows[i] + f0, tile + i * kChunk);
        }
        kt.gather_transpose(kGroup, width, tile, kIota16, kChunk, ws_->input.data() + f0 * s + b0,
                            s);
      }
    }
    return;
  }
  if (s > 1 && data.size <= INT32_MAX) {
    // The batch's rows transposed into feature-major by the transpose kernel.
    int32_t* rows = ws_->row_index.data();
    for (size_t b = 0; b < s; ++b) rows[b] = static_cast<int32_t>(example(b));
    // Features split between the threads in whole 16-feature tiles.
    parallel(int64_t{dim} * static_cast<int64_t>(s), [&](int part, int parts) {
      const auto [f0, f1] = tile_slice(static_cast<size_t>(dim), 16, part, parts);
      if (f1 > f0) {
        kt.gather_transpose(static_cast<int>(s), static_cast<int>(f1 - f0),
                            data.features.data() + f0, rows, static_cast<size_t>(dim),
                            ws_->input.data() + f0 * s, s);
      }
    });
    return;
  }
  for (int b = 0; b < n; ++b) {
    const float* row = data.features.data() + indices[b] * dim;
    for (int32_t f = 0; f < dim; ++f) ws_->input[f * s + b] = row[f];
  }
}

void ModelImpl::update_range(const OptimizerStep& step, int64_t begin, int64_t count) {
  const OptimizerStep range =
      Optimizer::slice(step, static_cast<size_t>(begin), static_cast<size_t>(begin + count));
  const KernelTable& kt = kernels();
  parallel(count, [&](int part, int parts) {
    const auto [b, e] = tile_slice(range.n, 16, part, parts);
    if (e > b) kt.optimizer_step(Optimizer::slice(range, b, e));
  });
}

void ModelImpl::update(Optimizer& opt, std::span<float> w, std::span<const float> grad,
                       std::span<const float> anchor) {
  const OptimizerStep step = opt.plan_step(w, grad, anchor);
  update_range(step, 0, static_cast<int64_t>(step.n));
  section_done(StepSection::kUpdate);
}

void ModelImpl::backward_update(Optimizer& opt, std::span<float> w, std::span<float> grad,
                                std::span<const float> anchor) {
  // Batch 1 keeps the separate pass: its gradient is small and still in the
  // caches, and a dozen short updates cost more than they save (clos-10:
  // 6.87x -> 6.58x dense per sample when fused).
  if (!fuse_update || opt.needs_whole_gradient() || ws_->stride == 1) {
    backward(w.data(), grad.data());
    update(opt, w, grad, anchor);
    return;
  }
  // The plan reads no gradient without clipping: made before there is one.
  const OptimizerStep step = opt.plan_step(w, grad, anchor);
  backward_pass(w.data(), grad.data(), &step);
  section_done(StepSection::kUpdate);
}

void ModelImpl::load_rows(const float* features, const int32_t* labels, int n) {
  assert(n >= 1 && n <= ws_->capacity);
  ws_->n = n;
  const size_t s = ws_->stride;
  const int32_t dim = spec.input_dim;
  for (int b = 0; b < n; ++b) ws_->labels[b] = labels[b];
  if (!ws_->input_rows.empty()) {
    load_input_rows([&](size_t b, float* row) {
      const size_t example = b < static_cast<size_t>(n) ? b : 0;
      std::memcpy(row, features + example * dim, sizeof(float) * dim);
    });
  } else {
    ws_->rows_loaded = false;
    for (int b = 0; b < n; ++b) {
      for (int32_t f = 0; f < dim; ++f)
        ws_->input[f * s + b] = features[static_cast<size_t>(b) * dim + f];
    }
  }
  section_done(StepSection::kLoad);
}

const float* ModelImpl::sublayer_input(int layer, int sublayer) const {
  if (sublayer > 0) return ws_->hidden[layer][sublayer - 1].data();
  return layer == 0 ? ws_->input.data() : ws_->out[layer - 1].data();
}

float* ModelImpl::sublayer_output(int layer, int sublayer) {
  if (sublayer + 1 < static_cast<int>(layers[layer].ops.size())) {
    return ws_->hidden[layer][sublayer].data();
  }
  return ws_->out[layer].data();
}

double ModelImpl::forward(const float* w, bool for_backward, int64_t* correct, double loss_before) {
  const KernelTable& kt = kernels();
  const size_t s = ws_->stride;
  const bool b1 = s == 1;
  const int lanes = b1 ? 1 : static_cast<int>(round_up(static_cast<size_t>(ws_->n), kLaneAlign));
  for (int l = 0; l < static_cast<int>(layers.size()); ++l) {
    const LayerPlan& layer = layers[l];
    for (int i = 0; i < static_cast<int>(layer.ops.size()); ++i) {
      const SublayerOp& op = layer.ops[i];
      const float* x = sublayer_input(l, i);
      float* y = sublayer_output(l, i);
      const float* wi = w + layer.weight_offsets[i];
      if (b1) {
        op.forward_b1(kt, wi, x, y, ws_->scratch[0].data());
      } else {
        parallel(op.nnz() * lanes,
                 [&](int part, int parts) { op.forward(kt, wi, x, y, lanes, s, part, parts); });
      }
      section_done(StepSection::kForward, l, i);
    }
    // Bias and activation, fused, rows split between threads.
    float* y = ws_->out[l].data();
    const float* bias = w + layer.bias_offset;
    const int act = act_code(layer.activation);
    const int32_t rows = layer.n_out;
    auto bias_act = [&](int part, int parts) {
      const auto r0 = static_cast<int32_t>(int64_t{rows} * part / parts);
      const auto r1 = static_cast<int32_t>(int64_t{rows} * (part + 1) / parts);
      kt.bias_activation(r0, r1, lanes, y, s, bias, act);
    };
    if (b1) {
      bias_act(0, 1);
    } else {
      parallel(int64_t{rows} * lanes, bias_act);
    }
    section_done(StepSection::kBiasActivation, l);
  }

  // Softmax cross-entropy per example (a kernel, so that its loops over the
  // batch run with the CPU's vector width: this file is compiled for the
  // baseline instruction set).
  const double loss = kt.softmax_xent(layers.back().n_out, ws_->n, lanes, ws_->out.back().data(), s,
                                      ws_->labels.data(), ws_->grad_a.data(), ws_->loss_max.data(),
                                      ws_->loss_sum.data(), for_backward, correct, loss_before);
  section_done(StepSection::kLoss);
  return loss;
}

void ModelImpl::backward(const float* w, float* grad) {
  backward_pass(w, grad, nullptr);
}

void ModelImpl::backward_pass(const float* w, float* grad, const OptimizerStep* step) {
  const KernelTable& kt = kernels();
  const size_t s = ws_->stride;
  const bool b1 = s == 1;
  const int lanes = b1 ? 1 : static_cast<int>(round_up(static_cast<size_t>(ws_->n), kLaneAlign));
  const int n = ws_->n;
  float* g = ws_->grad_a.data();
  float* other = ws_->grad_b.data();
  for (int l = static_cast<int>(layers.size()) - 1; l >= 0; --l) {
    const LayerPlan& layer = layers[l];
    const float* a = ws_->out[l].data();
    const int act = act_code(layer.activation);
    float* gbias = grad + layer.bias_offset;
    const int32_t rows = layer.n_out;
    auto act_back = [&](int part, int parts) {
      const auto r0 = static_cast<int32_t>(int64_t{rows} * part / parts);
      const auto r1 = static_cast<int32_t>(int64_t{rows} * (part + 1) / parts);
      kt.activation_backward(r0, r1, n, lanes, g, a, s, gbias, act);
    };
    if (b1) {
      act_back(0, 1);
    } else {
      parallel(int64_t{rows} * lanes, act_back);
    }
    if (step != nullptr) update_range(*step, layer.bias_offset, rows);
    section_done(StepSection::kActivationBackward, l);
    for (int i = static_cast<int>(layer.ops.size()) - 1; i >= 0; --i) {
      const SublayerOp& op = layer.ops[i];
      const float* x = sublayer_input(l, i);
      const float* wi = w + layer.weight_offsets[i];
      float* dw = grad + layer.weight_offsets[i];
      const bool need_dx = l > 0 || i > 0;
      float* dx = need_dx ? other : nullptr;
      const float* gi = g;
      if (b1) {
        op.backward_b1(kt, wi, x, gi, dw, dx, ws_->scratch[0].data());
      } else {
        // Weight gradient and, when needed, input gradient: 1-2 x nnz x lanes.
        // The first sublayer reads the batch's rows when the load kept them.
        InputRows x_rows;
        if (l == 0 && i == 0 && ws_->rows_loaded) {
          x_rows = {ws_->input_rows.data(), static_cast<size_t>(spec.input_dim)};
        }
        parallel((dx != nullptr ? 2 : 1) * op.nnz() * lanes, [&](int part, int parts) {
          op.backward(kt, wi, gi, x, dw, dx, n, lanes, s, ws_->scratch[part].data(), part, parts,
                      x_rows);
        });
      }
      // Nothing reads these weights again in this pass.
      if (step != nullptr) update_range(*step, layer.weight_offsets[i], op.nnz());
      section_done(StepSection::kBackward, l, i);
      std::swap(g, other);
    }
  }
}

}  // namespace nf::engine
