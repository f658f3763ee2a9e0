// Strategies by name: "fedavg", "fedprox:mu=0.01", "fedavgm:momentum=0.9",
// "fedadam:lr=0.01", "fedyogi", "fedadagrad", "median", "trimmed_mean:beta=0.1",
// "krum:f=2", "multikrum:f=2,m=5"; every one also takes clip=<norm> (clip each
// update's delta to that L2 norm before combining) and server_lr where it
// applies. docs/strategies.md lists every parameter and its default.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/fl/server_optimizer.h"
#include "core/fl/strategy.h"
#include "core/util/status.h"

namespace nf {

enum class CombineRule { kMean, kMedian, kTrimmedMean, kKrum, kMultiKrum };

// A parsed strategy spec.
struct StrategyParams {
  std::string name;  // "fedavg", "fedadam", ...
  CombineRule combine = CombineRule::kMean;
  double trim_beta = 0.1;    // trimmed_mean
  int32_t krum_f = 1;        // krum, multikrum: tolerated Byzantine clients
  int32_t krum_m = 1;        // multikrum: updates averaged
  double clip_norm = 0.0;    // 0 = no clipping
  float proximal_mu = 0.0f;  // fedprox: sent to clients in FitConfig
  ServerOptimizerParams optimizer;

  // Canonical text with every parameter, e.g. "fedavgm:momentum=0.9,server_lr=1".
  std::string to_string() const;
};

// Parses a spec. Errors name the offending part: unknown strategy (listing the
// known ones), unknown key for that strategy (listing its keys), a value that
// is not a number or out of range.
Result<StrategyParams> parse_strategy_spec(std::string_view text);

std::unique_ptr<Strategy> make_strategy(const StrategyParams& params,
                                        const StrategyOptions& options);
Result<std::unique_ptr<Strategy>> make_strategy(std::string_view spec,
                                                const StrategyOptions& options);

}  // namespace nf
