// The session state machine against a scripted aggregator: each test plays
// the aggregator's messages and checks what the agent does.
#include <doctest/doctest.h>

#include <unistd.h>

#include <string>

#include "core/util/hash.h"

#include "device_agent/session.h"
#include "device_agent/state_store.h"

namespace nf {
namespace {

constexpr uint64_t kIdentity = 0x1234abcd5678ef01ULL;

class FakeRunner final : public TaskRunner {
 public:
  Result<uint64_t> load_model(const std::string& spec) override {
    ++loads;
    if (spec == "bad spec") return invalid_argument("spec 'bad spec' does not parse");
    return spec == "other masks" ? kIdentity ^ 1 : kIdentity;
  }
  Result<Update> train(TrainTask task, Encoding encoding) override {
    ++trained;
    Update u;
    u.round = task.round;
    u.task_id = task.task_id;
    u.example_count = 600;
    u.values.encoding = encoding;
    u.values.count = 2;
    u.values.bytes.assign(8, 0);
    u.metrics.loss = 0.5f;
    return u;
  }
  Result<EvaluateResult> evaluate(EvaluateTask) override {
    EvaluateResult r;
    r.example_count = 100;
    r.accuracy = 0.75f;
    return r;
  }
  int loads = 0;
  int trained = 0;
};

Welcome welcome(uint64_t hash = kIdentity, std::string spec = "spec") {
  Welcome w;
  w.model_spec = std::move(spec);
  w.model_hash = hash;
  return w;
}

TrainTask task(uint64_t round, uint64_t id) {
  TrainTask t;
  t.round = round;
  t.task_id = id;
  return t;
}

// Connects, checks the hello and gets welcomed.
void handshake(AgentSession& s) {
  SessionStep hello = s.on_connected();
  REQUIRE(hello.send.size() == 1);
  REQUIRE(std::holds_alternative<Hello>(hello.send[0]));
  CHECK(std::get<Hello>(hello.send[0]).device_id == "dev-1");
  SessionStep w = s.on_message(welcome());
  REQUIRE_FALSE(w.close);
  REQUIRE(s.state() == SessionState::kReady);
}

SessionOptions options() {
  return SessionOptions{"dev-1", {Encoding{}}, {"threads=1"}};
}

TEST_CASE("a task is trained once and its update carries round, task and bytes") {
  FakeRunner runner;
  MemoryStateStore store;
  AgentSession s(options(), runner, store);
  handshake(s);
  SessionStep step = s.on_message(task(3, 30));
  REQUIRE(step.train.has_value());
  CHECK(s.state() == SessionState::kTraining);
  SessionStep done = s.on_trained(runner.train(*step.train, s.encoding()), 1000);
  REQUIRE(done.send.size() == 1);
  const auto& update = std::get<Update>(done.send[0]);
  CHECK(update.round == 3);
  CHECK(update.task_id == 30);
  CHECK(update.metrics.bytes == 1008);
  CHECK(store.load().value().last_answered_task() == 30);
  CHECK(store.load().value().last_completed_round == 3);

  // The same task again (a resuming aggregator) is not answered twice.
  SessionStep again = s.on_message(task(3, 30));
  CHECK_FALSE(again.train.has_value());
  CHECK(again.send.empty());
  CHECK_FALSE(again.close);
  CHECK(again.note.find("already sent") != std::string::npos);
  CHECK(s.on_message(task(4, 31)).train.has_value());
}

TEST_CASE("a round issued again under a new task id is trained; the old task id is not") {
  // An aggregator that restarted from an earlier checkpoint lost the update of
  // round 3 and issues it again as task 32; the agent answers it once.
  FakeRunner runner;
  MemoryStateStore store;
  AgentSession s(options(), runner, store);
  handshake(s);
  for (const uint64_t round : {3, 4}) {
    SessionStep step = s.on_message(task(round, round * 10));
    REQUIRE(step.train.has_value());
    REQUIRE(s.on_trained(runner.train(*step.train, s.encoding()), 0).send.size() == 1);
  }
  SessionStep again = s.on_message(task(3, 32));
  REQUIRE(again.train.has_value());
  CHECK(again.note.find("round 3 issued again as task 32") != std::string::npos);
  SessionStep done = s.on_trained(runner.train(*again.train, s.encoding()), 0);
  REQUIRE(done.send.size() == 1);
  CHECK(std::get<Update>(done.send[0]).task_id == 32);
  CHECK(store.load().value().last_completed_round == 3);
  CHECK(store.load().value().updates_sent == 3);
  // Every task id answered so far stays answered, whatever its round.
  for (const uint64_t id : {30, 40, 32}) {
    SessionStep repeat = s.on_message(task(3, id));
    CHECK_FALSE(repeat.train.has_value());
    CHECK(repeat.note.find("already sent") != std::string::npos);
  }
}

TEST_CASE("a restarted agent resumes from its directory state and never repeats a task") {
  char tmpl[] = "/tmp/nf_session_test_XXXXXX";
  const std::string dir = std::string(::mkdtemp(tmpl)) + "/state";
  {
    FakeRunner runner;
    DirStateStore store(dir);
    AgentSession s(options(), runner, store);
    handshake(s);
    SessionStep step = s.on_message(task(5, 50));
    s.on_trained(runner.train(*step.train, s.encoding()), 0);
  }  // "killed" here
  FakeRunner runner;
  DirStateStore store(dir);
  AgentSession s(options(), runner, store);
  SessionStep hello = s.on_connected();
  CHECK(std::get<Hello>(hello.send[0]).last_round == 5);
  CHECK(std::get<Hello>(hello.send[0]).model_hash == kIdentity);
  SessionStep w = s.on_message(welcome());
  CHECK(w.note.find("resuming after round 5") != std::string::npos);
  CHECK_FALSE(s.on_message(task(5, 50)).train.has_value());
  CHECK(s.on_message(task(6, 60)).train.has_value());
  CHECK(runner.trained == 0);
}

TEST_CASE("a welcome whose model hash differs from the derived masks is refused") {
  FakeRunner runner;
  MemoryStateStore store;
  AgentSession s(options(), runner, store);
  s.on_connected();
  SessionStep step = s.on_message(welcome(kIdentity, "other masks"));
  CHECK(step.close);
  CHECK(step.fatal);
  REQUIRE(step.send.size() == 1);
  const auto& error = std::get<ErrorMessage>(step.send[0]);
  CHECK(error.code == StatusCode::kFailedPrecondition);
  CHECK(error.message.find("model identity mismatch") != std::string::npos);
  CHECK(error.message.find(hash_hex(kIdentity)) != std::string::npos);
  CHECK(step.status.message() == error.message);
  CHECK(s.state() == SessionState::kClosed);
}

TEST_CASE("protocol violations and aggregator errors close the session") {
  FakeRunner runner;
  MemoryStateStore store;
  AgentSession s(options(), runner, store);
  s.on_connected();
  SessionStep early = s.on_message(task(1, 1));  // before the welcome
  CHECK(early.close);
  CHECK_FALSE(early.fatal);
  CHECK(early.status.message().find("unexpected train_task in state awaiting_welcome") !=
        std::string::npos);

  s.on_disconnected();
  handshake(s);
  SessionStep beat = s.on_message(Heartbeat{7, 0});
  REQUIRE(beat.send.size() == 1);
  CHECK(std::get<Heartbeat>(beat.send[0]).sequence == 7);
  SessionStep refused = s.on_message(ErrorMessage{StatusCode::kPermissionDenied, "unknown device"});
  CHECK(refused.close);
  CHECK(refused.fatal);
  CHECK(refused.send.empty());

  s.on_disconnected();
  handshake(s);
  CHECK(runner.loads == 1);  // the model is built once, kept across reconnects
  SessionStep eval = s.on_message(EvaluateTask{9, 90, {}, 256, 0});
  REQUIRE(eval.evaluate.has_value());
  SessionStep result = s.on_evaluated(runner.evaluate(*eval.evaluate));
  const auto& r = std::get<EvaluateResult>(result.send[0]);
  CHECK(r.round == 9);
  CHECK(r.task_id == 90);
  CHECK(r.accuracy == doctest::Approx(0.75));
}

TEST_CASE("a spec the agent cannot build is a clear, fatal error") {
  FakeRunner runner;
  MemoryStateStore store;
  AgentSession s(options(), runner, store);
  s.on_connected();
  SessionStep step = s.on_message(welcome(kIdentity, "bad spec"));
  CHECK(step.fatal);
  CHECK(step.status.message().find("spec 'bad spec' does not parse") != std::string::npos);
}

}  // namespace
}  // namespace nf
