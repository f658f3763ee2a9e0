// Checkpoints: the aggregator's whole state after a round, crash-safe.
//
// A checkpoint file is
//   "NFCKPT\0\2" | u64 payload size | payload | u64 checksum of the payload
// (all integers little-endian, checksum = nf::Hasher over the payload bytes).
// Files are written with write_file_atomic (temporary file, fsync, rename) as
// <dir>/checkpoint-<round, 8 digits>.nfc, and the newest `kept` are kept, so a
// checkpoint torn or corrupted after the rename (a bad disk, a copy cut short)
// is detected by its size or checksum and the previous one is used instead.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/util/status.h"

namespace nf::aggregator {

// What the registry remembers about a device across restarts.
struct DeviceRecord {
  std::string identity;
  int64_t rounds_completed = 0;
  int64_t failures = 0;
  int64_t last_round = -1;  // last round whose update was accepted
};

// Enough of each past round to redraw the live page after a restart.
struct RoundSummary {
  int64_t round = 0;
  int64_t participants = 0;
  int64_t failures = 0;
  double train_loss = 0;
  double eval_loss = -1;  // negative: not evaluated
  double eval_accuracy = -1;
  double federated_loss = -1;  // federated evaluation; negative: none (and in version 1 files)
  double federated_accuracy = -1;
};

struct Checkpoint {
  int64_t round = 0;            // rounds completed; the next round to run is round + 1
  uint64_t model_identity = 0;  // the identity hash of the model the values belong to
  std::vector<float> global_values;
  std::vector<uint8_t> strategy_state;  // opaque: the strategy's own serialization
  std::vector<DeviceRecord> devices;
  std::vector<RoundSummary> history;
};

// Writes version 2. Version 1 (without the federated evaluation figures in the
// history) is still read.
std::vector<uint8_t> encode_checkpoint(const Checkpoint& checkpoint);
// kCorrupt when the magic, sizes or checksum do not match.
Result<Checkpoint> decode_checkpoint(std::span<const uint8_t> bytes);

// Creates `dir` and its missing parents (mode 0755).
Status make_directories(const std::string& dir);

// Writes <dir>/checkpoint-<round>.nfc atomically (creating `dir` if needed) and
// deletes all but the newest `kept` checkpoints. Precondition: kept >= 2.
Status save_checkpoint(const std::string& dir, const Checkpoint& checkpoint, int kept = 2);

struct LoadedCheckpoint {
  Checkpoint checkpoint;
  std::string path;
  std::vector<std::string> rejected;  // "path: reason" of newer files that failed their checks
};

// The newest checkpoint in `dir` that passes its checks. kNotFound when `dir`
// holds no checkpoint at all; kCorrupt (naming every file and its reason) when
// none is valid.
Result<LoadedCheckpoint> load_latest_checkpoint(const std::string& dir);

}  // namespace nf::aggregator
