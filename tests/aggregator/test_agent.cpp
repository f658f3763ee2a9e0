#include "test_agent.h"

#include <algorithm>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <cmath>
#include <limits>

#include "transports/message_link.h"

namespace nf::aggregator::testing {

asio::awaitable<void> run_test_agent(std::unique_ptr<Connection> connection, std::string device_id,
                                     Behavior behavior,
                                     std::shared_ptr<const std::vector<float>> target,
                                     std::shared_ptr<AgentStats> stats, int max_tasks,
                                     EvalAnswer eval) {
  MessageLink link(std::move(connection));
  Hello hello;
  hello.device_id = device_id;
  hello.encodings = {Encoding{ValueType::kF32, false}};
  if (Status s = co_await link.send(hello); !s.is_ok()) {
    stats->error = s.to_string();
    co_return;
  }
  auto welcome = co_await link.receive(std::chrono::seconds(30));
  if (!welcome.is_ok() || !std::holds_alternative<Welcome>(*welcome)) {
    stats->error = welcome.is_ok() ? "expected welcome" : welcome.status().to_string();
    co_return;
  }
  stats->welcomed = true;
  std::vector<float> global;
  while (stats->updates_sent < max_tasks) {
    auto m = co_await link.receive(std::chrono::seconds(60));
    if (!m.is_ok()) co_return;
    if (auto* hb = std::get_if<Heartbeat>(&*m)) {
      (void)co_await link.send(*hb);
      continue;
    }
    if (auto* evaluate = std::get_if<EvaluateTask>(&*m)) {
      stats->evaluations += 1;
      if (behavior == Behavior::kDieOnEvaluate) {
        link.close();
        co_return;
      }
      if (behavior == Behavior::kSilentEvaluate) continue;
      global.assign(evaluate->global_values.count, 0.0f);
      if (!decode_values(evaluate->global_values, {}, global).is_ok()) co_return;
      double loss = 0;
      for (size_t i = 0; i < global.size(); ++i) {
        const float t = i < target->size() ? (*target)[i] : 0.0f;
        loss += (t - global[i]) * (t - global[i]);
      }
      EvaluateResult r;
      r.round = evaluate->round;
      r.task_id = evaluate->task_id;
      r.example_count = eval.examples;
      r.loss =
          behavior == Behavior::kNanEvaluate
              ? std::numeric_limits<float>::quiet_NaN()
              : static_cast<float>(loss / static_cast<double>(std::max<size_t>(1, global.size())));
      r.accuracy = eval.accuracy;
      if (Status s = co_await link.send(r); !s.is_ok()) co_return;
      continue;
    }
    auto* task = std::get_if<TrainTask>(&*m);
    if (task == nullptr) continue;
    stats->tasks += 1;
    if (behavior == Behavior::kDieOnTask) {
      link.close();
      co_return;
    }
    if (behavior == Behavior::kSlowFirstTask && stats->tasks == 1) {
      asio::steady_timer slow(co_await asio::this_coro::executor, kSlowTaskDelay);
      co_await slow.async_wait(asio::use_awaitable);
    }
    global.assign(task->global_values.count, 0.0f);
    if (!decode_values(task->global_values, {}, global).is_ok()) co_return;
    std::vector<float> values(global.size());
    double loss = 0;
    for (size_t i = 0; i < values.size(); ++i) {
      const float t = i < target->size() ? (*target)[i] : 0.0f;
      values[i] = global[i] + 0.5f * (t - global[i]);
      loss += (t - global[i]) * (t - global[i]);
    }
    if (behavior == Behavior::kNan)
      values[values.size() / 2] = std::numeric_limits<float>::quiet_NaN();
    if (behavior == Behavior::kWrongLength) values.pop_back();
    if (behavior == Behavior::kScaled) {
      for (float& v : values) v *= 100.0f;
    }
    Update u;
    u.round = task->round;
    u.task_id = task->task_id + (behavior == Behavior::kWrongTask ? 1000 : 0);
    u.example_count = 100;
    u.metrics.loss = static_cast<float>(loss);
    auto encoded = encode_values(values, {}, Encoding{ValueType::kF32, false});
    if (!encoded.is_ok()) co_return;
    u.values = std::move(encoded).value();
    if (Status s = co_await link.send(u); !s.is_ok()) co_return;
    stats->updates_sent += 1;
  }
}

}  // namespace nf::aggregator::testing
