#include "tests/support/process_harness.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "core/util/file.h"

extern char** environ;

namespace nf::test {
namespace {

// Every child spawned and not yet reaped. A test case that ends early (a
// failed REQUIRE throws past its waits and kills) must not leave programs
// running after the test program: they are killed when it exits.
struct Children {
  std::mutex mutex;
  std::set<pid_t> pids;
  ~Children() {
    for (pid_t p : pids) {
      ::kill(p, SIGKILL);
      ::waitpid(p, nullptr, 0);
    }
  }
};

Children& children() {
  static Children c;
  return c;
}

void remember(pid_t pid) {
  std::lock_guard lock(children().mutex);
  children().pids.insert(pid);
}

void forget(pid_t pid) {
  std::lock_guard lock(children().mutex);
  children().pids.erase(pid);
}

}  // namespace

std::string aggregator_binary() {
  return std::string(NF_BINARY_DIR) + "/aggregator/nf-aggregator";
}
std::string agent_binary() {
  return std::string(NF_BINARY_DIR) + "/device_agent/nf-agent";
}
std::string nf_binary() {
  return std::string(NF_BINARY_DIR) + "/tools/nf/nf";
}

std::string make_temp_dir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "XXXXXX";
  REQUIRE_MESSAGE(::mkdtemp(tmpl.data()) != nullptr, "cannot make a directory " << tmpl);
  return tmpl;
}

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

pid_t spawn(const std::vector<std::string>& args, const std::string& log) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  REQUIRE_MESSAGE(rc == 0, "cannot start " << args[0]);
  remember(pid);
  return pid;
}

int wait_for(pid_t pid, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      forget(pid);
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  forget(pid);
  return -1;
}

void kill_all(const std::vector<pid_t>& pids) {
  for (pid_t p : pids) ::kill(p, SIGKILL);
  for (pid_t p : pids) {
    ::waitpid(p, nullptr, 0);
    forget(p);
  }
}

int run(const std::vector<std::string>& args, const std::string& log) {
  return wait_for(spawn(args, log), 60);
}

void make_certs(const std::string& dir, const std::vector<std::string>& devices) {
  const std::string certs = dir + "/certs";
  if (std::filesystem::exists(certs + "/ca.crt")) return;
  const std::string log = dir + "/certs.log";
  REQUIRE(run({nf_binary(), "certs", "ca", "--dir", certs}, log) == 0);
  REQUIRE(run({nf_binary(), "certs", "server", "--dir", certs}, log) == 0);
  std::vector<std::string> args = {nf_binary(), "certs", "device", "--dir", certs};
  args.insert(args.end(), devices.begin(), devices.end());
  REQUIRE(run(args, log) == 0);
}

void remove_test_dir(const std::string& dir) {
  const char* keep = std::getenv("NF_KEEP_TEST_DIRS");
  if (keep != nullptr && *keep != '\0') {
    MESSAGE("kept " << dir);
    return;
  }
  std::filesystem::remove_all(dir);
}

std::vector<std::string> lines_of(const std::string& path) {
  std::vector<std::string> lines;
  auto text = read_text_file(path);
  if (!text.is_ok()) return lines;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

bool wait_for_text(const std::string& path, const std::string& text, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    auto t = read_text_file(path);
    if (t.is_ok() && t->find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

bool wait_for_lines(const std::string& path, size_t count, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (lines_of(path).size() >= count) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

size_t count_in_file(const std::string& path, const std::string& text) {
  auto t = read_text_file(path);
  if (!t.is_ok()) return 0;
  size_t n = 0;
  for (size_t p = t->find(text); p != std::string::npos; p = t->find(text, p + 1)) ++n;
  return n;
}

double number_after(const std::string& line, const std::string& key) {
  const auto pos = line.find("\"" + key + "\":");
  if (pos == std::string::npos) return -1;
  return std::atof(line.c_str() + pos + key.size() + 3);
}

}  // namespace nf::test
