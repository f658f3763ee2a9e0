// Runs a program of the build tree for the simulation's process and MPI
// tests: its stdout captured, its stderr into a file, its exit code.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>
#include <vector>

#include "core/util/file.h"

namespace nf::sim::test {

struct Run {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// `args` are shell words without quotes or spaces (paths of the build tree,
// numbers, flags).
inline Run run_program(const std::vector<std::string>& args, const std::string& err_file) {
  std::string command;
  for (const std::string& a : args) command += a + " ";
  command += "2>" + err_file;
  Run r;
  std::FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t got = 0;
  while ((got = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, got);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  auto text = read_text_file(err_file);
  if (text.is_ok()) r.err = *text;
  return r;
}

// A file's text, or "" when it cannot be read.
inline std::string file_text(const std::string& path) {
  auto text = read_text_file(path);
  return text.is_ok() ? *text : std::string();
}

// The value of "key": in a one-line JSON object, as text ("" when absent).
inline std::string json_field(const std::string& json, const std::string& key) {
  const std::string quoted = "\"" + key + "\":";
  const size_t at = json.find(quoted);
  if (at == std::string::npos) return "";
  size_t begin = at + quoted.size();
  size_t end = begin;
  if (json[begin] == '"') {
    end = json.find('"', begin + 1);
    return json.substr(begin + 1, end - begin - 1);
  }
  while (end < json.size() && json[end] != ',' && json[end] != '}') ++end;
  return json.substr(begin, end - begin);
}

}  // namespace nf::sim::test
