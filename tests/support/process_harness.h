// Real processes for integration tests: start a program with its output in a
// log file, wait for it with a bound, read what it wrote. Lifted from
// tests/aggregator/process_test.cpp so that every suite that runs
// nf-aggregator, nf-agent or nf as processes shares one copy.
//
// Every wait is bounded; a process still running when its bound passes is
// killed, so a test never hangs. A child still running when the test program
// exits (a test case ended early by a failed REQUIRE) is killed then, so no
// program outlives the suite. Failures to start are REQUIRE failures of the
// calling test (doctest).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace nf::test {

// Programs of this build tree.
std::string aggregator_binary();  // aggregator/nf-aggregator
std::string agent_binary();       // device_agent/nf-agent
std::string nf_binary();          // tools/nf/nf

// A fresh directory /tmp/<prefix>XXXXXX.
std::string make_temp_dir(const std::string& prefix);

// A TCP port on 127.0.0.1 that was free a moment ago (the kernel's choice).
int free_port();

// Starts argv (args[0] is the program's path) with stdout and stderr
// appended to `log`.
pid_t spawn(const std::vector<std::string>& args, const std::string& log);

// Waits up to `seconds` for pid. Returns its exit code, 128 + the signal that
// ended it, or -1 when it was still running (it is then killed and reaped).
int wait_for(pid_t pid, double seconds);

// Sends SIGKILL to each and reaps them.
void kill_all(const std::vector<pid_t>& pids);

// spawn + wait_for(60 s).
int run(const std::vector<std::string>& args, const std::string& log);

// A CA, the aggregator's certificate (CN "localhost") and one device
// certificate per name, made with the real `nf certs` in <dir>/certs, once
// per directory: <dir>/certs/{ca,server,<name>}.{crt,key}.
void make_certs(const std::string& dir, const std::vector<std::string>& devices);

// Removes a test's directory, unless NF_KEEP_TEST_DIRS is set (to read the
// programs' logs after a failure).
void remove_test_dir(const std::string& dir);

// The file's lines (none when it cannot be read).
std::vector<std::string> lines_of(const std::string& path);

// Polls `path` until it contains `text`; false after `seconds`.
bool wait_for_text(const std::string& path, const std::string& text, double seconds);

// Polls `path` until it has at least `count` lines; false after `seconds`.
bool wait_for_lines(const std::string& path, size_t count, double seconds);

// How often `text` occurs in the file.
size_t count_in_file(const std::string& path, const std::string& text);

// The number after "key": in a JSON line, or -1.
double number_after(const std::string& line, const std::string& key);

}  // namespace nf::test
