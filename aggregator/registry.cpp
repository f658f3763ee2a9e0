#include "aggregator/registry.h"

namespace nf::aggregator {

uint64_t DeviceRegistry::connect(const std::string& identity, const std::string& address,
                                 double now) {
  auto& d = devices_[identity];
  d.record.identity = identity;
  d.connected = true;
  d.session = next_session_++;
  d.connected_since = now;
  d.last_seen = now;
  d.address = address;
  return d.session;
}

void DeviceRegistry::disconnect(const std::string& identity, uint64_t session, double now) {
  auto it = devices_.find(identity);
  if (it == devices_.end() || it->second.session != session) return;
  it->second.connected = false;
  it->second.last_seen = now;
}

void DeviceRegistry::seen(const std::string& identity, double now) {
  auto it = devices_.find(identity);
  if (it != devices_.end()) it->second.last_seen = now;
}

bool DeviceRegistry::is_current(const std::string& identity, uint64_t session) const {
  auto it = devices_.find(identity);
  return it != devices_.end() && it->second.connected && it->second.session == session;
}

void DeviceRegistry::record_success(const std::string& identity, int64_t round) {
  auto& d = devices_[identity];
  d.record.identity = identity;
  d.record.rounds_completed += 1;
  d.record.last_round = round;
}

void DeviceRegistry::record_failure(const std::string& identity, const std::string& reason) {
  auto& d = devices_[identity];
  d.record.identity = identity;
  d.record.failures += 1;
  d.last_failure = reason;
}

std::vector<std::string> DeviceRegistry::connected() const {
  std::vector<std::string> ids;
  for (const auto& [id, d] : devices_) {
    if (d.connected) ids.push_back(id);
  }
  return ids;
}

size_t DeviceRegistry::connected_count() const {
  size_t n = 0;
  for (const auto& [id, d] : devices_) n += d.connected ? 1 : 0;
  return n;
}

const DeviceState* DeviceRegistry::find(const std::string& identity) const {
  auto it = devices_.find(identity);
  return it == devices_.end() ? nullptr : &it->second;
}

std::vector<DeviceRecord> DeviceRegistry::records() const {
  std::vector<DeviceRecord> out;
  out.reserve(devices_.size());
  for (const auto& [id, d] : devices_) out.push_back(d.record);
  return out;
}

void DeviceRegistry::restore(const std::vector<DeviceRecord>& records) {
  devices_.clear();
  for (const auto& r : records) devices_[r.identity].record = r;
}

}  // namespace nf::aggregator
