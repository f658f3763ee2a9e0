// XnnDense: XNNPACK's fully-connected operator behind a project type.
//
// XNNPACK is the fastest tool we have for a dense forward pass (inference,
// evaluation of dense layers); bench/engine_bench measures it against the
// engine's own kernels. No XNNPACK type appears here.
//
// Layout is XNNPACK's: input [batch][n_in] row-major, weights [n_out][n_in]
// (the canonical CSR order of a dense mask), output [batch][n_out].
#pragma once

#include <cstdint>
#include <memory>

#include "core/util/status.h"

namespace nf {

class XnnDense {
 public:
  // Packs `weights` and `bias` (copied; they may change afterwards without
  // effect). `relu` clamps the output at zero. Errors when XNNPACK cannot
  // initialize on this CPU.
  static Result<std::unique_ptr<XnnDense>> create(int32_t n_in, int32_t n_out,
                                                  const float* weights, const float* bias,
                                                  bool relu);
  ~XnnDense();
  XnnDense(const XnnDense&) = delete;
  XnnDense& operator=(const XnnDense&) = delete;

  // output = act(input W^T + b) for `batch` rows, on the calling thread.
  Status run(int64_t batch, const float* input, float* output);

 private:
  XnnDense() = default;
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace nf
