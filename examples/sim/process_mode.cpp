#include "examples/sim/process_mode.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

#include "aggregator/checkpoint.h"
#include "core/util/file.h"
#include "core/util/hash.h"
#include "examples/sim/simulation.h"
#include "examples/sim/virtual_clients.h"

namespace nf::sim {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

volatile std::sig_atomic_t g_signal = 0;

void on_signal(int sig) {
  g_signal = sig;
}

// SIGINT and SIGTERM set g_signal while a run is in progress; the previous
// handlers come back when it ends.
class SignalGuard {
 public:
  SignalGuard() {
    g_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old_int_);
    ::sigaction(SIGTERM, &sa, &old_term_);
  }
  ~SignalGuard() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
  }
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return std::string("was killed by signal ") + strsignal(WTERMSIG(status));
  return "stopped";
}

// The last `n` non-empty lines of a log, for error messages.
std::string log_tail(const std::string& path, size_t n = 3) {
  auto text = read_text_file(path);
  if (!text.is_ok()) return "";
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text->size()) {
    size_t end = text->find('\n', start);
    if (end == std::string::npos) end = text->size();
    if (end > start) lines.push_back(text->substr(start, end - start));
    start = end + 1;
  }
  std::string out;
  for (size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i) {
    out += "\n    " + lines[i];
  }
  return out;
}

// The child processes of one run. Whatever happens, the destructor ends
// every child still running (SIGTERM, then SIGKILL) and reaps it.
class Children {
 public:
  struct Child {
    std::string name;
    std::string log;
    pid_t pid = -1;
    bool running = false;
    int status = 0;
    int64_t peak_rss_bytes = 0;
  };

  ~Children() { terminate_all(std::chrono::seconds(3)); }

  // Starts argv[0] with stdout into `out` and stderr into `log`. The child
  // dies with this process (PR_SET_PDEATHSIG). Fails if exec fails.
  Result<size_t> start(const std::string& name, const std::vector<std::string>& args,
                       const std::string& out, const std::string& log) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return io_error(std::string("pipe: ") + strerror(errno));
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
      ::close(pipe_fds[0]);
      ::close(pipe_fds[1]);
      return io_error("cannot fork for " + name + ": " + strerror(errno));
    }
    if (pid == 0) {
      // Only async-signal-safe calls until exec.
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(127);
      const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int e = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (o >= 0) ::dup2(o, 1);
      if (e >= 0) ::dup2(e, 2);
      ::execv(argv[0], argv.data());
      const int err = errno;
      (void)!::write(pipe_fds[1], &err, sizeof err);
      ::_exit(127);
    }
    ::close(pipe_fds[1]);
    int exec_errno = 0;
    const ssize_t got = ::read(pipe_fds[0], &exec_errno, sizeof exec_errno);
    ::close(pipe_fds[0]);
    if (got == static_cast<ssize_t>(sizeof exec_errno)) {
      ::waitpid(pid, nullptr, 0);
      return io_error("cannot start " + args[0] + ": " + strerror(exec_errno));
    }
    Child c;
    c.name = name;
    c.log = log;
    c.pid = pid;
    c.running = true;
    children_.push_back(std::move(c));
    return children_.size() - 1;
  }

  // Reaps whichever children have exited, without blocking.
  void poll() {
    for (Child& c : children_) {
      if (c.running) reap(c, WNOHANG);
    }
  }

  // Waits for one child to exit by itself, up to `limit`; false on timeout.
  bool wait(size_t index, std::chrono::milliseconds limit) {
    Child& c = children_[index];
    const auto end = Clock::now() + limit;
    while (c.running && Clock::now() < end && g_signal == 0) {
      reap(c, WNOHANG);
      if (c.running) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return !c.running;
  }

  // SIGTERM to every running child, then SIGKILL to those still running
  // after `grace`; every child is reaped.
  void terminate_all(std::chrono::milliseconds grace) {
    for (Child& c : children_) {
      if (c.running) ::kill(c.pid, SIGTERM);
    }
    const auto end = Clock::now() + grace;
    for (;;) {
      poll();
      bool any = false;
      for (const Child& c : children_) any = any || c.running;
      if (!any) return;
      if (Clock::now() >= end) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    for (Child& c : children_) {
      if (c.running) {
        ::kill(c.pid, SIGKILL);
        reap(c, 0);
      }
    }
  }

  Child& operator[](size_t i) { return children_[i]; }
  size_t size() const { return children_.size(); }

 private:
  static void reap(Child& c, int flags) {
    int status = 0;
    rusage usage{};
    const pid_t r = ::wait4(c.pid, &status, flags, &usage);
    if (r == c.pid) {
      c.running = false;
      c.status = status;
      c.peak_rss_bytes = static_cast<int64_t>(usage.ru_maxrss) * 1024;
    } else if (r < 0 && errno == ECHILD) {
      c.running = false;
    }
  }

  std::vector<Child> children_;
};

Status interrupted() {
  return unavailable(std::string("interrupted by ") + (g_signal == SIGINT ? "SIGINT" : "SIGTERM") +
                     ": every child process was stopped");
}

// Runs a short command (nf certs) to completion.
Status run_command(Children& children, const std::string& name,
                   const std::vector<std::string>& args, const std::string& log) {
  NF_ASSIGN_OR_RETURN(size_t i, children.start(name, args, log + ".out", log));
  if (!children.wait(i, std::chrono::seconds(60))) {
    if (g_signal != 0) return interrupted();
    return deadline_exceeded(name + " did not finish within 60 s");
  }
  const int status = children[i].status;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return internal_error(name + " " + describe_exit(status) + log_tail(log));
  }
  return Status::ok();
}

