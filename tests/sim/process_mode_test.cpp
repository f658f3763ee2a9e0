// nf-sim --processes: the real nf-aggregator and nf-agent processes over
// mutual TLS on loopback, with certificates made by `nf certs` on the fly.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/sim/run_program.h"

namespace nf::sim {
namespace {

const std::string kSim = std::string(NF_BINARY_DIR) + "/examples/nf-sim";

std::string temp_dir() {
  char tmpl[] = "/tmp/nf_sim_proc_XXXXXX";
  return ::mkdtemp(tmpl);
}

// Processes whose command line mentions `text` (a run's unique work dir).
int processes_mentioning(const std::string& text) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    if (s.str().find(text) != std::string::npos) ++count;
  }
  return count;
}

size_t count_lines(const std::string& path) {
  auto text = read_text_file(path);
  if (!text.is_ok()) return 0;
  size_t n = 0;
  for (char c : *text) n += c == '\n' ? 1 : 0;
  return n;
}

std::vector<std::string> small_run(const std::string& work, int processes, int rounds) {
  return {kSim,
          "--processes",
          std::to_string(processes),
          "--clients",
          "30",
          "--per-round",
          std::to_string(processes),
          "--rounds",
          std::to_string(rounds),
          "--epochs",
          "1",
          "--max-test",
          "500",
          "--partition",
          "iid",
          "--work-dir",
          work};
}

TEST_CASE("nf-sim --processes 3: real programs over TLS, a summary, no child left behind") {
  const std::string dir = temp_dir();
  const std::string work = dir + "/run";
  std::vector<std::string> args = small_run(work, 3, 2);
  args.insert(args.end(), {"--metrics", dir + "/metrics.jsonl", "--json"});
  const test::Run r = test::run_program(args, dir + "/stderr.txt");
  INFO("stderr: " << r.err);
  INFO("aggregator log: " << test::file_text(work + "/aggregator.log"));
  REQUIRE(r.exit_code == 0);
  CHECK(test::json_field(r.out, "mode") == "processes");
  CHECK(test::json_field(r.out, "processes") == "3");
  CHECK(test::json_field(r.out, "rounds") == "2");
  CHECK(test::json_field(r.out, "client_updates") == "6");
  CHECK(std::stod(test::json_field(r.out, "final_accuracy")) > 0.3);
  CHECK(std::stod(test::json_field(r.out, "rounds_seconds")) > 0);
  CHECK(std::stod(test::json_field(r.out, "bytes_up_per_client_round")) > 100000);
  CHECK(test::json_field(r.out, "final_model_hash").size() == 16);
  // Progress: one line per round, read from the aggregator's metrics.
  CHECK(r.err.find("round    1/2") != std::string::npos);
  CHECK(r.err.find("round    2/2") != std::string::npos);
  CHECK(count_lines(dir + "/metrics.jsonl") == 2);
  // The agents authenticated with their certificates (the aggregator knows them by CN).
  const std::string metrics = test::file_text(dir + "/metrics.jsonl");
  for (const char* id : {"\"client-0\"", "\"client-1\"", "\"client-2\""}) {
    CHECK(metrics.find(id) != std::string::npos);
  }
  CHECK(processes_mentioning(work) == 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("nf-sim --processes names the program it cannot find and the flag to pass") {
  const std::string dir = temp_dir();
  std::vector<std::string> args = small_run(dir + "/run", 2, 1);
  args.insert(args.end(), {"--aggregator-bin", dir + "/no-such-aggregator"});
  const test::Run r = test::run_program(args, dir + "/stderr.txt");
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("--aggregator-bin '" + dir + "/no-such-aggregator' is not an executable") !=
        std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("Ctrl-C stops nf-sim --processes and every child it started") {
  const std::string dir = temp_dir();
  const std::string work = dir + "/run";
  const std::vector<std::string> args = small_run(work, 2, 1000);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const std::string log = dir + "/out.txt";
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  // Wait for the first round, so that the aggregator and the agents are all up.
  bool started = false;
  for (int i = 0; i < 1200 && !started; ++i) {
    started = count_lines(work + "/metrics.jsonl") >= 1;
    if (!started) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(started);
  CHECK(processes_mentioning(work) >= 3);  // nf-aggregator and two nf-agent
  ::kill(pid, SIGINT);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  INFO(test::file_text(dir + "/out.txt"));
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 128 + SIGINT);
  CHECK(test::file_text(dir + "/out.txt").find("interrupted by SIGINT") != std::string::npos);
  CHECK(processes_mentioning(work) == 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace nf::sim
