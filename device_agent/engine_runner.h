// EngineTaskRunner: a session's TaskRunner backed by the training engine.
//
// ModelPool holds the models of one process, all built from the same spec
// text: one per thread that trains, so nf-sim's worker threads each train
// their own copy (their workspace) while thousands of idle virtual clients
// hold no model at all. A client is only its data: a borrowed Dataset, the
// indices of its shard and its seed.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "core/data/dataset.h"
#include "core/engine/model.h"
#include "device_agent/session.h"

namespace nf {

class ModelPool {
 public:
  // `train_threads`: engine threads inside one model's training step.
  explicit ModelPool(int train_threads = 1) : train_threads_(train_threads) {}

  // Parses and builds the model of `spec_text` (once per distinct text: later
  // calls return the cached identity). Thread-safe. Errors name the spec.
  Result<uint64_t> load(const std::string& spec_text);

  // The calling thread's model and scratch, built from the loaded spec on
  // first use (the thread that loaded reuses the model load built, so a
  // single-threaded agent holds one copy). Precondition: load() succeeded.
  struct Slot {
    std::unique_ptr<Model> model;
    // The task's global values when training needs them apart from the model
    // (FedProx anchor, delta reference); empty otherwise.
    std::vector<float> global;
  };
  Result<Slot*> slot_for_this_thread();

  int train_threads() const { return train_threads_; }
  // Dense-equivalent and actual parameter counts of the loaded model.
  int64_t parameter_count() const { return parameter_count_; }
  int64_t dense_equivalent_count() const { return dense_count_; }

 private:
  int train_threads_;
  std::mutex mutex_;
  std::string spec_text_;
  uint64_t identity_ = 0;
  int64_t parameter_count_ = 0;
  int64_t dense_count_ = 0;
  std::map<std::thread::id, std::unique_ptr<Slot>> slots_;
};

struct ClientData {
  const Dataset* data = nullptr;  // borrowed; outlives the runner
  std::vector<int64_t> indices;   // the client's examples; empty: all of `data`
  uint64_t seed = 0;              // shuffling seed; each round derives its own
  int64_t max_examples = 0;       // use at most this many per task (0: all)
};

class EngineTaskRunner final : public TaskRunner {
 public:
  EngineTaskRunner(ModelPool& pool, ClientData client) : pool_(pool), client_(std::move(client)) {}

  Result<uint64_t> load_model(const std::string& spec_text) override;
  // Frees task.global_values once they are decoded into the model.
  Result<Update> train(TrainTask task, Encoding encoding) override;
  Result<EvaluateResult> evaluate(EvaluateTask task) override;

  // With true, train() leaves f32 and f16 values to the codec
  // (Update::unencoded, borrowing this thread's model and the delta
  // reference), which encodes them straight into the frame: one
  // model-sized copy less while the Update is sent. Only for a driver that
  // sends the Update before this thread trains or evaluates again, as
  // nf-agent's InlineWorkExecutor does; nf-sim's worker threads train the
  // next client meanwhile. int8 is still encoded here, where a non-finite
  // value is a training error rather than a failed send. Default false.
  void set_unencoded_updates(bool on) { unencoded_updates_ = on; }
  // With false, training keeps no batch-major copy of each batch
  // (TrainConfig::batch_major_input): 100 kB less workspace at batch 32 for
  // the default model, for slower steps. nf-agent, whose memory is the
  // limit, turns it off. Default true.
  void set_batch_major_input(bool on) { batch_major_input_ = on; }

  const ClientData& client() const { return client_; }

 private:
  std::span<const int64_t> used_indices() const;

  ModelPool& pool_;
  ClientData client_;
  std::vector<int64_t> all_;  // 0..size-1 when the client uses the whole dataset
  bool unencoded_updates_ = false;
  bool batch_major_input_ = true;
};

// Maps the wire's optimizer names ("sgd", "momentum", "nesterov", "adam",
// "adamw") to the engine's.
Status apply_optimizer_name(const std::string& name, OptimizerKind* kind, float* momentum);

}  // namespace nf
