// DeviceRegistry: every device the aggregator knows, keyed by identity (the
// certificate CN over TLS; the hello's device id over in-process or insecure TCP).
//
// A device has at most one current session. When it reconnects while an old
// session still looks alive, the new session supersedes the old one: only the
// current session may deliver an update, so a device is never counted twice.
// Not thread-safe: the server touches it only on its network executor.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "aggregator/checkpoint.h"

namespace nf::aggregator {

struct DeviceState {
  DeviceRecord record;
  bool connected = false;
  uint64_t session = 0;  // the current session id; 0 when never connected
  double connected_since = 0;
  double last_seen = 0;
  std::string address;
  std::string last_failure;
};

class DeviceRegistry {
 public:
  // Registers a new session of `identity` and returns its id (never 0). Any
  // previous session of the same identity is no longer current.
  uint64_t connect(const std::string& identity, const std::string& address, double now);
  // Marks the device disconnected if `session` is still its current one.
  void disconnect(const std::string& identity, uint64_t session, double now);
  void seen(const std::string& identity, double now);
  bool is_current(const std::string& identity, uint64_t session) const;

  void record_success(const std::string& identity, int64_t round);
  void record_failure(const std::string& identity, const std::string& reason);

  // Identities of connected devices, sorted (so sampling is deterministic).
  std::vector<std::string> connected() const;
  size_t connected_count() const;
  const std::map<std::string, DeviceState>& devices() const { return devices_; }
  const DeviceState* find(const std::string& identity) const;

  std::vector<DeviceRecord> records() const;
  // Restores records from a checkpoint; every device starts disconnected.
  void restore(const std::vector<DeviceRecord>& records);

 private:
  std::map<std::string, DeviceState> devices_;
  uint64_t next_session_ = 1;
};

}  // namespace nf::aggregator
