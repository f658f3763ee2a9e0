#include "core/engine/model_impl.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace nf::engine {

namespace {

constexpr size_t kLaneAlign = 16;

size_t round_up(size_t v, size_t a) {
  return (v + a - 1) / a * a;
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

// exp(x) for x <= 0 (a logit minus the largest one), within 2 ulp of
// std::exp down to x = -87 and about 1e-38 below (a softmax term that
// small changes nothing). Plain arithmetic and bit moves, so the loss pass's
// loop over the batch vectorizes instead of calling expf per element.
inline float exp_nonpositive(float x) {
  x = std::max(x, -87.0f);
  // n = round(x / ln 2) by the 1.5 * 2^23 trick (no float-to-int conversion).
  constexpr float kShift = 12582912.0f;
  const float t = x * 1.44269504088896341f + kShift;
  const float n = t - kShift;
  const float r = (x - n * 0.693359375f) - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = p * r * r + r + 1.0f;
  // 2^n from n's bits in t (n in [-126, 0]); unsigned, so any input is defined.
  const uint32_t e = (std::bit_cast<uint32_t>(t) - 0x4B400000u + 127u) << 23;
  return y * std::bit_cast<float>(e);
}

}  // namespace

size_t batch_stride(int capacity) {
  return capacity <= 1 ? 1 : round_up(static_cast<size_t>(capacity), kLaneAlign);
}

template <typename F>
void ModelImpl::parallel(int64_t work, F&& fn) {
  if (work < min_parallel_work) {
    fn(0, 1);
    return;
  }
  ws_->pool->run(fn);
}

void ModelImpl::prepare(int capacity, int threads) {
  assert(capacity >= 1 && threads >= 1);
  const size_t want = batch_stride(capacity);
  if (ws_->stride != 0 && threads == ws_->threads && (want == 1) == (ws_->stride == 1) &&
      want <= ws_->stride) {
    return;
  }
  ws_->stride = want;
  ws_->capacity = static_cast<int>(want);
  if (threads != ws_->threads || !ws_->pool) {
    ws_->pool = std::make_unique<WorkerPool>(threads);
    ws_->threads = threads;
  }
  const size_t s = ws_->stride;
  int32_t max_width = spec.input_dim;
  int32_t max_k = 1;
  ws_->input.assign(static_cast<size_t>(spec.input_dim) * s, 0.0f);
  ws_->hidden.assign(layers.size(), {});
  ws_->out.assign(layers.size(), {});
  for (size_t l = 0; l < layers.size(); ++l) {
    const LayerPlan& layer = layers[l];
    for (size_t i = 0; i + 1 < layer.ops.size(); ++i) {
      ws_->hidden[l].emplace_back(static_cast<size_t>(layer.ops[i].rows()) * s, 0.0f);
    }
    ws_->out[l].assign(static_cast<size_t>(layer.n_out) * s, 0.0f);
    for (const SublayerOp& op : layer.ops) {
      max_width = std::max({max_width, op.rows(), op.cols()});
      max_k = std::max(max_k, op.max_k());
    }
  }
  ws_->grad_a.assign(static_cast<size_t>(max_width) * s, 0.0f);
  ws_->grad_b.assign(static_cast<size_t>(max_width) * s, 0.0f);
  const size_t scratch = padded_width(max_k, 16) * std::max<size_t>(s, 2);
  ws_->scratch.assign(static_cast<size_t>(ws_->threads), FloatBuffer(scratch, 0.0f));
  ws_->labels.assign(ws_->stride, 0);
  ws_->row_index.assign(ws_->stride, 0);
  ws_->loss_max.assign(ws_->stride, 0.0f);
  ws_->loss_sum.assign(ws_->stride, 0.0);
}

int64_t ModelImpl::workspace_bytes(int capacity, int threads) const {
  const auto s = static_cast<int64_t>(batch_stride(capacity));
  int64_t floats = int64_t{spec.input_dim} * s;
  int64_t width = spec.input_dim, k = 1;
  for (const LayerPlan& layer : layers) {
    for (size_t i = 0; i + 1 < layer.ops.size(); ++i) floats += int64_t{layer.ops[i].rows()} * s;
    floats += int64_t{layer.n_out} * s;
    for (const SublayerOp& op : layer.ops) {
      width = std::max<int64_t>({width, op.rows(), op.cols()});
      k = std::max<int64_t>(k, op.max_k());
    }
  }
  floats += 2 * width * s + int64_t{threads} *
                                static_cast<int64_t>(padded_width(static_cast<int>(k), 16)) *
                                std::max<int64_t>(s, 2);
  // Labels, and the loss pass's per-example max (float) and sum (double).
  return floats * static_cast<int64_t>(sizeof(float)) + int64_t{capacity} * 4 + s * (4 + 8);
}

int64_t ModelImpl::index_bytes() const {
  int64_t bytes = 0;
  for (const LayerPlan& layer : layers) {
    for (const SublayerOp& op : layer.ops) bytes += op.index_bytes();
  }
  return bytes;
}

void ModelImpl::load_batch(const Dataset& data, std::span<const int64_t> indices) {
  const int n = static_cast<int>(indices.size());
  assert(n >= 1 && n <= ws_->capacity && data.dim == spec.input_dim);
  ws_->n = n;
  const size_t s = ws_->stride;
  const int32_t dim = data.dim;
  for (int b = 0; b < n; ++b) ws_->labels[b] = data.labels[indices[b]];
  if (!data.pixels.empty()) {
    // Bytes converted as they are transposed; padding lanes repeat the first
    // example, as the float path below does, so both give the same results.
    const size_t lanes = s > 1 ? s : 1;
    for (size_t b = 0; b < lanes; ++b) {
      const uint8_t* row =
          data.pixels.data() + indices[b < static_cast<size_t>(n) ? b : 0] * int64_t{dim};
      for (int32_t f = 0; f < dim; ++f) ws_->input[f * s + b] = pixel_value(row[f]);
    }
    return;
  }
  if (s > 1 && data.size <= INT32_MAX) {
    // The batch's rows transposed into feature-major by the transpose kernel;
    // padding lanes repeat the first example (finite, and their gradient is 0).
    int32_t* rows = ws_->row_index.data();
    for (size_t b = 0; b < s; ++b) {
      rows[b] = static_cast<int32_t>(indices[b < static_cast<size_t>(n) ? b : 0]);
    }
    kernels().gather_transpose(static_cast<int>(s), dim, data.features.data(), rows,
                               static_cast<size_t>(dim), ws_->input.data(), s);
    return;
  }
  for (int b = 0; b < n; ++b) {
    const float* row = data.features.data() + indices[b] * dim;
    for (int32_t f = 0; f < dim; ++f) ws_->input[f * s + b] = row[f];
  }
}

void ModelImpl::load_rows(const float* features, const int32_t* labels, int n) {
  assert(n >= 1 && n <= ws_->capacity);
  ws_->n = n;
  const size_t s = ws_->stride;
  const int32_t dim = spec.input_dim;
  for (int b = 0; b < n; ++b) {
    for (int32_t f = 0; f < dim; ++f)
      ws_->input[f * s + b] = features[static_cast<size_t>(b) * dim + f];
    ws_->labels[b] = labels[b];
  }
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

double ModelImpl::forward(const float* w, bool for_backward, int64_t* correct) {
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
  }

  // Softmax cross-entropy per example. Each pass runs over the batch in its
  // inner loop, along the feature-major rows, so that the max and the sums
  // vectorize and no pass waits on one example's chain of additions (one
  // example at a time, this was about 4% of a clos-10 step at batch 64).
  // exp in float (as exact as the float logits), sums in double.
  const float* z = ws_->out.back().data();
  const int32_t classes = layers.back().n_out;
  const int n = ws_->n;
  float* e = ws_->grad_a.data();  // exp(z - max), then the loss gradient
  float* zmax = ws_->loss_max.data();
  double* sum = ws_->loss_sum.data();
  const int32_t* labels = ws_->labels.data();
  for (int b = 0; b < n; ++b) zmax[b] = z[b];
  for (int32_t c = 1; c < classes; ++c) {
    const float* zc = z + c * s;
    for (int b = 0; b < n; ++b) zmax[b] = zc[b] > zmax[b] ? zc[b] : zmax[b];
  }
  for (int b = 0; b < n; ++b) sum[b] = 0.0;
  for (int32_t c = 0; c < classes; ++c) {
    const float* zc = z + c * s;
    float* ec = e + c * s;
    for (int b = 0; b < n; ++b) ec[b] = exp_nonpositive(zc[b] - zmax[b]);
    for (int b = 0; b < n; ++b) sum[b] += ec[b];
  }
  // The prediction: the first class that reaches the max.
  int64_t right = 0;
  for (int b = 0; b < n; ++b) {
    int32_t arg = 0;
    for (int32_t c = classes - 1; c > 0; --c) arg = z[c * s + b] == zmax[b] ? c : arg;
    right += arg == labels[b] ? 1 : 0;
  }
  // sum log(sum_b) as the log of products: each sum is in [1, classes], so
  // a product of up to 16 stays far inside double's range (one log per 16
  // examples instead of one per example).
  double loss = 0.0;
  for (int b0 = 0; b0 < n; b0 += 16) {
    double prod = 1.0;
    for (int b = b0; b < n && b < b0 + 16; ++b) {
      prod *= sum[b];
      loss -= static_cast<double>(z[labels[b] * s + b] - zmax[b]);
    }
    loss += std::log(prod);
  }
  if (for_backward) {
    const float inv_n = 1.0f / static_cast<float>(n);
    for (int b = 0; b < n; ++b) sum[b] = 1.0 / sum[b];
    // The label's entries first (into zmax, no longer needed), so that the
    // loop over every class has no branch and vectorizes.
    for (int b = 0; b < n; ++b) {
      const double p = e[labels[b] * s + b] * sum[b];
      zmax[b] = static_cast<float>(p - 1.0) * inv_n;
    }
    for (int32_t c = 0; c < classes; ++c) {
      float* ec = e + c * s;
      for (int b = 0; b < n; ++b) ec[b] = static_cast<float>(ec[b] * sum[b]) * inv_n;
      for (int b = n; b < lanes; ++b) ec[b] = 0.0f;
    }
    for (int b = 0; b < n; ++b) e[labels[b] * s + b] = zmax[b];
  }
  if (correct != nullptr) *correct += right;
  return loss;
}

void ModelImpl::backward(const float* w, float* grad) {
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
        parallel((dx != nullptr ? 2 : 1) * op.nnz() * lanes, [&](int part, int parts) {
          op.backward(kt, wi, gi, x, dw, dx, n, lanes, s, ws_->scratch[part].data(), part, parts);
        });
      }
      std::swap(g, other);
    }
  }
}

}  // namespace nf::engine
