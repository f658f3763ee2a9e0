#include "core/fl/strategy.h"

#include <algorithm>
#include <cmath>

namespace nf {

Result<FitOutcome> Strategy::aggregate_fit(int64_t round, std::span<const float> global,
                                           std::span<const FitResult> results,
                                           std::span<const ClientFailure> failures) {
  begin_fit(round, global);
  for (const ClientFailure& failure : failures) add_failure(failure);
  // A rejected result is recorded as a failure by accept_fit; the batch form
  // reports it through the outcome rather than stopping.
  for (const FitResult& result : results) (void)accept_fit(result);
  return finish_fit();
}

int32_t EvaluateConfig::clients_to_sample(int64_t available) const {
  if (available <= 0) return 0;
  int64_t n = clients_per_round;
  if (fraction > 0) {
    n = std::max<int64_t>(
        n, static_cast<int64_t>(std::ceil(fraction * static_cast<double>(available) - 1e-9)));
  }
  return static_cast<int32_t>(std::clamp<int64_t>(n, 0, available));
}

Result<EvaluateSummary> Strategy::aggregate_evaluate(
    int64_t round, std::span<const ClientEvaluateResult> results,
    std::span<const ClientFailure> failures) const {
  EvaluateSummary summary;
  summary.num_failures = static_cast<int32_t>(failures.size());
  double loss_sum = 0.0;
  double accuracy_sum = 0.0;
  for (const ClientEvaluateResult& r : results) {
    // A result that cannot be weighted is counted as a failure, not averaged.
    if (r.num_examples <= 0 || !std::isfinite(r.loss) || !std::isfinite(r.accuracy)) {
      ++summary.num_failures;
      continue;
    }
    const double n = static_cast<double>(r.num_examples);
    loss_sum += n * r.loss;
    accuracy_sum += n * r.accuracy;
    summary.num_examples += r.num_examples;
    ++summary.num_results;
  }
  if (summary.num_results == 0) {
    return failed_precondition("round " + std::to_string(round) +
                               ": no usable evaluation result (" +
                               std::to_string(summary.num_failures) + " failures)");
  }
  summary.loss = loss_sum / static_cast<double>(summary.num_examples);
  summary.accuracy = accuracy_sum / static_cast<double>(summary.num_examples);
  return summary;
}

Result<EvaluateSummary> Strategy::evaluate(int64_t round, std::span<const float> global) const {
  if (!evaluator_) return failed_precondition("no centralized evaluator is set");
  return evaluator_(round, global);
}

}  // namespace nf
