// AgentState and its stores: what an agent remembers across restarts.
//
// The one rule it serves: never send an update for a (round, task) twice,
// even when the process dies at any instant. The session records "round R
// task T sent" durably *before* the Update leaves, so a crash between the
// record and the send loses that update (the aggregator counts a failure)
// but can never duplicate it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/util/status.h"

namespace nf {

struct AgentState {
  uint64_t model_identity = 0;        // identity of the model last welcomed with, 0 if none
  int64_t last_completed_round = -1;  // last round whose update was sent
  int64_t sent_round = -1;            // (sent_round, sent_task): the last update sent
  uint64_t sent_task = 0;
  int64_t updates_sent = 0;  // over the agent's life, for logs

  bool already_sent(int64_t round, uint64_t task) const {
    return round < sent_round || (round == sent_round && task == sent_task) ||
           round <= last_completed_round;
  }
};

// Where the state lives. Implementations are not thread-safe; one per agent.
class StateStore {
 public:
  virtual ~StateStore() = default;
  // A missing store yields the default state; a damaged one is an error.
  virtual Result<AgentState> load() = 0;
  // Durable when it returns ok (for the directory store: written atomically).
  virtual Status save(const AgentState& state) = 0;
};

// In memory: simulated clients, tests.
class MemoryStateStore final : public StateStore {
 public:
  Result<AgentState> load() override { return state_; }
  Status save(const AgentState& state) override {
    state_ = state;
    return Status::ok();
  }

 private:
  AgentState state_;
};

// `dir`/agent_state.toml, written with write_file_atomic; `dir` is created
// on first save when missing.
class DirStateStore final : public StateStore {
 public:
  explicit DirStateStore(std::string dir) : dir_(std::move(dir)) {}
  Result<AgentState> load() override;
  Status save(const AgentState& state) override;
  std::string path() const { return dir_ + "/agent_state.toml"; }

 private:
  std::string dir_;
};

std::unique_ptr<StateStore> make_state_store(const std::string& dir);  // memory when dir is ""

}  // namespace nf
