#include "core/engine/xnn_dense.h"

#include <xnnpack.h>

#include <limits>
#include <mutex>
#include <string>

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
    const xnn_status s = xnn_setup_fully_connected_nc_f32(st.op, static_cast<size_t>(batch),
                                                          input, output, nullptr);
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

}  // namespace nf
