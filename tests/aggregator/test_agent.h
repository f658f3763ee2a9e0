// A minimal agent session for the aggregator's tests and load benchmark:
// hello, welcome, then for each TrainTask an Update that moves the global
// values halfway to `target` (a stand-in for training), and for each
// EvaluateTask an EvaluateResult (loss: mean squared distance of the global
// values to `target`; examples and accuracy as configured), with optional
// misbehaviour.
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/fl/messages.h"
#include "transports/connection.h"

namespace nf::aggregator::testing {

enum class Behavior {
  kGood,
  kNan,             // one value is NaN
  kWrongLength,     // one value too few
  kScaled,          // the update scaled by 100
  kDieOnTask,       // closes the connection when the first task arrives
  kWrongTask,       // answers with another task id
  kDieOnEvaluate,   // trains well, closes the connection when an EvaluateTask arrives
  kNanEvaluate,     // trains well, answers evaluation with a NaN loss
  kSilentEvaluate,  // trains well, never answers evaluation
  kSlowFirstTask,   // answers its first TrainTask only after kSlowTaskDelay, then trains well
};

inline constexpr std::chrono::milliseconds kSlowTaskDelay{1500};

// What a test agent answers to an EvaluateTask.
struct EvalAnswer {
  uint64_t examples = 100;
  float accuracy = 0.5f;
};

struct AgentStats {
  int tasks = 0;
  int updates_sent = 0;
  int evaluations = 0;  // EvaluateTasks received
  bool welcomed = false;
  std::string error;
};

// `target` is shared by every session of a process (it may be large).
// Runs one session on `connection` until the server closes it (or `max_tasks`
// tasks were answered). `device_id` goes into the hello.
asio::awaitable<void> run_test_agent(std::unique_ptr<Connection> connection, std::string device_id,
                                     Behavior behavior,
                                     std::shared_ptr<const std::vector<float>> target,
                                     std::shared_ptr<AgentStats> stats, int max_tasks = 1 << 30,
                                     EvalAnswer eval = {});

}  // namespace nf::aggregator::testing
