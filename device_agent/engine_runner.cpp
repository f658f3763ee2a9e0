#include "device_agent/engine_runner.h"

#include <chrono>
#include <numeric>

#include "core/engine/trainer.h"
#include "core/fl/update_encoding.h"
#include "core/util/rng.h"
#include "device_agent/footprint.h"

namespace nf {

namespace {

// Frees a task's values once the model holds them: the memory itself, not
// just the length, so that one copy lives while the model trains.
void release(EncodedValues* values) {
  std::vector<uint8_t>().swap(values->bytes);
}

}  // namespace

Result<uint64_t> ModelPool::load(const std::string& spec_text) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (identity_ != 0 && spec_text == spec_text_) return identity_;
  NF_ASSIGN_OR_RETURN(ModelSpec spec, parse_model_spec(spec_text));
  NF_ASSIGN_OR_RETURN(std::unique_ptr<Model> model, Model::create(spec));
  slots_.clear();
  spec_text_ = spec_text;
  identity_ = model->identity();
  parameter_count_ = model->parameter_count();
  dense_count_ = model->dense_equivalent_count();
  auto slot = std::make_unique<Slot>();
  slot->model = std::move(model);
  slots_[std::this_thread::get_id()] = std::move(slot);
  return identity_;
}

Result<ModelPool::Slot*> ModelPool::slot_for_this_thread() {
  std::string spec_text;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    assert(identity_ != 0 && "ModelPool::load must succeed first");
    auto it = slots_.find(std::this_thread::get_id());
    if (it != slots_.end()) return it->second.get();
    spec_text = spec_text_;
  }
  // Built outside the lock: mask derivation takes a while and other threads
  // keep training meanwhile.
  NF_ASSIGN_OR_RETURN(ModelSpec spec, parse_model_spec(spec_text));
  NF_ASSIGN_OR_RETURN(std::unique_ptr<Model> model, Model::create(spec));
  auto slot = std::make_unique<Slot>();
  slot->model = std::move(model);
  std::lock_guard<std::mutex> lock(mutex_);
  Slot* out = slot.get();
  slots_[std::this_thread::get_id()] = std::move(slot);
  return out;
}

Status apply_optimizer_name(const std::string& name, OptimizerKind* kind, float* momentum) {
  *momentum = 0.0f;
  if (name == "momentum") {
    *kind = OptimizerKind::kSgd;
    *momentum = 0.9f;
    return Status::ok();
  }
  NF_ASSIGN_OR_RETURN(*kind, parse_optimizer(name));
  if (*kind == OptimizerKind::kNesterov) *momentum = 0.9f;
  return Status::ok();
}

Result<uint64_t> EngineTaskRunner::load_model(const std::string& spec_text) {
  return pool_.load(spec_text);
}

std::span<const int64_t> EngineTaskRunner::used_indices() const {
  std::span<const int64_t> idx = client_.indices.empty()
                                     ? std::span<const int64_t>(all_)
                                     : std::span<const int64_t>(client_.indices);
  if (client_.max_examples > 0 && static_cast<int64_t>(idx.size()) > client_.max_examples) {
    idx = idx.first(static_cast<size_t>(client_.max_examples));
  }
  return idx;
}

Result<Update> EngineTaskRunner::train(TrainTask task, Encoding encoding) {
  NF_ASSIGN_OR_RETURN(ModelPool::Slot * slot, pool_.slot_for_this_thread());
  Model& model = *slot->model;
  if (client_.indices.empty() && static_cast<int64_t>(all_.size()) != client_.data->size) {
    all_.resize(static_cast<size_t>(client_.data->size));
    std::iota(all_.begin(), all_.end(), int64_t{0});
  }
  if (task.global_values.count != model.parameter_count()) {
    return invalid_argument("train task for round " + std::to_string(task.round) + " carries " +
                            std::to_string(task.global_values.count) + " values, the model has " +
                            std::to_string(model.parameter_count()));
  }
  // The global values are kept apart from the model only when something reads
  // them after training starts: FedProx's anchor or a delta's reference. For
  // plain FedAvg that saves one copy of the model (114 kB for the default one).
  const bool keep_global = task.hyper.prox_mu > 0.0f || encoding.delta;
  if (keep_global) {
    slot->global.resize(static_cast<size_t>(model.parameter_count()));
    NF_RETURN_IF_ERROR(decode_values(task.global_values, {}, slot->global));
    std::copy(slot->global.begin(), slot->global.end(), model.parameters().begin());
  } else {
    std::vector<float>().swap(slot->global);
    NF_RETURN_IF_ERROR(decode_values(task.global_values, {}, model.parameters()));
  }
  release(&task.global_values);

  TrainConfig config;
  config.epochs = static_cast<int>(task.hyper.epochs);
  config.batch_size = static_cast<int>(task.hyper.batch_size);
  config.learning_rate = task.hyper.learning_rate;
  config.prox_mu = task.hyper.prox_mu;
  NF_RETURN_IF_ERROR(
      apply_optimizer_name(task.hyper.optimizer, &config.optimizer, &config.momentum));
  // One shuffle stream per (client, round): the same on every thread and run.
  config.seed = mix64(client_.seed ^ mix64(task.round + 1));
  config.threads = pool_.train_threads();
  config.batch_major_input = batch_major_input_;
  const std::span<const int64_t> indices = used_indices();
  const auto started = std::chrono::steady_clock::now();
  NF_ASSIGN_OR_RETURN(TrainStats stats, nf::train(model, *client_.data, indices, config,
                                                  keep_global ? std::span<const float>(slot->global)
                                                              : std::span<const float>()));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  Update update;
  update.round = task.round;
  update.task_id = task.task_id;
  update.example_count = indices.size();
  const std::span<const float> reference =
      encoding.delta ? std::span<const float>(slot->global) : std::span<const float>();
  if (unencoded_updates_ && encoding.type != ValueType::kInt8) {
    update.values.encoding = encoding;
    update.values.count = static_cast<uint32_t>(model.parameter_count());
    update.unencoded = BorrowedValues{model.parameters(), reference};
  } else {
    NF_RETURN_IF_ERROR(encode_values(model.parameters(), reference, encoding, &update.values));
  }
  update.metrics.loss = static_cast<float>(stats.mean_loss);
  update.metrics.train_seconds = stats.seconds > 0 ? stats.seconds : seconds;
  update.metrics.peak_memory_bytes = static_cast<uint64_t>(peak_rss_bytes());
  return update;
}

Result<EvaluateResult> EngineTaskRunner::evaluate(EvaluateTask task) {
  NF_ASSIGN_OR_RETURN(ModelPool::Slot * slot, pool_.slot_for_this_thread());
  Model& model = *slot->model;
  if (task.global_values.count != model.parameter_count()) {
    return invalid_argument("evaluate task carries " + std::to_string(task.global_values.count) +
                            " values, the model has " + std::to_string(model.parameter_count()));
  }
  NF_RETURN_IF_ERROR(decode_values(task.global_values, {}, model.parameters()));
  release(&task.global_values);
  if (client_.indices.empty() && static_cast<int64_t>(all_.size()) != client_.data->size) {
    all_.resize(static_cast<size_t>(client_.data->size));
    std::iota(all_.begin(), all_.end(), int64_t{0});
  }
  const EvalStats stats = nf::evaluate(model, *client_.data, used_indices());
  EvaluateResult r;
  r.round = task.round;
  r.task_id = task.task_id;
  r.example_count = static_cast<uint64_t>(stats.examples);
  r.loss = static_cast<float>(stats.loss);
  r.accuracy = static_cast<float>(stats.accuracy);
  return r;
}

}  // namespace nf
