// The federation's messages as plain C++ values.
//
// Aggregator and agent logic speak these; transports/codec.h turns them into
// FlatBuffers frames (schema/neurofabric.fbs) and back, and
// transports/message_link.h sends and receives them over any Connection,
// splitting large value arrays into chunks. No FlatBuffers type appears here.
//
// A session: the agent sends Hello; the aggregator answers Welcome (or
// ErrorMessage and closes); then the aggregator sends TrainTask or
// EvaluateTask and the agent answers Update or EvaluateResult with the same
// round and task_id. Either side may send Heartbeat at any time, and
// ErrorMessage before closing.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/fl/update_encoding.h"
#include "core/util/status.h"

namespace nf {

// Bumped on any incompatible change of schema/neurofabric.fbs or of the byte
// layouts in docs/wire_format.md. Both sides must agree exactly.
inline constexpr uint32_t kProtocolVersion = 1;

struct Hello {
  std::string device_id;  // informative: over TLS the certificate's CN is the identity
  uint32_t protocol_version = kProtocolVersion;
  std::vector<Encoding> encodings;  // what the agent can produce, its preference first
  std::vector<std::string>
      capabilities;         // free-form "key=value", e.g. "simd=neon", "memory_mb=512"
  int64_t last_round = -1;  // round of the last update this device sent, -1: none
  uint64_t model_hash = 0;  // identity of the model it holds (from a Welcome), 0: none
  friend bool operator==(const Hello&, const Hello&) = default;
};

struct Welcome {
  uint32_t protocol_version = kProtocolVersion;
  std::string model_spec;   // the model's canonical text
  uint64_t model_hash = 0;  // its 64-bit identity (spec and derived masks)
  Encoding encoding;        // the update encoding chosen for this session
  friend bool operator==(const Welcome&, const Welcome&) = default;
};

struct HyperParameters {
  uint32_t epochs = 1;
  uint32_t batch_size = 32;
  float learning_rate = 0.01f;
  float prox_mu = 0.0f;           // FedProx proximal term; 0 is plain FedAvg
  std::string optimizer = "sgd";  // "sgd", "momentum", "adam"
  friend bool operator==(const HyperParameters&, const HyperParameters&) = default;
};

struct TrainTask {
  uint64_t round = 0;
  uint64_t task_id = 0;
  EncodedValues global_values;  // the round's global parameter vector (never a delta)
  HyperParameters hyper;
  uint32_t deadline_ms = 0;  // time budget from receipt; 0 means none
  friend bool operator==(const TrainTask&, const TrainTask&) = default;
};

struct TrainMetrics {
  float loss = 0.0f;               // mean training loss of the last epoch
  double train_seconds = 0.0;      // wall time of local training
  uint64_t peak_memory_bytes = 0;  // peak resident memory during training
  uint64_t bytes = 0;              // bytes received plus sent for this task
  friend bool operator==(const TrainMetrics&, const TrainMetrics&) = default;
};

struct Update {
  uint64_t round = 0;
  uint64_t task_id = 0;
  uint64_t example_count = 0;  // FedAvg weight
  EncodedValues values;        // in the session's encoding, deltas from global_values if so
  TrainMetrics metrics;
  // When set, values.bytes stays empty (its encoding and count are set) and
  // these are the values: the codec encodes them straight into the frame.
  // They are borrowed (BorrowedValues); a received Update never has them.
  std::optional<BorrowedValues> unencoded;
  friend bool operator==(const Update&, const Update&) = default;
};

struct EvaluateTask {
  uint64_t round = 0;
  uint64_t task_id = 0;
  EncodedValues global_values;  // the parameters to evaluate (never a delta)
  uint32_t batch_size = 256;
  uint32_t deadline_ms = 0;
  friend bool operator==(const EvaluateTask&, const EvaluateTask&) = default;
};

struct EvaluateResult {
  uint64_t round = 0;
  uint64_t task_id = 0;
  uint64_t example_count = 0;
  float loss = 0.0f;
  float accuracy = 0.0f;
  double seconds = 0.0;
  friend bool operator==(const EvaluateResult&, const EvaluateResult&) = default;
};

struct Heartbeat {
  uint64_t sequence = 0;
  uint64_t unix_ms = 0;  // sender's clock, informative only
  friend bool operator==(const Heartbeat&, const Heartbeat&) = default;
};

// Sent before closing a session on purpose: the code says what kind of
// failure (a bad frame is kCorrupt, a version or model mismatch
// kFailedPrecondition, a refused device kPermissionDenied).
struct ErrorMessage {
  StatusCode code = StatusCode::kInternal;
  std::string message;
  Status to_status() const { return Status(code, "peer reported: " + message); }
  friend bool operator==(const ErrorMessage&, const ErrorMessage&) = default;
};

using Message = std::variant<Hello, Welcome, TrainTask, Update, EvaluateTask, EvaluateResult,
                             Heartbeat, ErrorMessage>;

// "hello", "welcome", "train_task", "update", "evaluate_task",
// "evaluate_result", "heartbeat", "error": for logs and error messages.
inline const char* message_name(const Message& m) {
  static constexpr const char* kNames[] = {"hello",     "welcome",       "train_task",
                                           "update",    "evaluate_task", "evaluate_result",
                                           "heartbeat", "error"};
  return kNames[m.index()];
}

}  // namespace nf
