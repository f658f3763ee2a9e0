// Update encodings: how an array of parameter values travels on the wire.
//
// An update is the model's flat parameter vector (or its difference from the
// round's global model), values only: both sides derive the same masks, so no
// index is ever sent. Three value types (f32, f16, int8 with one f32 scale per
// block of kInt8BlockSize values), each either as values or as deltas from a
// reference (the round's global values). The byte layout is documented in
// docs/wire_format.md; it is little-endian whatever the host.
//
// Large arrays are split into chunks that fit under the frame-size limit
// (split_values) and put back together with every check on the receiving side
// (ValuesAssembler). Nothing here knows about FlatBuffers or sockets.
//
// Thread safety: free functions are pure; a ValuesAssembler is not shared.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/status.h"

namespace nf {

enum class ValueType : uint8_t { kF32 = 0, kF16 = 1, kInt8 = 2 };

// Values per int8 scale block. Part of the wire format: changing it changes
// the protocol version.
inline constexpr uint32_t kInt8BlockSize = 256;

struct Encoding {
  ValueType type = ValueType::kF32;
  bool delta = false;  // values minus the round's global values
  friend bool operator==(const Encoding&, const Encoding&) = default;
};

// "f32", "f16", "int8", with "-delta" appended for deltas.
std::string encoding_name(Encoding encoding);
// Parses the names encoding_name produces.
Result<Encoding> parse_encoding(std::string_view name);
// Every encoding this build can produce and read, best accuracy first.
std::vector<Encoding> all_encodings();

// The first encoding of `preferred` (the server's order) that `offered` (the
// client's hello) contains, or nullopt when they share none.
std::optional<Encoding> choose_encoding(std::span<const Encoding> preferred,
                                        std::span<const Encoding> offered);

// An encoded array: `count` values in `encoding`, bytes as laid out in
// docs/wire_format.md. bytes.size() == encoded_size(encoding, count) when valid.
struct EncodedValues {
  Encoding encoding;
  uint32_t count = 0;
  std::vector<uint8_t> bytes;
  friend bool operator==(const EncodedValues&, const EncodedValues&) = default;
};

// Bytes needed for `count` values in `encoding`.
uint64_t encoded_size(Encoding encoding, uint64_t count);

// Encodes `values`. For a delta encoding `reference` must have the same length
// as `values` (else invalid_argument); it is ignored otherwise. Errors: more
// than 2^32-1 values; a non-finite value (or delta) under int8, whose scale
// would be meaningless. `out` is reused to avoid allocation in steady state.
Status encode_values(std::span<const float> values, std::span<const float> reference,
                     Encoding encoding, EncodedValues* out);
Result<EncodedValues> encode_values(std::span<const float> values, std::span<const float> reference,
                                    Encoding encoding);
// The same bytes written straight into `out` (a frame's value vector, say),
// which must hold exactly encoded_size(encoding, values.size()) bytes, else
// invalid_argument naming both sizes. Nothing is allocated.
Status encode_values(std::span<const float> values, std::span<const float> reference,
                     Encoding encoding, std::span<uint8_t> out);

// Values to be encoded later, straight where their bytes go (the codec
// encodes them into the frame), so that no encoded copy lives beside that
// destination. Borrowed: whoever makes one keeps both arrays alive and
// unchanged until they are encoded.
struct BorrowedValues {
  std::span<const float> values;
  std::span<const float> reference;  // a delta encoding's reference; else empty
  friend bool operator==(const BorrowedValues& a, const BorrowedValues& b) {
    return a.values.data() == b.values.data() && a.values.size() == b.values.size() &&
           a.reference.data() == b.reference.data() && a.reference.size() == b.reference.size();
  }
};

// Decodes into `out`, which must hold exactly encoded.count values (else
// invalid_argument naming both lengths). For a delta encoding `reference` must
// hold as many values; out = reference + delta. Errors (corrupt): a byte length
// that does not match the count, a negative or non-finite int8 scale.
Status decode_values(const EncodedValues& encoded, std::span<const float> reference,
                     std::span<float> out);

// IEEE 754 binary16 conversion, round to nearest even, portable (bit
// arithmetic only): overflow gives infinity, NaN stays NaN, subnormals kept.
uint16_t float_to_half(float value);
float half_to_float(uint16_t half);

// One piece of an encoded array. `data` borrows from the array being split (or
// from the received frame): it is valid only as long as that storage.
struct ValuesChunk {
  Encoding encoding;
  uint32_t value_count = 0;  // values in the whole array
  uint32_t chunk_index = 0;
  uint32_t chunk_count = 1;
  uint64_t byte_offset = 0;  // where `data` goes in the whole array
  uint64_t total_bytes = 0;  // bytes of the whole array
  std::span<const uint8_t> data;
};

// Splits `values` into ceil(total / max_chunk_bytes) chunks (at least one, even
// for an empty array) of equal stride ceil(total / chunk_count), the last one
// shorter. The chunks borrow values.bytes. Precondition: max_chunk_bytes > 0.
std::vector<ValuesChunk> split_values(const EncodedValues& values, uint64_t max_chunk_bytes);

// Puts chunks back together. The first chunk fixes the array's shape; each
// later chunk must agree with it, have an index in range that was not seen
// before, and sit at offset index * stride with the expected length. Any
// violation is a kCorrupt error naming the field and its value; after an
// error the assembler must be reset(). Chunks may arrive in any order.
class ValuesAssembler {
 public:
  // `max_total_bytes` bounds what a peer can make us allocate.
  explicit ValuesAssembler(uint64_t max_total_bytes) : max_total_bytes_(max_total_bytes) {}

  Status add(const ValuesChunk& chunk);
  // As add(chunk), for a chunk whose data lies inside `*storage` (the frame
  // it came in). When the chunk is the whole array, the array adopts that
  // memory instead of copying it: the bytes move to its front, the rest is
  // cut off, and *storage is left empty. Otherwise *storage is untouched.
  Status add(const ValuesChunk& chunk, std::vector<uint8_t>* storage);
  bool started() const { return started_; }
  bool complete() const { return started_ && received_ == chunk_count_; }
  uint32_t received() const { return received_; }
  uint32_t expected() const { return chunk_count_; }
  // Moves the assembled array out and resets. Precondition: complete().
  EncodedValues take();
  void reset();

 private:
  uint64_t max_total_bytes_;
  bool started_ = false;
  EncodedValues values_;
  uint64_t total_bytes_ = 0;
  uint32_t chunk_count_ = 0;
  uint64_t stride_ = 0;
  uint32_t received_ = 0;
  std::vector<bool> seen_;
};

}  // namespace nf
