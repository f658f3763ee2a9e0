// nf-aggregator as a real process with real agent processes (nf-agent, and
// aggregator_loadgen for misbehaving agents) on loopback; the live page in
// headless Chromium. Mutual TLS with certificates made by `nf certs`.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <thread>

#include "aggregator/checkpoint.h"
#include "core/data/idx_reader.h"
#include "core/util/file.h"
#include "core/util/rng.h"
#include "tests/support/process_harness.h"

namespace nf::aggregator {

namespace {

using nf::test::kill_all;
using nf::test::lines_of;
using nf::test::number_after;
using nf::test::remove_test_dir;
using nf::test::run;
using nf::test::spawn;
using nf::test::wait_for;
using nf::test::wait_for_lines;
using nf::test::wait_for_text;

const std::string kAggregator = nf::test::aggregator_binary();
const std::string kAgent = nf::test::agent_binary();
const std::string kLoadgen = std::string(NF_BINARY_DIR) + "/bench/aggregator_loadgen";

std::string temp_dir() {
  return nf::test::make_temp_dir("nf_agg_proc_");
}
int free_port() {
  return nf::test::free_port();
}

// Kills (SIGKILL) and reaps the processes it still holds when a REQUIRE ends
// the test early; release() them once they are reaped.
struct ProcessGuard {
  std::vector<pid_t> pids;
  ~ProcessGuard() { kill_all(pids); }
  void release() { pids.clear(); }
};

// A CA, the aggregator's certificate and device certificates dev-0..dev-9 in
// <dir>/certs, made once per directory with the real `nf certs`.
void make_certs(const std::string& dir) {
  std::vector<std::string> devices;
  for (int i = 0; i < 10; ++i) devices.push_back("dev-" + std::to_string(i));
  nf::test::make_certs(dir, devices);
}

// Mutual TLS unless `extra` asks for --insecure.
std::vector<std::string> aggregator_args(const std::string& dir, int port, int rounds, int clients,
                                         std::vector<std::string> extra, int http_port = 0) {
  std::vector<std::string> a = {kAggregator,
                                "--listen",
                                "127.0.0.1:" + std::to_string(port),
                                "--http-listen",
                                http_port ? "127.0.0.1:" + std::to_string(http_port) : "",
                                "--rounds",
                                std::to_string(rounds),
                                "--clients-per-round",
                                std::to_string(clients),
                                "--min-clients",
                                std::to_string(clients),
                                "--dir",
                                dir + "/ck",
                                "--examples",
                                "1000",
                                "--json"};
  if (std::find(extra.begin(), extra.end(), "--insecure") == extra.end()) {
    make_certs(dir);
    a.insert(a.end(), {"--tls-cert", dir + "/certs/server.crt", "--tls-key",
                       dir + "/certs/server.key", "--tls-ca", dir + "/certs/ca.crt"});
  }
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

// The first kTrainExamples examples of Fashion-MNIST's training set as
// uncompressed IDX files (gzopen reads plain files too, so they keep their .gz
// names), made once per test process: 600 per agent with --clients 20, and
// every agent process starts in milliseconds instead of inflating 26 MB.
constexpr int kTrainExamples = 12000;
struct SmallTrainSet {
  std::string dir;
  ~SmallTrainSet() {
    if (!dir.empty()) std::filesystem::remove_all(dir);
  }
};
const std::string& small_train_set() {
  static SmallTrainSet set;
  if (!set.dir.empty()) return set.dir;
  const std::string dir = temp_dir();
  const std::string data = dir;
  const std::string source = default_fashion_mnist_dir();
  struct IdxFile {
    std::string name;
    int header, row;  // bytes
  };
  for (const IdxFile& f : {IdxFile{"train-images-idx3-ubyte.gz", 16, 784},
                           IdxFile{"train-labels-idx1-ubyte.gz", 8, 1}}) {
    const std::string &name = f.name, out = data + "/" + f.name;
    const int header = f.header, row = f.row;
    const std::string bytes = std::to_string(header + kTrainExamples * row);
    REQUIRE(run({"/bin/sh", "-c",
                 "gzip -dc '" + source + "/" + name + "' | head -c " + bytes + " > '" + out + "'"},
                dir + "/data.log") == 0);
    auto file = read_file(out);
    REQUIRE(file.is_ok());
    REQUIRE(file->size() == static_cast<size_t>(header + kTrainExamples * row));
    for (int i = 0; i < 4; ++i)
      (*file)[4 + i] = static_cast<uint8_t>(kTrainExamples >> (24 - 8 * i));
    REQUIRE(write_file_atomic(out, *file).is_ok());
  }
  set.dir = dir;
  return set.dir;
}

pid_t start_agent(const std::string& dir, int port, int index) {
  make_certs(dir);
  const std::string& data = small_train_set();
  const std::string name = "dev-" + std::to_string(index);
  return spawn({kAgent,
                "--cert",
                dir + "/certs/" + name + ".crt",
                "--key",
                dir + "/certs/" + name + ".key",
                "--ca",
                dir + "/certs/ca.crt",
                "--aggregator",
                "127.0.0.1:" + std::to_string(port),
                "--device-id",
                "dev-" + std::to_string(index),
                "--idx-dir",
                data,
                "--partition",
                "iid",
                "--clients",
                "20",
                "--client-index",
                std::to_string(index),
                "--state-dir",
                dir + "/agent" + std::to_string(index),
                "--max-examples",
                "600",
                "--backoff-initial-ms",
                "100",
                "--backoff-max-ms",
                "400"},
               dir + "/agent" + std::to_string(index) + ".log");
}

std::string value_after(const std::string& line, const std::string& key) {
  const auto pos = line.find("\"" + key + "\":");
  if (pos == std::string::npos) return "";
  const size_t start = pos + key.size() + 3;
  int depth = 0;
  for (size_t i = start; i < line.size(); ++i) {
    if (line[i] == '{' || line[i] == '[') ++depth;
    if (line[i] == '}' || line[i] == ']') --depth;
    if (depth == 0) return line.substr(start, i + 1 - start);
  }
  return "";
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

// The body of GET `path` from 127.0.0.1:`port`, or "" when nothing answers.
std::string http_get(int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string reply;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) reply.append(buf, n);
    }
  }
  ::close(fd);
  const auto body = reply.find("\r\n\r\n");
  return body == std::string::npos ? "" : reply.substr(body + 4);
}

// Waits until the aggregator's /api/state counts `n` connected devices.
bool wait_for_connected(int http_port, int n, double seconds) {
  const std::string want = "\"connected_count\":" + std::to_string(n) + ",";
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (http_get(http_port, "/api/state").find(want) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

}  // namespace

TEST_CASE("several rounds with real nf-agent processes converge") {
  const auto dir = temp_dir();
  const int port = free_port();
  const pid_t agg = spawn(aggregator_args(dir, port, 4, 3, {}), dir + "/aggregator.log");
  std::vector<pid_t> agents;
  for (int i = 0; i < 3; ++i) agents.push_back(start_agent(dir, port, i));
  CHECK(wait_for(agg, 240) == 0);
  kill_all(agents);
  const auto lines = lines_of(dir + "/ck/metrics.jsonl");
  REQUIRE(lines.size() == 4);
  const double first = number_after(lines.front(), "eval_accuracy");
  const double last = number_after(lines.back(), "eval_accuracy");
  MESSAGE("accuracy round 1: " << first << ", round 4: " << last);
  CHECK(first > 0.1);
  CHECK(last > first);
  CHECK(last > 0.5);
  remove_test_dir(dir);
}

TEST_CASE(
    "agents over mutual TLS sending NaN, a wrong length or a 100x update are rejected and "
    "named by their certificates") {
  const auto dir = temp_dir();
  const int port = free_port();
  make_certs(dir);
  // Every loadgen session holds its own certificate, whose CN differs from the
  // device id its hello claims ("nan-0" holds "cert-nan"): the metrics can only
  // name it by its certificate.
  const std::string certs = dir + "/certs", sessions = dir + "/sessions";
  REQUIRE(run({nf::test::nf_binary(), "certs", "device", "--dir", certs, "cert-good-0",
               "cert-good-1", "cert-nan", "cert-short", "cert-scaled"},
              dir + "/certs.log") == 0);
  std::filesystem::create_directories(sessions);
  for (const auto& [cn, id] :
       std::vector<std::pair<std::string, std::string>>{{"cert-good-0", "good-0"},
                                                        {"cert-good-1", "good-1"},
                                                        {"cert-nan", "nan-0"},
                                                        {"cert-short", "short-0"},
                                                        {"cert-scaled", "scaled-0"}}) {
    for (const char* ext : {".crt", ".key"}) {
      std::filesystem::copy_file(certs + "/" + cn + ext, sessions + "/" + id + ext);
    }
  }
  const pid_t agg =
      spawn(aggregator_args(dir, port, 1, 5, {"--min-completion", "0.4"}), dir + "/aggregator.log");
  const std::string address = "127.0.0.1:" + std::to_string(port);
  REQUIRE(wait_for_text(dir + "/aggregator.log", "mutual TLS on", 60));
  auto loadgen = [&](const std::string& prefix, const std::string& behavior, int count) {
    return spawn({kLoadgen, "--connect", address, "--ca", certs + "/ca.crt", "--cert-dir", sessions,
                  "--sessions", std::to_string(count), "--id-prefix", prefix, "--behavior",
                  behavior, "--tasks", "1"},
                 dir + "/" + prefix + "log");
  };
  std::vector<pid_t> agents = {loadgen("good-", "good", 2), loadgen("nan-", "nan", 1),
                               loadgen("short-", "short", 1), loadgen("scaled-", "scaled", 1)};
  CHECK(wait_for(agg, 120) == 0);
  kill_all(agents);
  const auto lines = lines_of(dir + "/ck/metrics.jsonl");
  REQUIRE(lines.size() == 1);
  const auto& m = lines[0];
  INFO(m);
  CHECK(m.find("\"outcome\":\"completed\"") != std::string::npos);
  CHECK(m.find("\"sampled\":5,\"participants\":2") != std::string::npos);
  const std::string participants = value_after(m, "participant_ids");
  CHECK(participants.size() == std::string("[\"cert-good-0\",\"cert-good-1\"]").size());
  CHECK(participants.find("\"cert-good-0\"") != std::string::npos);
  CHECK(participants.find("\"cert-good-1\"") != std::string::npos);
  const std::string failures = value_after(m, "failures");
  CHECK(count_of(failures, "{\"device\":") == 3);
  CHECK(failures.find("{\"device\":\"cert-nan\",\"reason\":\"rejected: value[") !=
        std::string::npos);
  CHECK(failures.find("{\"device\":\"cert-short\",\"reason\":\"rejected: length 28449") !=
        std::string::npos);
  CHECK(failures.find("{\"device\":\"cert-scaled\",\"reason\":\"rejected: delta norm") !=
        std::string::npos);
  // The names the hellos claimed appear nowhere.
  for (const char* claimed : {"good-0\"", "nan-0", "short-0", "scaled-0"}) {
    CHECK(m.find(std::string("\"") + claimed) == std::string::npos);
  }
  remove_test_dir(dir);
}

TEST_CASE(
    "30% of the agents killed mid-round: rounds complete by the minimum-completion rule, "
    "and federated evaluation runs on real agents") {
  const auto dir = temp_dir();
  const int port = free_port();
  const int http_port = free_port();
  // Ten devices, rounds need 6 of 10 updates; every completed round is
  // evaluated by all idle devices on their own data.
  const pid_t agg = spawn(aggregator_args(dir, port, 3, 10,
                                          {"--min-completion", "0.6", "--deadline-seconds", "3",
                                           "--federated-fraction", "1", "--max-retries", "0"},
                                          http_port),
                          dir + "/aggregator.log");
  // The victims connect first and are frozen (SIGSTOP), so they hold their
  // round-1 task without being able to answer it before they are killed.
  ProcessGuard victims, others;
  others.pids.push_back(agg);
  for (int i = 7; i < 10; ++i) victims.pids.push_back(start_agent(dir, port, i));
  REQUIRE(wait_for_connected(http_port, 3, 60));
  for (pid_t v : victims.pids) ::kill(v, SIGSTOP);
  for (int i = 0; i < 7; ++i) others.pids.push_back(start_agent(dir, port, i));
  REQUIRE(wait_for_text(dir + "/aggregator.log", "round 1: 10 of 10 devices sampled", 60));
  kill_all(victims.pids);  // SIGKILL, mid-round
  victims.release();
  // Round 1 ends by the rule; then the three come back for rounds 2 and 3.
  REQUIRE(wait_for_text(dir + "/ck/metrics.jsonl", "\"round\":1,", 60));
  for (int i = 7; i < 10; ++i) others.pids.push_back(start_agent(dir, port, i));
  const int exit_code = wait_for(agg, 120);
  others.pids.erase(others.pids.begin());
  kill_all(others.pids);
  others.release();
  CHECK(exit_code == 0);

  const auto lines = lines_of(dir + "/ck/metrics.jsonl");
  REQUIRE(lines.size() == 3);  // no retry, no lost or repeated round
  for (size_t i = 0; i < lines.size(); ++i) {
    INFO(lines[i]);
    CHECK(number_after(lines[i], "round") == static_cast<double>(i + 1));
    CHECK(lines[i].find("\"attempt\":0,\"outcome\":\"completed\"") != std::string::npos);
  }
  {
    const auto& m = lines[0];
    INFO(m);
    CHECK(m.find("\"sampled\":10,\"participants\":7,") != std::string::npos);
    const std::string failures = value_after(m, "failures");
    CHECK(count_of(failures, "{\"device\":") == 3);
    for (const char* v : {"dev-7", "dev-8", "dev-9"}) {
      CHECK(failures.find(std::string("{\"device\":\"") + v + "\",\"reason\":\"disconnected\"}") !=
            std::string::npos);
      CHECK(value_after(m, "participant_ids").find(v) == std::string::npos);
    }
    // Evaluated by the seven survivors, all of them answering.
    const std::string fed = value_after(m, "federated_eval");
    CHECK(fed.find("{\"sampled\":7,\"results\":7,") != std::string::npos);
    CHECK(value_after(fed, "failures") == "[]");
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    const auto& m = lines[i];
    INFO(m);
    CHECK(m.find("\"sampled\":10,\"participants\":10,\"participant_ids\"") != std::string::npos);
    CHECK(value_after(m, "failures") == "[]");
    const std::string fed = value_after(m, "federated_eval");
    CHECK(fed.find("{\"sampled\":10,\"results\":10,") != std::string::npos);
    // 600 examples per device: example-weighted over ten devices.
    CHECK(number_after(fed, "examples") == 6000);
    // Each evaluator was sent the model (28,450 f32 values) and answered
    // with a few numbers.
    CHECK(number_after(fed, "eval_bytes_out") >= 10 * 113800);
    CHECK(number_after(fed, "eval_bytes_in") > 0);
    CHECK(number_after(fed, "eval_bytes_in") < 10 * 1000);
    const double accuracy = number_after(fed, "accuracy");
    CHECK(accuracy > 0.3);
    CHECK(accuracy <= 1.0);
    CHECK(number_after(fed, "loss") > 0);
  }
  // The --json summary (stdout, in the log) carries the federated figures too.
  auto log = read_text_file(dir + "/aggregator.log");
  REQUIRE(log.is_ok());
  CHECK(log->find("\"federated_eval_results\":27,\"federated_eval_failures\":0") !=
        std::string::npos);
  remove_test_dir(dir);
}

TEST_CASE(
    "an aggregator killed with SIGKILL at random points resumes with no lost or repeated round") {
  const auto dir = temp_dir();
  const int port = free_port();
  const int rounds = 20;
  std::vector<pid_t> agents;
  for (int i = 0; i < 3; ++i) agents.push_back(start_agent(dir, port, i));
  Rng rng(7);
  int kills = 0, exit_code = -1;
  for (int life = 0; life < 30 && exit_code != 0; ++life) {
    const pid_t agg = spawn(aggregator_args(dir, port, rounds, 3, {"--deadline-seconds", "5"}),
                            dir + "/aggregator.log");
    if (life < 4) {
      // Killed once 1-3 more rounds are in the metrics, then 0-80 ms later:
      // while waiting for agents, training, aggregating or checkpointing.
      // Counted in rounds, not seconds: on an idle machine the 20 rounds
      // took under 1.2 s, and a kill at 0.2-1.2 s found the run finished.
      // wait_for kills it (-1) unless it exited before.
      const std::string metrics = dir + "/ck/metrics.jsonl";
      const size_t target = lines_of(metrics).size() + 1 + rng.uniform(3);
      (void)wait_for_lines(metrics, target, 60);
      std::this_thread::sleep_for(std::chrono::milliseconds(rng.uniform(80)));
      const int code = wait_for(agg, 0.001);
      if (code >= 0) {
        exit_code = code;
        continue;
      }
      ++kills;
      continue;
    }
    exit_code = wait_for(agg, 240);
  }
  kill_all(agents);
  CHECK(exit_code == 0);
  CHECK(kills >= 1);
  auto latest = load_latest_checkpoint(dir + "/ck");
  REQUIRE(latest.is_ok());
  CHECK(latest->checkpoint.round == rounds);
  // Every round completed exactly once, in order.
  std::vector<int> completed;
  for (const auto& line : lines_of(dir + "/ck/metrics.jsonl")) {
    // A round ends completed or (after its retries) skipped: either way exactly once.
    if (line.find("\"outcome\":\"completed\"") != std::string::npos ||
        line.find("\"outcome\":\"skipped\"") != std::string::npos) {
      completed.push_back(static_cast<int>(number_after(line, "round")));
    }
  }
  std::vector<int> expected;
  for (int r = 1; r <= rounds; ++r) expected.push_back(r);
  INFO("completed rounds in metrics.jsonl: " << completed.size());
  CHECK(completed == expected);
  REQUIRE(latest->checkpoint.history.size() == static_cast<size_t>(rounds));
  for (int r = 0; r < rounds; ++r) CHECK(latest->checkpoint.history[r].round == r + 1);
  remove_test_dir(dir);
}

TEST_CASE("the live page renders the round chart in headless Chromium") {
  const char* candidates[] = {"/usr/bin/chromium", "/usr/bin/chromium-browser"};
  std::string chromium;
  for (const char* c : candidates) {
    if (::access(c, X_OK) == 0) chromium = c;
  }
  if (chromium.empty()) {
    MESSAGE("chromium is not installed (scripts/setup.sh with NF_SETUP_EXTRA=chromium): skipped");
    return;
  }
  const auto dir = temp_dir();
  const int port = free_port();
  const int http_port = free_port();
  // An aggregator that ran 3 rounds and keeps serving: rounds = 4 with a 4th
  // round that never gets its devices.
  auto args = aggregator_args(dir, port, 3, 2, {});
  const pid_t agg = spawn(args, dir + "/aggregator.log");
  std::vector<pid_t> agents;
  for (int i = 0; i < 2; ++i) agents.push_back(start_agent(dir, port, i));
  REQUIRE(wait_for(agg, 240) == 0);
  kill_all(agents);
  // Restart on the finished checkpoint with one more round and no device: it
  // serves the page of the 3 rounds while it waits.
  args = aggregator_args(dir, port, 4, 2, {}, http_port);
  const pid_t server = spawn(args, dir + "/aggregator2.log");
  REQUIRE(wait_for_text(dir + "/aggregator2.log", "live page on", 60));
  const std::string profile = temp_dir();
  const pid_t browser = spawn({chromium, "--headless", "--no-sandbox", "--disable-gpu",
                               "--disable-background-networking", "--disable-component-update",
                               "--disable-sync", "--no-first-run", "--user-data-dir=" + profile,
                               "--dump-dom", "http://127.0.0.1:" + std::to_string(http_port) + "/"},
                              dir + "/dom.html");
  const int browser_exit = wait_for(browser, 90);
  ::kill(server, SIGTERM);
  CHECK(wait_for(server, 30) == 0);
  CHECK(browser_exit == 0);
  auto dom = read_text_file(dir + "/dom.html");
  REQUIRE(dom.is_ok());
  // The script ran: three points on the chart, a line through them, the rounds table.
  size_t points = 0;
  for (size_t p = dom->find("class=\"point\""); p != std::string::npos;
       p = dom->find("class=\"point\"", p + 1)) {
    ++points;
  }
  CHECK(points == 3);
  CHECK(dom->find("<polyline class=\"line\"") != std::string::npos);
  CHECK(dom->find("round: 3 / 4") != std::string::npos);
  CHECK(dom->find("<td>3</td>") != std::string::npos);
  remove_test_dir(dir);
  std::filesystem::remove_all(profile);
}

}  // namespace nf::aggregator
