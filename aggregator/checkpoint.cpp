#include "aggregator/checkpoint.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>

#include "core/util/file.h"
#include "core/util/hash.h"

namespace nf::aggregator {

namespace {

// The last byte is the format version: 1 lacks the federated evaluation figures.
constexpr uint8_t kMagic[8] = {'N', 'F', 'C', 'K', 'P', 'T', 0, 2};
constexpr uint8_t kVersion1 = 1;
constexpr const char* kPrefix = "checkpoint-";
constexpr const char* kSuffix = ".nfc";

class Writer {
 public:
  void u64(uint64_t v) {
    for (int i = 0; i < 8; ++i) bytes_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  void i64(int64_t v) { u64(static_cast<uint64_t>(v)); }
  void f64(double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    u64(bits);
  }
  void f32s(std::span<const float> values) {
    u64(values.size());
    for (float v : values) {
      uint32_t bits;
      std::memcpy(&bits, &v, 4);
      for (int i = 0; i < 4; ++i) bytes_.push_back(static_cast<uint8_t>(bits >> (8 * i)));
    }
  }
  void blob(std::span<const uint8_t> b) {
    u64(b.size());
    bytes_.insert(bytes_.end(), b.begin(), b.end());
  }
  void str(const std::string& s) { blob({reinterpret_cast<const uint8_t*>(s.data()), s.size()}); }
  std::vector<uint8_t>& bytes() { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

// Reads what Writer wrote; every read checks the remaining size first, so a
// damaged length can never make it read out of bounds.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> b) : b_(b) {}
  bool u64(uint64_t& v) {
    if (b_.size() - pos_ < 8) return false;
    v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(b_[pos_ + i]) << (8 * i);
    pos_ += 8;
    return true;
  }
  bool i64(int64_t& v) {
    uint64_t u;
    if (!u64(u)) return false;
    v = static_cast<int64_t>(u);
    return true;
  }
  bool f64(double& v) {
    uint64_t u;
    if (!u64(u)) return false;
    std::memcpy(&v, &u, 8);
    return true;
  }
  bool f32s(std::vector<float>& out) {
    uint64_t n;
    if (!u64(n) || n > (b_.size() - pos_) / 4) return false;
    out.resize(n);
    for (uint64_t k = 0; k < n; ++k) {
      uint32_t bits = 0;
      for (int i = 0; i < 4; ++i) bits |= static_cast<uint32_t>(b_[pos_ + i]) << (8 * i);
      std::memcpy(&out[k], &bits, 4);
      pos_ += 4;
    }
    return true;
  }
  bool blob(std::vector<uint8_t>& out) {
    uint64_t n;
    if (!u64(n) || n > b_.size() - pos_) return false;
    out.assign(b_.begin() + static_cast<ptrdiff_t>(pos_),
               b_.begin() + static_cast<ptrdiff_t>(pos_ + n));
    pos_ += n;
    return true;
  }
  bool str(std::string& out) {
    std::vector<uint8_t> b;
    if (!blob(b)) return false;
    out.assign(b.begin(), b.end());
    return true;
  }
  bool done() const { return pos_ == b_.size(); }

 private:
  std::span<const uint8_t> b_;
  size_t pos_ = 0;
};

uint64_t payload_checksum(std::span<const uint8_t> payload) {
  return Hasher().bytes(payload).digest();
}

std::string checkpoint_name(int64_t round) {
  char name[64];
  std::snprintf(name, sizeof name, "%s%08lld%s", kPrefix, static_cast<long long>(round), kSuffix);
  return name;
}

// Checkpoint files in `dir`, newest round first.
std::vector<std::pair<int64_t, std::string>> list_checkpoints(const std::string& dir) {
  std::vector<std::pair<int64_t, std::string>> found;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return found;
  const size_t prefix_len = std::strlen(kPrefix), suffix_len = std::strlen(kSuffix);
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.size() <= prefix_len + suffix_len || name.rfind(kPrefix, 0) != 0 ||
        name.compare(name.size() - suffix_len, suffix_len, kSuffix) != 0) {
      continue;
    }
    const std::string digits = name.substr(prefix_len, name.size() - prefix_len - suffix_len);
    if (digits.find_first_not_of("0123456789") != std::string::npos) continue;
    found.emplace_back(std::stoll(digits), dir + "/" + name);
  }
  ::closedir(d);
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a > b; });
  return found;
}

}  // namespace

Status make_directories(const std::string& dir) {
  std::string partial;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    partial = dir.substr(0, pos);
    if (partial.empty()) continue;
    if (::mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST) {
      return io_error("cannot create directory '" + partial + "': " + std::strerror(errno));
    }
  }
  return Status::ok();
}

