#include "aggregator/server.h"

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <cmath>
#include <deque>
#include <map>
#include <set>
#include <sstream>

#include "aggregator/checkpoint.h"
#include "aggregator/registry.h"
#include "core/fl/client_sampling.h"
#include "core/util/file.h"
#include "core/util/hash.h"
#include "core/util/rng.h"
#include "transports/message_link.h"

namespace nf::aggregator {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kTuple = asio::experimental::as_tuple(asio::use_awaitable);

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// A device identity is shown on the live page and written to logs: keep it printable.
Status check_identity(const std::string& id) {
  if (id.empty() || id.size() > 128) {
    return invalid_argument("device identity of " + std::to_string(id.size()) +
                            " bytes (must be 1..128)");
  }
  for (unsigned char c : id) {
    if (c < 0x21 || c > 0x7e) return invalid_argument("device identity has a non-printable byte");
  }
  return Status::ok();
}

struct Session {
  explicit Session(std::unique_ptr<Connection> c)
      : executor(c->executor()), link(std::move(c)), wake(executor) {}
  asio::any_io_executor executor;
  MessageLink link;
  asio::steady_timer wake;  // wakes the writer when the outbox fills
  std::string identity;
  uint64_t id = 0;
  std::deque<std::shared_ptr<const Message>> outbox;
  bool closed = false;
  uint64_t counted_in = 0;
  uint64_t counted_out = 0;
  uint64_t heartbeat_sequence = 0;
  // The task (train or evaluate) last sent and not yet answered; 0: idle. An
  // agent works through its tasks one at a time, so federated evaluation asks
  // idle devices only (a straggler still training would answer late).
  uint64_t pending_task = 0;
};

struct Inbound {
  std::string identity;
  Update update;
};

struct Assignment {
  bool answered = false;
  bool lost = false;  // its session dropped; it may reconnect and resume
};

struct RoundState {
  int64_t round = 0;
  uint64_t task_id = 0;
  std::shared_ptr<const Message> task;
  std::map<std::string, Assignment> assigned;
  std::deque<Inbound> inbox;
};

// Federated evaluation of one round's new global model.
struct EvalState {
  int64_t round = 0;
  uint64_t task_id = 0;
  std::shared_ptr<const Message> task;
  std::map<std::string, Assignment> assigned;
  std::vector<ClientEvaluateResult> results;
  std::vector<ClientFailure> failures;  // rejected results, as they arrive
};

enum class AttemptResult { kCompleted, kShort, kAbandoned };

}  // namespace