// The "host:port" after "TLS on " in the aggregator's log, once it listens.
std::string listening_address(const std::string& log) {
  auto text = read_text_file(log);
  if (!text.is_ok()) return "";
  const std::string marker = "mutual TLS on ";
  const size_t at = text->find(marker);
  if (at == std::string::npos) return "";
  const size_t end = text->find('\n', at);
  if (end == std::string::npos) return "";  // the line is not complete yet
  return text->substr(at + marker.size(), end - at - marker.size());
}

std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// Reads the metrics lines appended since `offset`; only complete lines.
Status read_new_lines(const std::string& path, size_t& offset, std::vector<std::string>& lines) {
  if (!fs::exists(path)) return Status::ok();
  NF_ASSIGN_OR_RETURN(std::string text, read_text_file(path));
  while (offset < text.size()) {
    const size_t end = text.find('\n', offset);
    if (end == std::string::npos) break;
    lines.push_back(text.substr(offset, end - offset));
    offset = end + 1;
  }
  return Status::ok();
}

}  // namespace

int process_mode_signal() {
  return g_signal;
}

std::string self_directory(const char* argv0) {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec || exe.empty()) exe = fs::absolute(argv0 != nullptr ? argv0 : "", ec);
  return exe.parent_path().string();
}

Result<std::string> find_program(const std::string& flag_value, const std::string& flag,
                                 const std::string& name, const std::string& build_subdir,
                                 const std::string& self_dir) {
  if (!flag_value.empty()) {
    if (::access(flag_value.c_str(), X_OK) != 0 || fs::is_directory(flag_value)) {
      return not_found(flag + " '" + flag_value + "' is not an executable file");
    }
    return flag_value;
  }
  const std::vector<std::string> candidates = {
      (fs::path(self_dir) / name).string(),
      (fs::path(self_dir).parent_path() / build_subdir / name).lexically_normal().string()};
  for (const std::string& c : candidates) {
    if (::access(c.c_str(), X_OK) == 0 && !fs::is_directory(c)) return c;
  }
  return not_found(name + " not found (looked at " + candidates[0] + " and " + candidates[1] +
                   "): build it (cmake --build build/release --target " + name + ") or pass " +
                   flag + " PATH");
}