std::vector<uint8_t> encode_checkpoint(const Checkpoint& c) {
  Writer p;
  p.i64(c.round);
  p.u64(c.model_identity);
  p.f32s(c.global_values);
  p.blob(c.strategy_state);
  p.u64(c.devices.size());
  for (const auto& d : c.devices) {
    p.str(d.identity);
    p.i64(d.rounds_completed);
    p.i64(d.failures);
    p.i64(d.last_round);
  }
  p.u64(c.history.size());
  for (const auto& h : c.history) {
    p.i64(h.round);
    p.i64(h.participants);
    p.i64(h.failures);
    p.f64(h.train_loss);
    p.f64(h.eval_loss);
    p.f64(h.eval_accuracy);
    p.f64(h.federated_loss);
    p.f64(h.federated_accuracy);
  }
  Writer file;
  file.bytes().assign(std::begin(kMagic), std::end(kMagic));
  file.u64(p.bytes().size());
  file.bytes().insert(file.bytes().end(), p.bytes().begin(), p.bytes().end());
  file.u64(payload_checksum(p.bytes()));
  return std::move(file.bytes());
}

Result<Checkpoint> decode_checkpoint(std::span<const uint8_t> bytes) {
  if (bytes.size() < 24 || !std::equal(std::begin(kMagic), std::end(kMagic) - 1, bytes.begin()) ||
      (bytes[7] != kMagic[7] && bytes[7] != kVersion1)) {
    return corrupt("not a checkpoint (bad magic or " + std::to_string(bytes.size()) + " bytes)");
  }
  Reader header(bytes.subspan(8, 8));
  uint64_t payload_size = 0;
  (void)header.u64(payload_size);
  if (payload_size != bytes.size() - 24) {
    return corrupt("payload size " + std::to_string(payload_size) + " but file holds " +
                   std::to_string(bytes.size() - 24) + " bytes (torn write?)");
  }
  const auto payload = bytes.subspan(16, payload_size);
  Reader trailer(bytes.subspan(16 + payload_size, 8));
  uint64_t stored = 0;
  (void)trailer.u64(stored);
  if (stored != payload_checksum(payload)) return corrupt("checksum mismatch");

  Checkpoint c;
  Reader r(payload);
  uint64_t n = 0;
  bool ok = r.i64(c.round) && r.u64(c.model_identity) && r.f32s(c.global_values) &&
            r.blob(c.strategy_state) && r.u64(n) && n <= payload_size;
  for (uint64_t i = 0; ok && i < n; ++i) {
    DeviceRecord d;
    ok = r.str(d.identity) && r.i64(d.rounds_completed) && r.i64(d.failures) && r.i64(d.last_round);
    c.devices.push_back(std::move(d));
  }
  ok = ok && r.u64(n) && n <= payload_size;
  for (uint64_t i = 0; ok && i < n; ++i) {
    RoundSummary h;
    ok = r.i64(h.round) && r.i64(h.participants) && r.i64(h.failures) && r.f64(h.train_loss) &&
         r.f64(h.eval_loss) && r.f64(h.eval_accuracy);
    if (bytes[7] != kVersion1) ok = ok && r.f64(h.federated_loss) && r.f64(h.federated_accuracy);
    c.history.push_back(h);
  }
  if (!ok || !r.done()) return corrupt("malformed payload");
  if (c.round < 0) return corrupt("negative round " + std::to_string(c.round));
  return c;
}

Status save_checkpoint(const std::string& dir, const Checkpoint& checkpoint, int kept) {
  assert(kept >= 2);
  NF_RETURN_IF_ERROR(make_directories(dir));
  const auto bytes = encode_checkpoint(checkpoint);
  NF_RETURN_IF_ERROR(write_file_atomic(dir + "/" + checkpoint_name(checkpoint.round), bytes));
  const auto files = list_checkpoints(dir);
  for (size_t i = static_cast<size_t>(kept); i < files.size(); ++i) {
    ::unlink(files[i].second.c_str());  // best effort: an extra old file harms nothing
  }
  return Status::ok();
}

Result<LoadedCheckpoint> load_latest_checkpoint(const std::string& dir) {
  const auto files = list_checkpoints(dir);
  if (files.empty()) return not_found("no checkpoint in '" + dir + "'");
  LoadedCheckpoint loaded;
  for (const auto& [round, path] : files) {
    auto bytes = read_file(path);
    if (!bytes.is_ok()) {
      loaded.rejected.push_back(path + ": " + bytes.status().message());
      continue;
    }
    auto c = decode_checkpoint(*bytes);
    if (!c.is_ok()) {
      loaded.rejected.push_back(path + ": " + c.status().message());
      continue;
    }
    if (c->round != round) {
      loaded.rejected.push_back(path + ": holds round " + std::to_string(c->round));
      continue;
    }
    loaded.checkpoint = std::move(c).value();
    loaded.path = path;
    return loaded;
  }
  std::string all;
  for (const auto& r : loaded.rejected) all += (all.empty() ? "" : "; ") + r;
  return corrupt("no valid checkpoint in '" + dir + "': " + all);
}

}  // namespace nf::aggregator
