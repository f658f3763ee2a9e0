// XnnDense: XNNPACK's fully-connected operator behind a project type.
//
// XNNPACK is the fastest tool we have for a dense forward pass (inference,
// evaluation of dense layers); bench/engine_bench measures it against the
// engine's own kernels. No XNNPACK type appears here.
//
// This file is the library nf::engine_xnnpack, apart from nf::core: only
// programs that use it link XNNPACK, pthreadpool and cpuinfo (nf-agent does
// not: their pages would count in its footprint, docs/benchmarks.md#agent).
//
// Layout is XNNPACK's: input [batch][n_in] row-major, weights [n_out][n_in]
// (the canonical CSR order of a dense mask), output [batch][n_out].
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "core/data/dataset.h"
#include "core/engine/model.h"
#include "core/engine/trainer.h"
#include "core/util/status.h"

namespace nf {

class XnnDense {
 public:
  // Packs `weights` and `bias` (copied; they may change afterwards without
  // effect). `relu` clamps the output at zero. Errors when XNNPACK cannot
  // initialize on this CPU.
  static Result<std::unique_ptr<XnnDense>> create(int32_t n_in, int32_t n_out, const float* weights,
                                                  const float* bias, bool relu);
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

// nf::evaluate (trainer.h) through XNNPACK: a model whose layers are all dense
// with ReLU or linear activations runs as a chain of XnnDense operators, in
// batches of 256 on the calling thread. The figures agree with nf::evaluate
// up to float rounding; nf::evaluate is the default because engine_bench
// measured the engine's forward pass at least as fast on x86-64 with AVX-512
// (docs/benchmarks.md). Errors: failed_precondition for a model it cannot run
// (a sparse cascade, a tanh layer), unavailable when XNNPACK cannot
// initialize. Preconditions (asserted) as nf::evaluate's.
Result<EvalStats> evaluate_xnnpack(const Model& model, const Dataset& data,
                                   std::span<const int64_t> indices = {});

}  // namespace nf
