#include "core/engine/xnn_dense.h"
#include "core/engine/trainer.h"

#include <xnnpack.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <mutex>
#include <string>
#include <vector>

namespace nf {

struct XnnDense::State {
  xnn_operator_t op = nullptr;
  int64_t prepared_batch = -1;
  const float* prepared_in = nullptr;
  float* prepared_out = nullptr;
};

namespace {

Status xnn_init() {
  static std::once_flag once;
  static xnn_status status = xnn_status_success;
  std::call_once(once, [] { status = xnn_initialize(nullptr); });
  if (status != xnn_status_success) {
    return unavailable("XNNPACK failed to initialize (status " +
                       std::to_string(static_cast<int>(status)) + ")");
  }
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<XnnDense>> XnnDense::create(int32_t n_in, int32_t n_out,
                                                   const float* weights, const float* bias,
                                                   bool relu) {
  NF_RETURN_IF_ERROR(xnn_init());
  std::unique_ptr<XnnDense> dense(new XnnDense());
  dense->state_ = std::make_unique<State>();
  const float lo = relu ? 0.0f : -std::numeric_limits<float>::infinity();
  const float hi = std::numeric_limits<float>::infinity();
  const xnn_status s = xnn_create_fully_connected_nc_f32(
      static_cast<size_t>(n_in), static_cast<size_t>(n_out), static_cast<size_t>(n_in),
      static_cast<size_t>(n_out), weights, bias, lo, hi, 0, &dense->state_->op);
  if (s != xnn_status_success) {
    return internal_error("XNNPACK fully-connected " + std::to_string(n_in) + " -> " +
                          std::to_string(n_out) + " failed (status " +
                          std::to_string(static_cast<int>(s)) + ")");
  }
  return dense;
}

XnnDense::~XnnDense() {
  if (state_ && state_->op != nullptr) xnn_delete_operator(state_->op);
}

Status XnnDense::run(int64_t batch, const float* input, float* output) {
  State& st = *state_;
  if (batch != st.prepared_batch || input != st.prepared_in || output != st.prepared_out) {
    const xnn_status s =
        xnn_setup_fully_connected_nc_f32(st.op, static_cast<size_t>(batch), input, output, nullptr);
    if (s != xnn_status_success) {
      return internal_error("XNNPACK setup for batch " + std::to_string(batch) + " failed");
    }
    st.prepared_batch = batch;
    st.prepared_in = input;
    st.prepared_out = output;
  }
  if (xnn_run_operator(st.op, nullptr) != xnn_status_success) {
    return internal_error("XNNPACK run failed");
  }
  return Status::ok();
}

namespace {

bool xnnpack_can_run(const Model& model) {
  for (int l = 0; l < model.num_layers(); ++l) {
    const Cascade& c = model.cascade(l);
    if (c.depth() != 1 || c.nnz() != int64_t{c.n_in} * c.n_out) return false;
    if (model.spec().layers[l].activation == Activation::kTanh) return false;
  }
  return true;
}

// The dense model as a chain of XNNPACK operators on row-major batches.
Status run_xnnpack(const Model& model, const Dataset& data, std::span<const int64_t> indices,
                   int64_t total, double* loss, int64_t* correct) {
  constexpr int kBatch = kEvalBatch;  // as evaluate(), so that the two compare
  std::vector<std::unique_ptr<XnnDense>> ops;
  std::vector<std::vector<float>> acts;
  acts.emplace_back(static_cast<size_t>(kBatch) * model.input_dim());
  const float* w = model.parameters().data();
  for (int l = 0; l < model.num_layers(); ++l) {
    const Cascade& c = model.cascade(l);
    auto op =
        XnnDense::create(c.n_in, c.n_out, w + model.weight_offset(l, 0), w + model.bias_offset(l),
                         model.spec().layers[l].activation == Activation::kRelu);
    if (!op.is_ok()) return op.status();
    ops.push_back(std::move(op).value());
    acts.emplace_back(static_cast<size_t>(kBatch) * c.n_out);
  }
  const int32_t dim = data.dim;
  const int32_t classes = model.output_dim();
  for (int64_t b0 = 0; b0 < total; b0 += kBatch) {
    const int n = static_cast<int>(std::min<int64_t>(kBatch, total - b0));
    for (int i = 0; i < n; ++i) {
      const int64_t e = indices.empty() ? b0 + i : indices[b0 + i];
      float* row = acts[0].data() + static_cast<size_t>(i) * dim;
      if (data.pixels.empty()) {
        std::copy_n(data.features.data() + e * dim, dim, row);
      } else {
        for (int32_t k = 0; k < dim; ++k) row[k] = pixel_value(data.pixels[e * dim + k]);
      }
    }
    for (size_t l = 0; l < ops.size(); ++l) {
      NF_RETURN_IF_ERROR(ops[l]->run(n, acts[l].data(), acts[l + 1].data()));
    }
    for (int i = 0; i < n; ++i) {
      const int64_t e = indices.empty() ? b0 + i : indices[b0 + i];
      const float* z = acts.back().data() + static_cast<size_t>(i) * classes;
      const int32_t arg = static_cast<int32_t>(std::max_element(z, z + classes) - z);
      const float zmax = z[arg];
      double sum = 0.0;
      for (int32_t c = 0; c < classes; ++c) sum += std::exp(static_cast<double>(z[c] - zmax));
      *loss += std::log(sum) - static_cast<double>(z[data.labels[e]] - zmax);
      *correct += arg == data.labels[e] ? 1 : 0;
    }
  }
  return Status::ok();
}

}  // namespace

Result<EvalStats> evaluate_xnnpack(const Model& model, const Dataset& data,
                                   std::span<const int64_t> indices) {
  assert(data.dim == model.input_dim());
  if (!xnnpack_can_run(model)) {
    return failed_precondition(
        "XNNPACK evaluation needs every layer dense with a ReLU or linear "
        "activation; model '" +
        format_model_spec(model.spec()) + "' has another");
  }
  EvalStats stats;
  const int64_t total = indices.empty() ? data.size : static_cast<int64_t>(indices.size());
  stats.examples = total;
  if (total == 0) return stats;
  double loss = 0.0;
  int64_t correct = 0;
  NF_RETURN_IF_ERROR(run_xnnpack(model, data, indices, total, &loss, &correct));
  stats.loss = loss / static_cast<double>(total);
  stats.accuracy = static_cast<double>(correct) / static_cast<double>(total);
  return stats;
}

}  // namespace nf