Result<SimSummary> run_process_simulation(const SimOptions& o, const char* argv0,
                                          const std::function<void(const RoundRecord&)>& progress) {
  NF_RETURN_IF_ERROR(o.validate());
  const int64_t m = o.processes;
  if (m < 1) return invalid_argument("--processes " + std::to_string(m) + " must be >= 1");
  if (m > o.clients) {
    return invalid_argument("--processes " + std::to_string(m) + " exceeds --clients " +
                            std::to_string(o.clients) +
                            ": each agent holds one of the --clients shards");
  }
  if (o.dropout > 0 || o.stragglers > 0) {
    return invalid_argument(
        "--dropout and --stragglers are injected in-process only; with --processes, failures "
        "are real ones");
  }
  const int64_t per_round = std::min(o.per_round, m);
  const auto start = Clock::now();
  const double start_unix = unix_now();

  const std::string self_dir = self_directory(argv0);
  NF_ASSIGN_OR_RETURN(
      const std::string aggregator_bin,
      find_program(o.aggregator_bin, "--aggregator-bin", "nf-aggregator", "aggregator", self_dir));
  NF_ASSIGN_OR_RETURN(
      const std::string agent_bin,
      find_program(o.agent_bin, "--agent-bin", "nf-agent", "device_agent", self_dir));
  NF_ASSIGN_OR_RETURN(const std::string nf_bin,
                      find_program(o.nf_bin, "--nf-bin", "nf", "tools/nf", self_dir));

  // The model as the aggregator will build it, for the summary's figures.
  NF_ASSIGN_OR_RETURN(ModelSpec spec, sim_model_spec(o));
  NF_ASSIGN_OR_RETURN(std::unique_ptr<Model> model, Model::create(spec));
  SimSummary summary;
  summary.label = o.label;
  summary.mode = "processes";
  summary.processes = m;
  summary.clients = m;
  summary.per_round = per_round;
  summary.threads = 1;
  describe_model(*model, spec, summary);

  // The work directory: certificates, the aggregator's state, every log.
  std::string dir = o.work_dir;
  const bool temporary = dir.empty();
  std::error_code ec;
  if (temporary) {
    char tmpl[] = "/tmp/nf-sim-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      return io_error(std::string("cannot make a temporary directory: ") + strerror(errno));
    }
    dir = tmpl;
  } else {
    if (fs::exists(fs::path(dir) / "aggregator")) {
      return failed_precondition("--work-dir '" + dir +
                                 "' already holds a run (its aggregator would resume it): "
                                 "choose a new directory");
    }
    fs::create_directories(dir, ec);
    if (ec) return io_error("cannot create --work-dir '" + dir + "': " + ec.message());
  }
  const std::string certs = dir + "/certs";
  const std::string metrics = dir + "/metrics.jsonl";
  fs::create_directories(dir + "/agents", ec);
  if (ec) return io_error("cannot create '" + dir + "/agents': " + ec.message());

  SignalGuard signals;
  Children children;
  // Keeps the directory (and says so) when the run fails.
  auto fail = [&](const Status& s) -> Status {
    children.terminate_all(std::chrono::seconds(3));
    return s.with_context("process mode (logs in " + dir + ")");
  };

  // Certificates made on the fly: a CA, the aggregator's (localhost,
  // 127.0.0.1) and one per device, whose common name is the device's identity.
  std::vector<std::string> names;
  for (int64_t i = 0; i < m; ++i) names.push_back(client_name(i, m));
  if (Status s = run_command(children, "nf certs ca", {nf_bin, "certs", "ca", "--dir", certs},
                             dir + "/certs.log");
      !s.is_ok()) {
    return fail(s);
  }
  if (Status s = run_command(children, "nf certs server",
                             {nf_bin, "certs", "server", "--dir", certs}, dir + "/certs.log");
      !s.is_ok()) {
    return fail(s);
  }
  std::vector<std::string> device_args = {nf_bin, "certs", "device", "--dir", certs};
  device_args.insert(device_args.end(), names.begin(), names.end());
  if (Status s = run_command(children, "nf certs device", device_args, dir + "/certs.log");
      !s.is_ok()) {
    return fail(s);
  }

  std::vector<std::string> agg_args = {aggregator_bin,
                                       "--listen",
                                       "127.0.0.1:0",
                                       "--http-listen",
                                       "",
                                       "--tls-cert",
                                       certs + "/server.crt",
                                       "--tls-key",
                                       certs + "/server.key",
                                       "--tls-ca",
                                       certs + "/ca.crt",
                                       "--rounds",
                                       std::to_string(o.rounds),
                                       "--clients-per-round",
                                       std::to_string(per_round),
                                       "--min-clients",
                                       std::to_string(m),
                                       "--rounds-seed",
                                       std::to_string(o.seed),
                                       "--deadline-seconds",
                                       number_text(static_cast<double>(o.deadline_ms) / 1000),
                                       "--strategy",
                                       o.strategy,
                                       "--epochs",
                                       std::to_string(o.epochs),
                                       "--batch",
                                       std::to_string(o.batch),
                                       "--lr",
                                       number_text(o.lr),
                                       "--optimizer",
                                       o.optimizer,
                                       "--encoding",
                                       o.encoding,
                                       "--ordered-aggregation",
                                       "--dir",
                                       dir + "/aggregator",
                                       "--metrics-file",
                                       metrics,
                                       "--examples",
                                       std::to_string(o.max_test > 0 ? o.max_test : 10000),
                                       "--every",
                                       std::to_string(o.eval_every),
                                       "--json"};
  if (!o.model.empty()) {
    agg_args.insert(agg_args.end(), {"--model-spec", o.model});
  } else {
    agg_args.insert(agg_args.end(), {"--fabric", o.fabric, "--budget", number_text(o.budget),
                                     "--model-seed", std::to_string(o.seed)});
  }
  if (!o.data_dir.empty()) agg_args.insert(agg_args.end(), {"--data-dir", o.data_dir});
  auto agg_started =
      children.start("nf-aggregator", agg_args, dir + "/aggregator.json", dir + "/aggregator.log");
  if (!agg_started.is_ok()) return fail(agg_started.status());
  const size_t agg = *agg_started;

  // The aggregator listens on a port of the kernel's choosing and logs it.
  std::string address;
  while (address.empty()) {
    if (g_signal != 0) return fail(interrupted());
    children.poll();
    if (!children[agg].running) {
      return fail(internal_error("nf-aggregator " + describe_exit(children[agg].status) +
                                 " before listening" + log_tail(dir + "/aggregator.log")));
    }
    address = listening_address(dir + "/aggregator.log");
    if (address.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }

  for (int64_t i = 0; i < m; ++i) {
    const std::string& name = names[static_cast<size_t>(i)];
    std::vector<std::string> args = {agent_bin,
                                     "--aggregator",
                                     address,
                                     "--cert",
                                     certs + "/" + name + ".crt",
                                     "--key",
                                     certs + "/" + name + ".key",
                                     "--ca",
                                     certs + "/ca.crt",
                                     "--device-id",
                                     name,
                                     "--partition",
                                     o.partition,
                                     "--clients",
                                     std::to_string(o.clients),
                                     "--client-index",
                                     std::to_string(i),
                                     "--partition-seed",
                                     std::to_string(o.seed),
                                     "--state-dir",
                                     dir + "/agents/" + name,
                                     "--backoff-initial-ms",
                                     "100",
                                     "--backoff-max-ms",
                                     "1000"};
    if (!o.data_dir.empty()) args.insert(args.end(), {"--idx-dir", o.data_dir});
    auto started = children.start(name, args, dir + "/agents/" + name + ".out",
                                  dir + "/agents/" + name + ".log");
    if (!started.is_ok()) return fail(started.status());
  }

  // Follow the metrics file until the aggregator exits; an agent that exits
  // first is an error (the rounds would wait for it forever).
  size_t offset = 0;
  auto drain = [&]() -> Status {
    std::vector<std::string> lines;
    NF_RETURN_IF_ERROR(read_new_lines(metrics, offset, lines));
    for (const std::string& line : lines) {
      NF_ASSIGN_OR_RETURN(RoundRecord r, parse_metrics_line(line));
      summary.history.push_back(r);
      if (progress) progress(summary.history.back());
    }
    return Status::ok();
  };
  const auto agents_started = Clock::now();
  bool hinted = false;
  for (;;) {
    if (g_signal != 0) return fail(interrupted());
    children.poll();
    if (Status s = drain(); !s.is_ok()) return fail(s);
    if (!children[agg].running) break;
    // Agents that cannot connect (a TLS problem) retry forever: say where to look.
    if (!hinted && !o.quiet && summary.history.empty() &&
        Clock::now() - agents_started > std::chrono::seconds(60)) {
      std::fprintf(stderr,
                   "nf-sim: no round after 60 s: nf-aggregator waits for %lld devices (see %s/"
                   "aggregator.log and %s/agents/*.log; Ctrl-C stops everything)\n",
                   static_cast<long long>(m), dir.c_str(), dir.c_str());
      hinted = true;
    }
    for (size_t i = 0; i < children.size(); ++i) {
      const auto& c = children[i];
      if (i > agg && !c.running) {
        return fail(internal_error("nf-agent " + c.name + " " + describe_exit(c.status) +
                                   " during the rounds" + log_tail(c.log)));
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const int agg_status = children[agg].status;
  if (!WIFEXITED(agg_status) || WEXITSTATUS(agg_status) != 0) {
    return fail(internal_error("nf-aggregator " + describe_exit(agg_status) +
                               log_tail(dir + "/aggregator.log")));
  }
  children.terminate_all(std::chrono::seconds(5));  // the agents, whose work is done
  summary.wall_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  summarize_rounds(summary, start_unix);
  summary.peak_rss_bytes = children[agg].peak_rss_bytes;
  for (size_t i = agg + 1; i < children.size(); ++i) {
    summary.agent_peak_rss_bytes =
        std::max(summary.agent_peak_rss_bytes, children[i].peak_rss_bytes);
  }

  auto checkpoint = aggregator::load_latest_checkpoint(dir + "/aggregator");
  if (!checkpoint.is_ok()) return fail(checkpoint.status().with_context("the final checkpoint"));
  if (checkpoint->checkpoint.model_identity != summary.model_identity) {
    return fail(internal_error("the aggregator trained model " +
                               hash_hex(checkpoint->checkpoint.model_identity) +
                               ", not the expected " + hash_hex(summary.model_identity)));
  }
  summary.final_model_hash = values_hash(checkpoint->checkpoint.global_values);
  if (!o.metrics.empty()) {
    auto text = read_text_file(metrics);
    if (!text.is_ok()) return fail(text.status());
    if (Status s = write_file_atomic(o.metrics, *text); !s.is_ok()) return fail(s);
  }
  if (temporary) fs::remove_all(dir, ec);
  return summary;
}

}  // namespace nf::sim
