#include "aggregator/model_setup.h"

#include <algorithm>
#include <numeric>

#include "core/data/idx_reader.h"
#include "core/engine/trainer.h"
#include "core/fabric/fabric_spec.h"
#include "core/fl/strategy_factory.h"
#include "core/util/file.h"

namespace nf::aggregator {

Result<ModelSpec> model_spec_from(const AggregatorConfig& c) {
  if (!c.model_spec.empty()) {
    std::string text = c.model_spec;
    if (text.front() == '@') {
      NF_ASSIGN_OR_RETURN(text, read_text_file(text.substr(1)));
      while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    }
    auto spec = parse_model_spec(text);
    if (!spec.is_ok()) return spec.status().with_context("model.spec");
    return spec;
  }
  auto kind = parse_fabric_kind(c.model_fabric);
  if (!kind.is_ok()) return kind.status().with_context("model.fabric");
  auto spec =
      standard_mlp_spec_for_fraction(*kind, c.model_budget, static_cast<uint64_t>(c.model_seed));
  if (!spec.is_ok()) return spec.status().with_context("model.fabric/model.budget");
  return spec;
}

Result<BuiltModel> build_model(const AggregatorConfig& c) {
  NF_ASSIGN_OR_RETURN(ModelSpec spec, model_spec_from(c));
  NF_ASSIGN_OR_RETURN(std::unique_ptr<Model> model, Model::create(spec));
  BuiltModel b;
  b.description.spec_text = format_model_spec(spec);
  b.description.identity = model->identity();
  const auto p = model->parameters();
  b.description.initial_values.assign(p.begin(), p.end());
  b.model = std::move(model);
  return b;
}

Result<std::unique_ptr<Strategy>> build_strategy(const AggregatorConfig& c) {
  StrategyOptions o;
  o.clients_per_round = static_cast<int32_t>(c.clients_per_round);
  o.over_selection = c.over_selection;
  o.min_fit_results = 1;  // the server applies min_completion itself
  o.local_epochs = static_cast<int32_t>(c.client_epochs);
  o.batch_size = static_cast<int32_t>(c.client_batch);
  o.learning_rate = static_cast<float>(c.client_lr);
  o.bounds.max_delta_norm = c.max_update_norm;
  o.bounds.max_delta_ratio = c.max_update_ratio;
  o.evaluate_every = c.federated_every;
  o.evaluate_clients_per_round = static_cast<int32_t>(c.federated_clients);
  o.evaluate_fraction = c.federated_fraction;
  auto s = make_strategy(c.strategy, o);
  if (!s.is_ok()) return s.status().with_context("strategy.spec");
  return s;
}

CentralizedEvaluator centralized_evaluator(std::shared_ptr<Model> model,
                                           std::shared_ptr<const Dataset> data, int64_t examples) {
  auto indices = std::make_shared<std::vector<int64_t>>(
      static_cast<size_t>(std::clamp<int64_t>(examples, 0, data->size)));
  std::iota(indices->begin(), indices->end(), int64_t{0});
  return [model, data, indices](int64_t, std::span<const float> global) -> Result<EvaluateSummary> {
    auto p = model->parameters();
    if (global.size() != p.size()) return invalid_argument("global size mismatch");
    std::copy(global.begin(), global.end(), p.begin());
    const EvalStats s = evaluate(*model, *data, *indices);
    EvaluateSummary summary;
    summary.loss = s.loss;
    summary.accuracy = s.accuracy;
    summary.num_examples = s.examples;
    summary.num_results = 1;
    return summary;
  };
}

Status attach_evaluator(const AggregatorConfig& c, std::shared_ptr<Model> model,
                        Strategy& strategy) {
  if (c.eval_every <= 0) return Status::ok();
  auto data = load_fashion_mnist(FashionMnistSplit::kTest, c.eval_data_dir);
  if (!data.is_ok()) return data.status().with_context("evaluation data");
  strategy.set_centralized_evaluator(centralized_evaluator(
      std::move(model), std::make_shared<Dataset>(std::move(data).value()), c.eval_examples));
  return Status::ok();
}

}  // namespace nf::aggregator