ServerOptions server_options_from(const AggregatorConfig& c) {
  using std::chrono::milliseconds;
  auto ms = [](double seconds) { return milliseconds(static_cast<int64_t>(seconds * 1000)); };
  ServerOptions o;
  o.rounds = c.rounds;
  o.clients_per_round = static_cast<int32_t>(c.clients_per_round);
  o.min_clients = static_cast<int32_t>(c.min_clients);
  o.over_selection = c.over_selection;
  o.min_completion = c.min_completion;
  o.max_round_retries = static_cast<int32_t>(c.max_round_retries);
  o.round_deadline = ms(c.round_deadline_seconds);
  o.wait_for_clients = ms(c.wait_for_clients_seconds);
  o.heartbeat = ms(c.heartbeat_seconds);
  o.seed = static_cast<uint64_t>(c.seed);
  o.hyper.epochs = static_cast<uint32_t>(c.client_epochs);
  o.hyper.batch_size = static_cast<uint32_t>(c.client_batch);
  o.hyper.learning_rate = static_cast<float>(c.client_lr);
  o.hyper.optimizer = c.client_optimizer;
  if (auto encoding = parse_encoding(c.client_encoding); encoding.is_ok())
    o.encodings = {*encoding};
  o.ordered_aggregation = c.ordered_aggregation;
  o.identity = c.insecure ? IdentitySource::kHello : IdentitySource::kConnection;
  o.max_connections = static_cast<size_t>(c.max_connections);
  o.eval_every = c.eval_every;
  o.checkpoint_dir = c.checkpoint_dir;
  o.checkpoints_kept = static_cast<int>(c.checkpoints_kept);
  o.metrics_file = c.metrics_file.empty() ? c.checkpoint_dir + "/metrics.jsonl" : c.metrics_file;
  o.strategy_spec = c.strategy;
  return o;
}

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(asio::any_io_executor e) : executor(e), round_wake(e) {}

  asio::any_io_executor executor;
  ServerOptions opt;
  ModelDescription model;
  std::unique_ptr<Strategy> strategy;
  WorkRunner work;
  std::vector<float> global;
  int64_t completed = 0;
  std::vector<RoundSummary> history;
  DeviceRegistry registry;
  ServerCounters counters;
  ServerSummary summary;
  MetricsLog metrics_log;
  std::function<void(const RoundMetrics&)> on_round;
  std::function<void(const std::string&)> log;
  std::vector<std::unique_ptr<Listener>> listeners;
  std::map<std::string, std::shared_ptr<Session>> sessions;  // the current one per identity
  std::set<std::shared_ptr<Session>> open_sessions;
  std::unique_ptr<RoundState> current;
  std::unique_ptr<EvalState> evaluating;
  asio::steady_timer round_wake;
  bool stopping = false;
  std::string state = "starting";
  // Task ids differ across restarts too: an agent that recorded "round R task T
  // sent" before the aggregator died must not see the same (R, T) again.
  uint64_t next_task_id = static_cast<uint64_t>(unix_now() * 1e6);
  std::vector<float> scratch;  // one decoded update at a time

  void say(const std::string& line) {
    if (log) log(line);
  }

  // Runs fn() through the WorkRunner and resumes the awaiting coroutine on the
  // network executor with its result. Not a coroutine itself (and callers pass
  // a named std::function): GCC 12 mishandles lambda temporaries inside co_await.
  template <typename T>
  struct OffloadInitiation {
    std::shared_ptr<Impl> self;
    std::function<T()> fn;
    template <typename Handler>
    void operator()(Handler&& handler) {
      auto h = std::make_shared<std::decay_t<Handler>>(std::forward<Handler>(handler));
      auto job_self = self;
      auto job_fn = std::move(fn);
      self->work([job_self, h, job_fn]() {
        auto result = std::make_shared<T>(job_fn());
        asio::post(job_self->executor, [h, result]() { (*h)(std::move(*result)); });
      });
    }
  };
  template <typename T>
  asio::awaitable<T> offload(std::function<T()> fn) {
    return asio::async_initiate<const asio::use_awaitable_t<>&, void(T)>(
        OffloadInitiation<T>{shared_from_this(), std::move(fn)}, asio::use_awaitable);
  }

  void account(Session& s) {
    counters.bytes_in += s.link.bytes_received() - s.counted_in;
    counters.bytes_out += s.link.bytes_sent() - s.counted_out;
    s.counted_in = s.link.bytes_received();
    s.counted_out = s.link.bytes_sent();
  }

  void enqueue(const std::shared_ptr<Session>& s, std::shared_ptr<const Message> m) {
    if (s->closed) return;
    s->outbox.push_back(std::move(m));
    s->wake.cancel();
  }

  void close_session(const std::shared_ptr<Session>& s) {
    s->closed = true;
    s->link.close();
    s->wake.cancel();
  }

  bool has_outstanding_task(const std::string& identity) const {
    if (current) {
      auto it = current->assigned.find(identity);
      if (it != current->assigned.end() && !it->second.answered) return true;
    }
    if (evaluating) {
      auto it = evaluating->assigned.find(identity);
      if (it != evaluating->assigned.end() && !it->second.answered) return true;
    }
    return false;
  }

  // A device whose session dropped with a task unanswered: the round (or the
  // evaluation) may end early if it cannot complete any more; the device may
  // still reconnect and resume.
  void mark_lost(const std::string& identity) {
    for (auto* assigned :
         {current ? &current->assigned : nullptr, evaluating ? &evaluating->assigned : nullptr}) {
      if (assigned == nullptr) continue;
      auto it = assigned->find(identity);
      if (it != assigned->end() && !it->second.answered) {
        it->second.lost = true;
        round_wake.cancel();
      }
    }
  }

  void send_task(const std::shared_ptr<Session>& s, const std::shared_ptr<const Message>& task,
                 uint64_t task_id) {
    s->pending_task = task_id;
    enqueue(s, task);
  }

  // ---- sessions ----

  asio::awaitable<void> writer_loop(std::shared_ptr<Session> s) {
    while (!s->closed && s->link.is_open()) {
      if (s->outbox.empty()) {
        s->wake.expires_at(Clock::time_point::max());
        co_await s->wake.async_wait(kTuple);
        continue;
      }
      auto m = s->outbox.front();
      s->outbox.pop_front();
      const Status st = co_await s->link.send(*m);
      account(*s);
      if (!st.is_ok()) {
        say("device " + s->identity + ": send failed: " + st.to_string());
        close_session(s);
      }
    }
  }

  asio::awaitable<void> session_loop(std::shared_ptr<Session> s) {
    auto self = shared_from_this();
    open_sessions.insert(s);
    co_await run_session(s);
    close_session(s);
    account(*s);
    if (!s->identity.empty() && registry.is_current(s->identity, s->id)) {
      registry.disconnect(s->identity, s->id, unix_now());
      sessions.erase(s->identity);
      mark_lost(s->identity);
    }
    counters.connected = static_cast<int64_t>(registry.connected_count());
    open_sessions.erase(s);
  }

  asio::awaitable<void> run_session(const std::shared_ptr<Session>& s) {
    if (stopping) co_return;
    if (open_sessions.size() > opt.max_connections) {
      co_await s->link.fail(
          unavailable("aggregator full (" + std::to_string(opt.max_connections) + " connections)"));
      co_return;
    }
    auto first = co_await s->link.receive(opt.hello_timeout);
    account(*s);
    if (!first.is_ok()) co_return;
    const Hello* hello = std::get_if<Hello>(&*first);
    if (hello == nullptr) {
      co_await s->link.fail(
          failed_precondition(std::string("expected hello, got ") + message_name(*first)));
      co_return;
    }
    if (hello->protocol_version != kProtocolVersion) {
      co_await s->link.fail(
          failed_precondition("protocol version " + std::to_string(hello->protocol_version) +
                              " but the aggregator speaks " + std::to_string(kProtocolVersion)));
      co_return;
    }
    const std::string identity =
        opt.identity == IdentitySource::kConnection ? s->link.peer_identity() : hello->device_id;
    if (Status st = check_identity(identity); !st.is_ok()) {
      co_await s->link.fail(st);
      co_return;
    }
    const auto encoding = choose_encoding(opt.encodings, hello->encodings);
    if (!encoding) {
      std::string offered;
      for (const auto& e : hello->encodings) offered += " " + encoding_name(e);
      co_await s->link.fail(failed_precondition(
          "no common update encoding: the device offers" + (offered.empty() ? " none" : offered) +
          ", the aggregator accepts " + encoding_name(opt.encodings.front())));
      co_return;
    }
    if (stopping) co_return;

    // A reconnecting device replaces its old session, which may still look alive.
    if (auto it = sessions.find(identity); it != sessions.end()) {
      say("device " + identity + ": reconnected, closing its previous session");
      close_session(it->second);
    }
    s->identity = identity;
    s->id = registry.connect(identity, s->link.connection().peer_identity(), unix_now());
    sessions[identity] = s;
    counters.connections_total += 1;
    counters.connected = static_cast<int64_t>(registry.connected_count());

    Welcome welcome;
    welcome.model_spec = model.spec_text;
    welcome.model_hash = model.identity;
    welcome.encoding = *encoding;
    const Status sent = co_await s->link.send(welcome);
    account(*s);
    if (!sent.is_ok()) co_return;
    asio::co_spawn(executor, writer_loop(s), asio::detached);

    // Resume: a device that lost its session mid-round gets its task again; its
    // update, whichever session carries it, is counted once (Assignment::answered).
    // A round that started while this session was sending its Welcome has
    // already queued the task here: it must not be sent twice (an agent that
    // closes after its update would leave the second unread, and the reset
    // that closing then sends can destroy the update in flight).
    if (current && s->pending_task != current->task_id) {
      auto it = current->assigned.find(identity);
      if (it != current->assigned.end() && !it->second.answered) {
        it->second.lost = false;
        send_task(s, current->task, current->task_id);
        say("device " + identity + ": resumes round " + std::to_string(current->round));
      }
    }
    if (evaluating && s->pending_task != evaluating->task_id) {
      auto it = evaluating->assigned.find(identity);
      if (it != evaluating->assigned.end() && !it->second.answered) {
        it->second.lost = false;
        send_task(s, evaluating->task, evaluating->task_id);
        say("device " + identity + ": resumes the evaluation of round " +
            std::to_string(evaluating->round));
      }
    }
    round_wake.cancel();  // a waiting round may now have enough clients

    int silent = 0;
    while (!s->closed) {
      auto r = co_await s->link.receive(opt.heartbeat);
      account(*s);
      if (!r.is_ok()) {
        if (r.status().code() == StatusCode::kDeadlineExceeded && s->link.is_open()) {
          // Silence while training is normal; silence when idle, three times, is a dead peer.
          if (++silent >= 3 && !has_outstanding_task(identity)) {
            say("device " + identity + ": no heartbeat, closing");
            co_return;
          }
          Heartbeat hb;
          hb.sequence = ++s->heartbeat_sequence;
          hb.unix_ms = static_cast<uint64_t>(unix_now() * 1000);
          enqueue(s, std::make_shared<const Message>(hb));
          continue;
        }
        co_return;
      }
      silent = 0;
      registry.seen(identity, unix_now());
      Message& m = *r;
      if (auto* update = std::get_if<Update>(&m)) {
        if (update->task_id == s->pending_task) s->pending_task = 0;
        on_update(identity, std::move(*update));
      } else if (auto* result = std::get_if<EvaluateResult>(&m)) {
        if (result->task_id == s->pending_task) s->pending_task = 0;
        on_evaluate_result(identity, *result);
      } else if (std::holds_alternative<Heartbeat>(m)) {
        // Liveness only.
      } else if (auto* error = std::get_if<ErrorMessage>(&m)) {
        say("device " + identity + ": " + error->to_status().to_string());
        co_return;
      } else {
        co_await s->link.fail(
            failed_precondition(std::string("unexpected ") + message_name(m) + " from a device"));
        co_return;
      }
    }
  }

  void on_update(const std::string& identity, Update update) {
    if (!current || (update.round != static_cast<uint64_t>(current->round) &&
                     update.task_id != current->task_id)) {
      say("device " + identity + ": late update for round " + std::to_string(update.round) +
          " ignored");
      return;
    }
    auto it = current->assigned.find(identity);
    if (it == current->assigned.end() || it->second.answered) {
      say("device " + identity + ": update not asked for (or already counted) ignored");
      return;
    }
    current->inbox.push_back({identity, std::move(update)});
    round_wake.cancel();
  }

  void on_evaluate_result(const std::string& identity, const EvaluateResult& r) {
    if (!evaluating) {
      say("device " + identity + ": late evaluation result for round " + std::to_string(r.round) +
          " ignored");
      return;
    }
    auto it = evaluating->assigned.find(identity);
    if (it == evaluating->assigned.end() || it->second.answered) {
      say("device " + identity + ": evaluation result not asked for (or already counted) ignored");
      return;
    }
    it->second.answered = true;
    round_wake.cancel();
    std::string why;
    if (r.round != static_cast<uint64_t>(evaluating->round) || r.task_id != evaluating->task_id) {
      why = "round " + std::to_string(r.round) + " task " + std::to_string(r.task_id) +
            ", expected round " + std::to_string(evaluating->round) + " task " +
            std::to_string(evaluating->task_id);
    } else if (r.example_count == 0) {
      why = "example count 0";
    } else if (!std::isfinite(r.loss) || r.loss < 0) {
      why = "loss " + fmt("%g", r.loss);
    } else if (!std::isfinite(r.accuracy) || r.accuracy < 0 || r.accuracy > 1) {
      why = "accuracy " + fmt("%g", r.accuracy) + " outside [0, 1]";
    }
    if (!why.empty()) {
      evaluating->failures.push_back({identity, "rejected: " + why});
      say("round " + std::to_string(evaluating->round) + ": evaluation result of " + identity +
          " rejected: " + why);
      return;
    }
    evaluating->results.push_back({identity, static_cast<int64_t>(r.example_count),
                                   static_cast<double>(r.loss), static_cast<double>(r.accuracy)});
  }

  asio::awaitable<void> accept_loop(Listener* listener) {
    auto self = shared_from_this();
    while (!stopping) {
      auto r = co_await listener->accept(std::chrono::milliseconds(1000));
      if (!r.is_ok()) {
        if (r.status().code() == StatusCode::kUnavailable) co_return;
        continue;  // a timeout, or a failed handshake that must not stop the others
      }
      start_session(std::move(r).value());
    }
  }

  void start_session(std::unique_ptr<Connection> connection) {
    auto s = std::make_shared<Session>(std::move(connection));
    asio::co_spawn(executor, session_loop(s), asio::detached);
  }

  // ---- rounds ----

  asio::awaitable<void> sleep_or_wake(Clock::time_point until) {
    round_wake.expires_at(until);
    co_await round_wake.async_wait(kTuple);
  }

  void record_failure(RoundMetrics& m, const std::string& id, const std::string& reason) {
    m.failures.push_back({id, reason});
    registry.record_failure(id, reason);
    strategy->add_failure({id, reason});
    counters.client_failures += 1;
  }

  // Decodes one update and folds it into the strategy, off the network thread.
  asio::awaitable<Status> fold(const std::string& id, Update update) {
    auto u = std::make_shared<Update>(std::move(update));
    std::function<Status()> job = [this, id, u]() -> Status {
      scratch.resize(global.size());
      if (u->values.count != global.size()) {
        return invalid_argument("length " + std::to_string(u->values.count) +
                                " differs from the model's " + std::to_string(global.size()));
      }
      NF_RETURN_IF_ERROR(decode_values(u->values, global, scratch));
      FitResult r;
      r.client_id = id;
      r.num_examples = static_cast<int64_t>(u->example_count);
      r.values = scratch;
      r.is_delta = false;
      return strategy->accept_fit(r);
    };
    Status st = co_await offload(std::move(job));
    co_return st;
  }

  bool is_idle(const std::string& id) const {
    auto it = sessions.find(id);
    return it != sessions.end() && !it->second->closed && it->second->pending_task == 0;
  }

  // Samples `count` devices among the idle ones; only when fewer are idle, the
  // rest among devices still busy with an earlier task (a straggler of the
  // last round, an evaluation): they answer that task first, so their update
  // for this round is likely late. Each group is sampled with the same seed
  // and round, so the choice stays reproducible.
  std::vector<std::string> sample_idle_first(const std::vector<std::string>& available,
                                             int32_t count, uint64_t seed, int64_t round) const {
    std::vector<std::string> idle, busy;
    for (const auto& id : available) (is_idle(id) ? idle : busy).push_back(id);
    auto sampled = sample_clients(idle, count, seed, round);
    const int32_t missing = count - static_cast<int32_t>(sampled.size());
    if (missing > 0 && !busy.empty()) {
      const auto extra = sample_clients(busy, missing, seed, round);
      sampled.insert(sampled.end(), extra.begin(), extra.end());
    }
    return sampled;
  }

  asio::awaitable<AttemptResult> run_attempt(int64_t round, int attempt, RoundMetrics& m) {
    const auto t0 = Clock::now();
    const uint64_t in0 = counters.bytes_in, out0 = counters.bytes_out;
    const FitConfig fit = strategy->configure_fit(round);
    const auto available = registry.connected();
    const auto sampled =
        sample_idle_first(available, fit.clients_to_sample, opt.seed + mix64(attempt), round);
    const int32_t wanted =
        std::min<int32_t>(fit.clients_per_round, static_cast<int32_t>(sampled.size()));
    const int32_t need =
        std::max<int32_t>({1, fit.min_fit_results,
                           static_cast<int32_t>(std::ceil(opt.min_completion * wanted - 1e-9))});
    const auto deadline = t0 + opt.round_deadline;

    TrainTask task;
    task.round = static_cast<uint64_t>(round);
    task.task_id = next_task_id++;
    auto encoded = encode_values(global, {}, Encoding{ValueType::kF32, false});
    if (!encoded.is_ok()) {
      say("cannot encode the global model: " + encoded.status().to_string());
      co_return AttemptResult::kShort;
    }
    task.global_values = std::move(encoded).value();
    task.hyper = opt.hyper;
    task.hyper.epochs = static_cast<uint32_t>(fit.local_epochs);
    task.hyper.batch_size = static_cast<uint32_t>(fit.batch_size);
    task.hyper.learning_rate = fit.learning_rate;
    task.hyper.prox_mu = fit.proximal_mu;
    task.deadline_ms = static_cast<uint32_t>(opt.round_deadline.count());

    current = std::make_unique<RoundState>();
    current->round = round;
    current->task_id = task.task_id;
    current->task = std::make_shared<const Message>(std::move(task));
    for (const auto& id : sampled) {
      current->assigned[id];
      send_task(sessions.at(id), current->task, current->task_id);
    }
    m.sampled = static_cast<int64_t>(sampled.size());
    counters.current_round = round;
    say("round " + std::to_string(round) +
        (attempt ? " (retry " + std::to_string(attempt) + ")" : "") + ": " +
        std::to_string(sampled.size()) + " of " + std::to_string(available.size()) +
        " devices sampled, " + std::to_string(need) + " updates needed");

    strategy->begin_fit(round, global);
    int32_t accepted = 0;
    double loss_sum = 0;
    std::vector<Inbound> ordered;
    auto accept = [&](const std::string& id, const Update& u) {
      accepted += 1;
      m.participant_ids.push_back(id);
      m.examples += static_cast<int64_t>(u.example_count);
      loss_sum += static_cast<double>(u.metrics.loss) * static_cast<double>(u.example_count);
      registry.record_success(id, round);
      counters.updates_accepted += 1;
    };
    auto reject = [&](const std::string& id, const Status& why) {
      // core/fl says "update from client 'x' rejected: <why>": keep only <why>.
      std::string reason = why.message();
      const auto cut = reason.find(" rejected: ");
      if (cut != std::string::npos) reason = reason.substr(cut + 11);
      record_failure(m, id, "rejected: " + reason);
      counters.updates_rejected += 1;
      say("round " + std::to_string(round) + ": update of " + id + " rejected: " + why.message());
    };

    for (;;) {
      while (!current->inbox.empty() && !stopping) {
        Inbound in = std::move(current->inbox.front());
        current->inbox.pop_front();
        auto& a = current->assigned.at(in.identity);
        if (a.answered) continue;
        a.answered = true;
        const Update& u = in.update;
        if (u.round != static_cast<uint64_t>(round) || u.task_id != current->task_id) {
          reject(in.identity, invalid_argument("round " + std::to_string(u.round) + " task " +
                                               std::to_string(u.task_id) + ", expected round " +
                                               std::to_string(round) + " task " +
                                               std::to_string(current->task_id)));
          continue;
        }
        if (u.example_count == 0) {
          reject(in.identity, invalid_argument("example count 0"));
          continue;
        }
        if (opt.ordered_aggregation) {
          ordered.push_back(std::move(in));
          continue;
        }
        if (accepted >= wanted) continue;  // over-selected and not needed
        const Status st = co_await fold(in.identity, in.update);
        if (st.is_ok()) {
          accept(in.identity, u);
        } else {
          reject(in.identity, st);
        }
      }
      if (stopping) break;
      int32_t unanswered = 0;
      for (const auto& [id, a] : current->assigned) unanswered += a.answered ? 0 : 1;
      const int32_t pending = static_cast<int32_t>(ordered.size());
      if (accepted >= wanted || unanswered == 0 || Clock::now() >= deadline) break;
      if (accepted + pending + unanswered < need) break;  // cannot reach min_completion any more
      co_await sleep_or_wake(deadline);
    }

    if (stopping) {
      current.reset();
      co_return AttemptResult::kAbandoned;
    }
    if (opt.ordered_aggregation) {
      // Bit-identical aggregation whatever the arrival order.
      std::sort(ordered.begin(), ordered.end(),
                [](const Inbound& a, const Inbound& b) { return a.identity < b.identity; });
      for (auto& in : ordered) {
        if (accepted >= wanted) break;
        const Status st = co_await fold(in.identity, in.update);
        if (st.is_ok()) {
          accept(in.identity, in.update);
        } else {
          reject(in.identity, st);
        }
      }
    }
    if (accepted < wanted) {
      const std::string timeout =
          "timeout after " +
          fmt("%.1f", std::chrono::duration<double>(opt.round_deadline).count()) + " s";
      for (const auto& [id, a] : current->assigned) {
        if (!a.answered) record_failure(m, id, a.lost ? "disconnected" : timeout);
      }
    }
    current.reset();
    m.participants = accepted;
    m.train_loss = m.examples > 0 ? loss_sum / static_cast<double>(m.examples) : 0;
    m.bytes_in = counters.bytes_in - in0;
    m.bytes_out = counters.bytes_out - out0;
    m.round_seconds = seconds_since(t0);
    if (accepted < need) {
      say("round " + std::to_string(round) + ": only " + std::to_string(accepted) + " of " +
          std::to_string(need) + " needed updates");
      co_return AttemptResult::kShort;
    }
    const auto t_agg = Clock::now();
    std::function<Result<FitOutcome>()> job = [this] { return strategy->finish_fit(); };
    auto outcome = co_await offload(std::move(job));
    m.aggregate_seconds = seconds_since(t_agg);
    if (!outcome.is_ok()) {
      say("round " + std::to_string(round) +
          ": aggregation failed: " + outcome.status().to_string());
      co_return AttemptResult::kShort;
    }
    global = std::move(outcome->values);
    co_return AttemptResult::kCompleted;
  }

  asio::awaitable<void> evaluate(int64_t round, RoundMetrics& m) {
    if (opt.eval_every <= 0 || round % opt.eval_every != 0 ||
        !strategy->has_centralized_evaluator()) {
      co_return;
    }
    const auto t = Clock::now();
    std::function<Result<EvaluateSummary>()> job = [this, round] {
      return strategy->evaluate(round, global);
    };
    auto r = co_await offload(std::move(job));
    m.eval_seconds = seconds_since(t);
    if (!r.is_ok()) {
      say("round " + std::to_string(round) + ": evaluation failed: " + r.status().to_string());
      co_return;
    }
    m.eval_loss = r->loss;
    m.eval_accuracy = r->accuracy;
  }

  // Asks idle devices to evaluate the new global model on their own data
  // (strategy->configure_evaluate says how many, and whether this round),
  // waits for their results until all answered or the round deadline, and
  // aggregates them with strategy->aggregate_evaluate (example-weighted).
  asio::awaitable<void> federated_evaluate(int64_t round, RoundMetrics& m) {
    const EvaluateConfig config = strategy->configure_evaluate(round);
    std::vector<std::string> idle;
    for (const auto& id : registry.connected()) {
      if (is_idle(id)) idle.push_back(id);
    }
    const int32_t count = config.clients_to_sample(static_cast<int64_t>(idle.size()));
    if (count == 0) {
      if (config.clients_to_sample(static_cast<int64_t>(registry.connected_count())) > 0) {
        say("round " + std::to_string(round) + ": no idle device for federated evaluation");
      }
      co_return;
    }
    const auto t0 = Clock::now();
    const uint64_t in0 = counters.bytes_in, out0 = counters.bytes_out;
    // Another stream of the sampling seed than training's, so the same devices
    // are not always both trained and evaluated.
    const auto sampled = sample_clients(idle, count, mix64(opt.seed ^ 0x6576616cULL), round);
    EvaluateTask task;
    task.round = static_cast<uint64_t>(round);
    task.task_id = next_task_id++;
    auto encoded = encode_values(global, {}, Encoding{ValueType::kF32, false});
    if (!encoded.is_ok()) {
      say("cannot encode the global model: " + encoded.status().to_string());
      co_return;
    }
    task.global_values = std::move(encoded).value();
    task.batch_size = static_cast<uint32_t>(config.batch_size);
    task.deadline_ms = static_cast<uint32_t>(opt.round_deadline.count());
    evaluating = std::make_unique<EvalState>();
    evaluating->round = round;
    evaluating->task_id = task.task_id;
    evaluating->task = std::make_shared<const Message>(std::move(task));
    for (const auto& id : sampled) {
      evaluating->assigned[id];
      send_task(sessions.at(id), evaluating->task, evaluating->task_id);
    }
    const auto deadline = t0 + opt.round_deadline;
    for (;;) {
      int32_t unanswered = 0;
      for (const auto& [id, a] : evaluating->assigned) unanswered += a.answered ? 0 : 1;
      if (stopping || unanswered == 0 || Clock::now() >= deadline) break;
      co_await sleep_or_wake(deadline);
    }
    const std::string timeout =
        "timeout after " + fmt("%.1f", std::chrono::duration<double>(opt.round_deadline).count()) +
        " s";
    for (const auto& [id, a] : evaluating->assigned) {
      if (a.answered) continue;
      evaluating->failures.push_back({id, stopping ? "aggregator stopping"
                                          : a.lost ? "disconnected"
                                                   : timeout});
    }
    FederatedEvalMetrics& f = m.federated;
    f.sampled = static_cast<int64_t>(sampled.size());
    f.results = static_cast<int64_t>(evaluating->results.size());
    f.failures = evaluating->failures;
    counters.federated_eval_results += f.results;
    counters.federated_eval_failures += static_cast<int64_t>(f.failures.size());
    auto summary = strategy->aggregate_evaluate(round, evaluating->results, evaluating->failures);
    evaluating.reset();
    f.bytes_in = counters.bytes_in - in0;
    f.bytes_out = counters.bytes_out - out0;
    f.seconds = seconds_since(t0);
    if (!summary.is_ok()) {
      say("round " + std::to_string(round) +
          ": federated evaluation failed: " + summary.status().to_string());
      co_return;
    }
    f.examples = summary->num_examples;
    f.loss = summary->loss;
    f.accuracy = summary->accuracy;
    counters.last_federated_eval_loss = f.loss;
    counters.last_federated_eval_accuracy = f.accuracy;
  }

  asio::awaitable<Status> save(int64_t round) {
    if (opt.checkpoint_dir.empty()) co_return Status::ok();
    auto c = std::make_shared<Checkpoint>();
    c->round = round;
    c->model_identity = model.identity;
    c->global_values = global;
    c->devices = registry.records();
    c->history = history;
    c->strategy_state = strategy->save_state();
    std::function<Status()> job = [this, c] {
      return save_checkpoint(opt.checkpoint_dir, *c, opt.checkpoints_kept);
    };
    Status st = co_await offload(std::move(job));
    co_return st;
  }

  Status emit(const RoundMetrics& m) {
    Status st = metrics_log.append(to_json_line(m));
    if (on_round) on_round(m);
    return st;
  }

  asio::awaitable<Status> run() {
    auto self = shared_from_this();
    state = "running";
    Status result;
    while (completed < opt.rounds && !stopping) {
      const int64_t round = completed + 1;
      for (int attempt = 0;; ++attempt) {
        // Wait for enough devices, saying so every wait_for_clients.
        auto wait_start = Clock::now();
        while (!stopping && registry.connected_count() < static_cast<size_t>(opt.min_clients)) {
          state = "waiting for devices";
          if (Clock::now() - wait_start > opt.wait_for_clients) {
            say("round " + std::to_string(round) + ": waiting for " +
                std::to_string(opt.min_clients) + " devices (" +
                std::to_string(registry.connected_count()) + " connected)");
            wait_start = Clock::now();
          }
          co_await sleep_or_wake(Clock::now() + std::chrono::milliseconds(500));
        }
        if (stopping) break;
        state = "training";
        RoundMetrics m;
        m.round = round;
        m.attempt = attempt;
        const AttemptResult r = co_await run_attempt(round, attempt, m);
        m.unix_time = unix_now();
        if (r == AttemptResult::kAbandoned) {
          m.outcome = "abandoned";
          (void)emit(m);
          break;
        }
        if (r == AttemptResult::kShort && attempt < opt.max_round_retries) {
          m.outcome = "retried";
          (void)emit(m);
          continue;
        }
        if (r == AttemptResult::kCompleted) {
          state = "evaluating";
          co_await evaluate(round, m);
          co_await federated_evaluate(round, m);
          m.outcome = "completed";
          counters.rounds_completed += 1;
          summary.last_eval_accuracy = m.eval_accuracy;
          summary.last_eval_loss = m.eval_loss;
          summary.last_train_loss = m.train_loss;
          if (m.federated.accuracy >= 0) {
            summary.last_federated_accuracy = m.federated.accuracy;
            summary.last_federated_loss = m.federated.loss;
          }
          if (m.eval_accuracy >= 0) {
            counters.last_eval_accuracy = m.eval_accuracy;
            counters.last_eval_loss = m.eval_loss;
          }
        } else {
          m.outcome = "skipped";
          counters.rounds_skipped += 1;
          summary.rounds_skipped += 1;
        }
        counters.last_round_seconds = m.round_seconds;
        history.push_back({round, m.participants, static_cast<int64_t>(m.failures.size()),
                           m.train_loss, m.eval_loss, m.eval_accuracy, m.federated.loss,
                           m.federated.accuracy});
        // The metrics line goes first: a crash before the checkpoint re-runs the
        // round, and create() drops lines of rounds the checkpoint does not hold.
        if (Status st = emit(m); !st.is_ok()) say(st.to_string());
        state = "checkpointing";
        if (Status st = co_await save(round); !st.is_ok()) {
          result = st.with_context("checkpoint of round " + std::to_string(round));
          stopping = true;
          break;
        }
        completed = round;
        summary.rounds_completed = round;
        std::string line = "round " + std::to_string(round) + " " + m.outcome + ": " +
                           std::to_string(m.participants) + "/" + std::to_string(m.sampled) +
                           " updates, train loss " + fmt("%.4f", m.train_loss);
        if (m.eval_accuracy >= 0) line += ", accuracy " + fmt("%.2f", 100 * m.eval_accuracy) + "%";
        if (m.federated.sampled > 0) {
          line += ", federated evaluation " + std::to_string(m.federated.results) + "/" +
                  std::to_string(m.federated.sampled);
          if (m.federated.accuracy >= 0) {
            line += " accuracy " + fmt("%.2f", 100 * m.federated.accuracy) + "%";
          }
        }
        say(line + ", " + fmt("%.2f", m.round_seconds) + " s");
        break;
      }
    }
    summary.stopped_early = completed < opt.rounds;
    state = summary.stopped_early ? "stopped" : "finished";
    shutdown();
    co_return result;
  }

  void shutdown() {
    stopping = true;
    for (auto& l : listeners) l->close();
    auto all = open_sessions;
    for (auto& s : all) close_session(s);
    round_wake.cancel();
  }

  std::string state_json() const {
    std::ostringstream o;
    o << "{\"round\":" << completed << ",\"rounds_total\":" << opt.rounds
      << ",\"state\":" << json_quote(state) << ",\"strategy\":" << json_quote(opt.strategy_spec)
      << ",\"connected_count\":" << registry.connected_count() << ",\"connected\":[";
    bool first = true;
    for (const auto& id : registry.connected()) {
      o << (first ? "" : ",") << json_quote(id);
      first = false;
    }
    auto num = [](double v) { return std::isfinite(v) ? fmt("%.6g", v) : std::string("null"); };
    o << "],\"last_eval_accuracy\":" << num(counters.last_eval_accuracy)
      << ",\"last_federated_accuracy\":" << num(counters.last_federated_eval_accuracy)
      << ",\"history\":[";
    for (size_t i = 0; i < history.size(); ++i) {
      const auto& h = history[i];
      o << (i ? "," : "") << "{\"round\":" << h.round << ",\"participants\":" << h.participants
        << ",\"failures\":" << h.failures << ",\"train_loss\":" << num(h.train_loss)
        << ",\"eval_loss\":" << num(h.eval_loss) << ",\"eval_accuracy\":" << num(h.eval_accuracy)
        << ",\"federated_loss\":" << num(h.federated_loss)
        << ",\"federated_accuracy\":" << num(h.federated_accuracy) << "}";
    }
    o << "]}";
    return o.str();
  }
};

