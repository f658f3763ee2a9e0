#include "device_agent/state_store.h"

#include <sys/stat.h>

#include <toml++/toml.h>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "core/util/file.h"
#include "core/util/hash.h"

namespace nf {

Result<AgentState> DirStateStore::load() {
  struct stat st {};
  if (::stat(path().c_str(), &st) != 0) {
    if (errno == ENOENT) return AgentState{};
    return io_error("cannot stat '" + path() + "': " + std::strerror(errno));
  }
  NF_ASSIGN_OR_RETURN(std::string text, read_text_file(path()));
  toml::table t;
  try {  // Debian's toml++ is built with exceptions: keep them inside this function
    t = toml::parse(text, path());
  } catch (const toml::parse_error& e) {
    return corrupt("agent state '" + path() +
                   "' is not valid TOML: " + std::string(e.description()));
  }
  AgentState s;
  const auto identity = t["model_identity"].value<std::string>();
  if (identity && !identity->empty()) {
    char* end = nullptr;
    s.model_identity = std::strtoull(identity->c_str(), &end, 16);
    if (end == nullptr || *end != '\0') {
      return corrupt("agent state '" + path() + "': model_identity '" + *identity +
                     "' is not hexadecimal");
    }
  }
  s.last_completed_round = t["last_completed_round"].value_or<int64_t>(-1);
  s.updates_sent = t["updates_sent"].value_or<int64_t>(0);
  if (const toml::array* answered = t["answered_tasks"].as_array()) {
    for (const auto& id : *answered) {
      const auto value = id.value<int64_t>();
      if (!value) {
        return corrupt("agent state '" + path() + "': answered_tasks holds a value that is not " +
                       "an integer task id");
      }
      s.answered_tasks.push_back(static_cast<uint64_t>(*value));
    }
  } else if (t["sent_round"].value_or<int64_t>(-1) >= 0) {
    // Written before answered_tasks existed: the last update sent is known
    // as (sent_round, sent_task), which later files no longer write.
    s.answered_tasks.push_back(static_cast<uint64_t>(t["sent_task"].value_or<int64_t>(0)));
  }
  return s;
}

Status DirStateStore::save(const AgentState& s) {
  // Parents too: a fresh device's state directory is often two levels deep.
  std::error_code ec;
  if (!std::filesystem::exists(dir_, ec)) {
    if (!std::filesystem::create_directories(dir_, ec)) {
      return io_error("cannot create state directory '" + dir_ + "': " + ec.message());
    }
    std::filesystem::permissions(dir_, std::filesystem::perms::owner_all, ec);
  }
  std::ostringstream out;
  out << "# nf-agent state: rewritten atomically after every task; do not edit while running\n"
      << "model_identity = \"" << (s.model_identity ? hash_hex(s.model_identity) : "") << "\"\n"
      << "last_completed_round = " << s.last_completed_round << "\n"
      << "updates_sent = " << s.updates_sent << "\n"
      << "answered_tasks = [";
  for (size_t i = 0; i < s.answered_tasks.size(); ++i) {
    out << (i ? ", " : "") << static_cast<int64_t>(s.answered_tasks[i]);
  }
  out << "]\n";
  return write_file_atomic(path(), out.str(), 0600);
}

std::unique_ptr<StateStore> make_state_store(const std::string& dir) {
  if (dir.empty()) return std::make_unique<MemoryStateStore>();
  return std::make_unique<DirStateStore>(dir);
}

}  // namespace nf