namespace {

// Keeps only complete lines of rounds <= `round`: a crash between a round's
// metrics line and its checkpoint must not leave that round counted twice.
Status trim_metrics_file(const std::string& path, int64_t round) {
  auto text = read_text_file(path);
  if (!text.is_ok()) return Status::ok();  // no file yet
  std::string kept;
  std::istringstream in(*text);
  std::string line;
  bool changed = false;
  while (std::getline(in, line)) {
    const auto pos = line.find("\"round\":");
    const bool complete = !line.empty() && line.front() == '{' && line.back() == '}';
    if (complete && pos != std::string::npos && std::atoll(line.c_str() + pos + 8) <= round) {
      kept += line + "\n";
    } else {
      changed = true;
    }
  }
  if (!changed) return Status::ok();
  return write_file_atomic(path, kept);
}

}  // namespace

Result<std::unique_ptr<Server>> Server::create(asio::any_io_executor executor,
                                               ServerOptions options, ModelDescription model,
                                               std::unique_ptr<Strategy> strategy,
                                               WorkRunner work) {
  assert(strategy != nullptr && work);
  if (options.encodings.empty()) return invalid_argument("no update encoding offered");
  if (options.checkpoints_kept < 2) {
    return invalid_argument("checkpoints_kept " + std::to_string(options.checkpoints_kept) +
                            " (need >= 2)");
  }
  auto impl = std::make_shared<Impl>(executor);
  impl->opt = std::move(options);
  impl->global = model.initial_values;
  impl->model = std::move(model);
  impl->strategy = std::move(strategy);
  impl->work = std::move(work);
  auto& o = impl->opt;
  if (!o.checkpoint_dir.empty()) {
    auto loaded = load_latest_checkpoint(o.checkpoint_dir);
    if (loaded.is_ok()) {
      Checkpoint& c = loaded->checkpoint;
      if (c.model_identity != impl->model.identity) {
        return failed_precondition("checkpoint " + loaded->path + " holds model " +
                                   hash_hex(c.model_identity) + ", not the configured " +
                                   hash_hex(impl->model.identity) +
                                   " (use another checkpoint directory)");
      }
      if (c.global_values.size() != impl->global.size()) {
        return corrupt("checkpoint " + loaded->path + " holds " +
                       std::to_string(c.global_values.size()) + " values, the model " +
                       std::to_string(impl->global.size()));
      }
      NF_RETURN_IF_ERROR(impl->strategy->load_state(c.strategy_state)
                             .with_context("strategy state of " + loaded->path));
      impl->global = std::move(c.global_values);
      impl->completed = c.round;
      impl->history = std::move(c.history);
      impl->registry.restore(c.devices);
      impl->summary.resumed_from_round = c.round;
      impl->summary.rounds_completed = c.round;
      impl->counters.current_round = c.round;
      for (const auto& h : impl->history) {
        if (h.eval_accuracy >= 0) impl->counters.last_eval_accuracy = h.eval_accuracy;
        if (h.federated_accuracy >= 0) {
          impl->counters.last_federated_eval_accuracy = h.federated_accuracy;
          impl->counters.last_federated_eval_loss = h.federated_loss;
        }
      }
      for (const auto& r : loaded->rejected) impl->say("skipped damaged checkpoint " + r);
    } else if (loaded.status().code() != StatusCode::kNotFound) {
      return loaded.status();
    }
  }
  if (!o.checkpoint_dir.empty()) NF_RETURN_IF_ERROR(make_directories(o.checkpoint_dir));
  if (!o.metrics_file.empty()) {
    const auto slash = o.metrics_file.find_last_of('/');
    if (slash != std::string::npos && slash > 0) {
      NF_RETURN_IF_ERROR(make_directories(o.metrics_file.substr(0, slash)));
    }
    NF_RETURN_IF_ERROR(trim_metrics_file(o.metrics_file, impl->completed));
    NF_RETURN_IF_ERROR(impl->metrics_log.open(o.metrics_file));
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::~Server() = default;

void Server::set_round_callback(std::function<void(const RoundMetrics&)> callback) {
  impl_->on_round = std::move(callback);
}
void Server::set_log(std::function<void(const std::string&)> log) {
  impl_->log = std::move(log);
}

void Server::serve(std::unique_ptr<Listener> listener) {
  Listener* raw = listener.get();
  impl_->listeners.push_back(std::move(listener));
  asio::co_spawn(impl_->executor, impl_->accept_loop(raw), asio::detached);
}

void Server::add_connection(std::unique_ptr<Connection> connection) {
  impl_->start_session(std::move(connection));
}

asio::awaitable<Status> Server::run() {
  return impl_->run();
}

void Server::stop() {
  if (impl_->stopping) return;
  impl_->say("stopping: abandoning the round in progress");
  impl_->shutdown();
}

const std::vector<float>& Server::global_values() const {
  return impl_->global;
}
int64_t Server::completed_round() const {
  return impl_->completed;
}
ServerSummary Server::summary() const {
  return impl_->summary;
}
ServerCounters Server::counters() const {
  return impl_->counters;
}
std::string Server::state_json() const {
  return impl_->state_json();
}
std::string Server::prometheus_text() const {
  auto c = impl_->counters;
  c.connected = static_cast<int64_t>(impl_->registry.connected_count());
  return nf::aggregator::prometheus_text(c);
}

}  // namespace nf::aggregator
