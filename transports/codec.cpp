#include "transports/codec.h"

#include <flatbuffers/flatbuffers.h>

#include <cassert>
#include <cstring>
#include <string>
#include <type_traits>

#include "schema/neurofabric_generated.h"

namespace nf {

namespace {

namespace fb = flatbuffers;
namespace w = nf::wire;

// Nesting depth and table count a valid frame never exceeds; the verifier
// stops a crafted frame from making us walk more.
constexpr fb::uoffset_t kMaxDepth = 16;
constexpr fb::uoffset_t kMaxTables = 4096;

w::Encoding to_wire(Encoding e) {
  return w::Encoding(static_cast<w::ValueType>(e.type), e.delta);
}

Result<Encoding> from_wire(const w::Encoding* e, const char* field) {
  if (e == nullptr) return corrupt(std::string(field) + ": encoding missing");
  const auto type = static_cast<uint8_t>(e->type());
  if (type > static_cast<uint8_t>(ValueType::kInt8)) {
    return corrupt(std::string(field) + ": unknown value type " + std::to_string(type));
  }
  return Encoding{static_cast<ValueType>(type), e->delta()};
}

std::string str(const fb::String* s) {
  return s == nullptr ? std::string() : s->str();
}

// A FlatBuffers allocator whose one buffer is a std::vector: a frame is built
// in the vector that is sent rather than in the builder's own buffer and then
// copied out, which for an update or a task is a model-sized copy.
class FrameAllocator final : public fb::Allocator {
 public:
  explicit FrameAllocator(std::vector<uint8_t>* out) : out_(out) {}
  uint8_t* allocate(size_t size) override {
    out_->resize(size);
    return out_->data();
  }
  void deallocate(uint8_t*, size_t) override {}  // the vector owns the memory
  // Grows in place when the vector can; the builder's back part moves to the
  // new end, its front part (scratch) stays.
  uint8_t* reallocate_downward(uint8_t* old_p, size_t old_size, size_t new_size, size_t in_use_back,
                               size_t in_use_front) override {
    assert(old_p == out_->data() && old_size == out_->size() && in_use_front <= old_size);
    (void)old_p;
    (void)in_use_front;
    out_->resize(new_size);
    uint8_t* p = out_->data();
    std::memmove(p + new_size - in_use_back, p + old_size - in_use_back, in_use_back);
    return p;
  }

 private:
  std::vector<uint8_t>* out_;
};

// Builds one Frame around a body; the body is made by `make_body(builder)`.
template <typename MakeBody>
std::vector<uint8_t> build_frame(w::Body type, MakeBody&& make_body, size_t size_hint) {
  std::vector<uint8_t> out;
  size_t begin = 0;
  size_t size = 0;
  {
    FrameAllocator allocator(&out);
    fb::FlatBufferBuilder b(size_hint + 256, &allocator, /*own_allocator=*/false);
    const fb::Offset<void> body = make_body(b).Union();
    w::FrameBuilder frame(b);
    frame.add_protocol_version(kProtocolVersion);
    frame.add_body_type(type);
    frame.add_body(body);
    w::FinishFrameBuffer(b, frame.Finish());
    begin = static_cast<size_t>(b.GetBufferPointer() - out.data());
    size = b.GetSize();
  }
  // FlatBuffers builds back to front: the finished frame is the vector's tail.
  std::memmove(out.data(), out.data() + begin, size);
  out.resize(size);
  return out;
}

// A ValuesPart around `data`, a vector already in the builder; c.data is not read.
fb::Offset<w::ValuesPart> finish_part(fb::FlatBufferBuilder& b, const ValuesChunk& c,
                                      fb::Offset<fb::Vector<uint8_t>> data) {
  const w::Encoding encoding = to_wire(c.encoding);
  w::ValuesPartBuilder part(b);
  part.add_encoding(&encoding);
  part.add_value_count(c.value_count);
  part.add_chunk_index(c.chunk_index);
  part.add_chunk_count(c.chunk_count);
  part.add_byte_offset(c.byte_offset);
  part.add_total_bytes(c.total_bytes);
  part.add_data(data);
  return part.Finish();
}

fb::Offset<w::ValuesPart> build_part(fb::FlatBufferBuilder& b, const ValuesChunk& c) {
  return finish_part(b, c, b.CreateVector(c.data.data(), c.data.size()));
}

Result<ValuesChunk> read_part(const w::ValuesPart* p, const char* field) {
  if (p == nullptr) return corrupt(std::string(field) + " missing");
  NF_ASSIGN_OR_RETURN(Encoding encoding, from_wire(p->encoding(), field));
  ValuesChunk c;
  c.encoding = encoding;
  c.value_count = p->value_count();
  c.chunk_index = p->chunk_index();
  c.chunk_count = p->chunk_count();
  c.byte_offset = p->byte_offset();
  c.total_bytes = p->total_bytes();
  if (p->data() != nullptr) c.data = std::span<const uint8_t>(p->data()->data(), p->data()->size());
  return c;
}

// Encodes a message carrying one value array: one frame per chunk. With
// `unencoded` (borrowed floats; `values` then gives only encoding and count),
// an array that fits in one frame is encoded straight into it; a larger one
// is encoded first and then split.
template <typename Build>
Status encode_chunked(const EncodedValues& values, const BorrowedValues* unencoded,
                      uint32_t max_frame_bytes, w::Body type, Build&& build_body,
                      std::vector<std::vector<uint8_t>>* frames) {
  const uint64_t max_chunk = max_frame_bytes - kFrameHeadroomBytes;
  if (unencoded != nullptr) {
    if (unencoded->values.size() != values.count) {
      return invalid_argument("unencoded array of " + std::to_string(unencoded->values.size()) +
                              " values announced as " + std::to_string(values.count));
    }
    const uint64_t size = encoded_size(values.encoding, values.count);
    if (size > max_chunk) {
      NF_ASSIGN_OR_RETURN(EncodedValues encoded,
                          encode_values(unencoded->values, unencoded->reference, values.encoding));
      return encode_chunked(encoded, nullptr, max_frame_bytes, type, build_body, frames);
    }
    ValuesChunk chunk;
    chunk.encoding = values.encoding;
    chunk.value_count = values.count;
    chunk.total_bytes = size;
    Status encoded;
    frames->push_back(build_frame(
        type,
        [&](fb::FlatBufferBuilder& b) {
          uint8_t* data = nullptr;
          const auto vector = b.CreateUninitializedVector(static_cast<size_t>(size), &data);
          encoded = encode_values(unencoded->values, unencoded->reference, values.encoding,
                                  std::span<uint8_t>(data, static_cast<size_t>(size)));
          return build_body(b, finish_part(b, chunk, vector));
        },
        static_cast<size_t>(size)));
    if (!encoded.is_ok()) frames->pop_back();
    return encoded;
  }
  for (const ValuesChunk& chunk : split_values(values, max_chunk)) {
    frames->push_back(build_frame(
        type, [&](fb::FlatBufferBuilder& b) { return build_body(b, build_part(b, chunk)); },
        chunk.data.size()));
  }
  return Status::ok();
}

Status check_fits(size_t bytes, uint32_t max_frame_bytes, const char* what) {
  if (bytes + kFrameHeadroomBytes > max_frame_bytes) {
    return invalid_argument(std::string(what) + " of " + std::to_string(bytes) +
                            " bytes does not fit in a frame of at most " +
                            std::to_string(max_frame_bytes) + " bytes");
  }
  return Status::ok();
}

Status encode_one(const Message& message, uint32_t max_frame_bytes,
                  std::vector<std::vector<uint8_t>>* frames) {
  return std::visit(
      [&](const auto& m) -> Status {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, Hello>) {
          size_t size = m.device_id.size();
          for (const auto& c : m.capabilities) size += c.size() + 8;
          NF_RETURN_IF_ERROR(check_fits(size, max_frame_bytes, "hello"));
          frames->push_back(build_frame(
              w::Body::Hello,
              [&](fb::FlatBufferBuilder& b) {
                std::vector<w::Encoding> encodings;
                for (Encoding e : m.encodings) encodings.push_back(to_wire(e));
                std::vector<fb::Offset<fb::String>> caps;
                for (const auto& c : m.capabilities) caps.push_back(b.CreateString(c));
                return w::CreateHelloDirect(b, m.device_id.c_str(), m.protocol_version, &encodings,
                                            &caps, m.last_round, m.model_hash);
              },
              size));
        } else if constexpr (std::is_same_v<T, Welcome>) {
          NF_RETURN_IF_ERROR(check_fits(m.model_spec.size(), max_frame_bytes, "model spec"));
          frames->push_back(build_frame(
              w::Body::Welcome,
              [&](fb::FlatBufferBuilder& b) {
                const w::Encoding e = to_wire(m.encoding);
                return w::CreateWelcomeDirect(b, m.protocol_version, m.model_spec.c_str(),
                                              m.model_hash, &e);
              },
              m.model_spec.size()));
        } else if constexpr (std::is_same_v<T, TrainTask>) {
          if (m.global_values.encoding.delta) {
            return invalid_argument("train task global values cannot be delta-encoded");
          }
          NF_RETURN_IF_ERROR(check_fits(m.hyper.optimizer.size(), max_frame_bytes, "optimizer"));
          return encode_chunked(
              m.global_values, nullptr, max_frame_bytes, w::Body::TrainTask,
              [&](fb::FlatBufferBuilder& b, fb::Offset<w::ValuesPart> part) {
                const auto hyper = w::CreateHyperParametersDirect(
                    b, m.hyper.epochs, m.hyper.batch_size, m.hyper.learning_rate, m.hyper.prox_mu,
                    m.hyper.optimizer.c_str());
                return w::CreateTrainTask(b, m.round, m.task_id, part, hyper, m.deadline_ms);
              },
              frames);
        } else if constexpr (std::is_same_v<T, Update>) {
          return encode_chunked(
              m.values, m.unencoded ? &*m.unencoded : nullptr, max_frame_bytes, w::Body::Update,
              [&](fb::FlatBufferBuilder& b, fb::Offset<w::ValuesPart> part) {
                const auto metrics =
                    w::CreateTrainMetrics(b, m.metrics.loss, m.metrics.train_seconds,
                                          m.metrics.peak_memory_bytes, m.metrics.bytes);
                return w::CreateUpdate(b, m.round, m.task_id, m.example_count, part, metrics);
              },
              frames);
        } else if constexpr (std::is_same_v<T, EvaluateTask>) {
          if (m.global_values.encoding.delta) {
            return invalid_argument("evaluate task values cannot be delta-encoded");
          }
          return encode_chunked(
              m.global_values, nullptr, max_frame_bytes, w::Body::EvaluateTask,
              [&](fb::FlatBufferBuilder& b, fb::Offset<w::ValuesPart> part) {
                return w::CreateEvaluateTask(b, m.round, m.task_id, part, m.batch_size,
                                             m.deadline_ms);
              },
              frames);
        } else if constexpr (std::is_same_v<T, EvaluateResult>) {
          frames->push_back(build_frame(
              w::Body::EvaluateResult,
              [&](fb::FlatBufferBuilder& b) {
                return w::CreateEvaluateResult(b, m.round, m.task_id, m.example_count, m.loss,
                                               m.accuracy, m.seconds);
              },
              0));
        } else if constexpr (std::is_same_v<T, Heartbeat>) {
          frames->push_back(build_frame(
              w::Body::Heartbeat,
              [&](fb::FlatBufferBuilder& b) {
                return w::CreateHeartbeat(b, m.sequence, m.unix_ms);
              },
              0));
        } else {
          static_assert(std::is_same_v<T, ErrorMessage>);
          // An error must always be sendable: cut an overlong text rather than fail.
          const size_t limit = max_frame_bytes - kFrameHeadroomBytes;
          const std::string text =
              m.message.size() > limit ? m.message.substr(0, limit) : m.message;
          frames->push_back(build_frame(
              w::Body::Error,
              [&](fb::FlatBufferBuilder& b) {
                return w::CreateErrorDirect(b, static_cast<w::ErrorCode>(m.code), text.c_str());
              },
              text.size()));
        }
        return Status::ok();
      },
      message);
}

Result<DecodedFrame> decode_body(const w::Frame* frame) {
  DecodedFrame out{Heartbeat{}, std::nullopt};
  switch (frame->body_type()) {
    case w::Body::Hello: {
      const w::Hello* h = frame->body_as_Hello();
      Hello m;
      m.device_id = str(h->device_id());
      m.protocol_version = h->protocol_version();
      if (h->encodings() != nullptr) {
        for (const w::Encoding* e : *h->encodings()) {
          NF_ASSIGN_OR_RETURN(Encoding enc, from_wire(e, "hello.encodings"));
          m.encodings.push_back(enc);
        }
      }
      if (h->capabilities() != nullptr) {
        for (const fb::String* c : *h->capabilities()) m.capabilities.push_back(str(c));
      }
      m.last_round = h->last_round();
      m.model_hash = h->model_hash();
      out.message = std::move(m);
      break;
    }
    case w::Body::Welcome: {
      const w::Welcome* x = frame->body_as_Welcome();
      Welcome m;
      m.protocol_version = x->protocol_version();
      m.model_spec = str(x->model_spec());
      m.model_hash = x->model_hash();
      NF_ASSIGN_OR_RETURN(m.encoding, from_wire(x->encoding(), "welcome.encoding"));
      out.message = std::move(m);
      break;
    }
    case w::Body::TrainTask: {
      const w::TrainTask* x = frame->body_as_TrainTask();
      TrainTask m;
      m.round = x->round();
      m.task_id = x->task_id();
      m.deadline_ms = x->deadline_ms();
      if (x->hyper() == nullptr) return corrupt("train_task.hyper missing");
      m.hyper.epochs = x->hyper()->epochs();
      m.hyper.batch_size = x->hyper()->batch_size();
      m.hyper.learning_rate = x->hyper()->learning_rate();
      m.hyper.prox_mu = x->hyper()->prox_mu();
      m.hyper.optimizer = str(x->hyper()->optimizer());
      NF_ASSIGN_OR_RETURN(ValuesChunk c, read_part(x->global_values(), "train_task.global_values"));
      if (c.encoding.delta) return corrupt("train_task.global_values is delta-encoded");
      m.global_values.encoding = c.encoding;
      m.global_values.count = c.value_count;
      out.message = std::move(m);
      out.chunk = c;
      break;
    }
    case w::Body::Update: {
      const w::Update* x = frame->body_as_Update();
      Update m;
      m.round = x->round();
      m.task_id = x->task_id();
      m.example_count = x->example_count();
      if (x->metrics() != nullptr) {
        m.metrics.loss = x->metrics()->loss();
        m.metrics.train_seconds = x->metrics()->train_seconds();
        m.metrics.peak_memory_bytes = x->metrics()->peak_memory_bytes();
        m.metrics.bytes = x->metrics()->bytes();
      }
      NF_ASSIGN_OR_RETURN(ValuesChunk c, read_part(x->values(), "update.values"));
      m.values.encoding = c.encoding;
      m.values.count = c.value_count;
      out.message = std::move(m);
      out.chunk = c;
      break;
    }
    case w::Body::EvaluateTask: {
      const w::EvaluateTask* x = frame->body_as_EvaluateTask();
      EvaluateTask m;
      m.round = x->round();
      m.task_id = x->task_id();
      m.batch_size = x->batch_size();
      m.deadline_ms = x->deadline_ms();
      NF_ASSIGN_OR_RETURN(ValuesChunk c,
                          read_part(x->global_values(), "evaluate_task.global_values"));
      if (c.encoding.delta) return corrupt("evaluate_task.global_values is delta-encoded");
      m.global_values.encoding = c.encoding;
      m.global_values.count = c.value_count;
      out.message = std::move(m);
      out.chunk = c;
      break;
    }
    case w::Body::EvaluateResult: {
      const w::EvaluateResult* x = frame->body_as_EvaluateResult();
      out.message = EvaluateResult{x->round(), x->task_id(),  x->example_count(),
                                   x->loss(),  x->accuracy(), x->seconds()};
      break;
    }
    case w::Body::Heartbeat: {
      const w::Heartbeat* x = frame->body_as_Heartbeat();
      out.message = Heartbeat{x->sequence(), x->unix_ms()};
      break;
    }
    case w::Body::Error: {
      const w::Error* x = frame->body_as_Error();
      const auto code = static_cast<uint16_t>(x->code());
      if (code == 0 || code > static_cast<uint16_t>(StatusCode::kInternal)) {
        return corrupt("error frame has unknown code " + std::to_string(code));
      }
      out.message = ErrorMessage{static_cast<StatusCode>(code), str(x->message())};
      break;
    }
    default:
      return corrupt("frame has unknown body type " +
                     std::to_string(static_cast<int>(frame->body_type())));
  }
  return out;
}

// The (kind, round, task) a chunk belongs to, for matching chunks.
struct ChunkKey {
  size_t kind;
  uint64_t round;
  uint64_t task_id;
  bool operator==(const ChunkKey&) const = default;
};

ChunkKey key_of(const Message& m) {
  return std::visit(
      [&](const auto& x) -> ChunkKey {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, TrainTask> || std::is_same_v<T, Update> ||
                      std::is_same_v<T, EvaluateTask>) {
          return {m.index(), x.round, x.task_id};
        } else {
          return {m.index(), 0, 0};
        }
      },
      m);
}

EncodedValues* values_of(Message& m) {
  if (auto* t = std::get_if<TrainTask>(&m)) return &t->global_values;
  if (auto* u = std::get_if<Update>(&m)) return &u->values;
  if (auto* e = std::get_if<EvaluateTask>(&m)) return &e->global_values;
  return nullptr;
}

}  // namespace

Status encode_message(const Message& message, uint32_t max_frame_bytes,
                      std::vector<std::vector<uint8_t>>* frames) {
  assert(max_frame_bytes >= kMinMaxFrameBytes);
  frames->clear();
  NF_RETURN_IF_ERROR(encode_one(message, max_frame_bytes, frames));
  for (const auto& f : *frames) {
    // The headroom covers every fixed field; this only fires on a schema change.
    if (f.size() > max_frame_bytes) {
      return internal_error(std::string(message_name(message)) + " frame of " +
                            std::to_string(f.size()) + " bytes exceeds the limit of " +
                            std::to_string(max_frame_bytes));
    }
  }
  return Status::ok();
}

Result<DecodedFrame> decode_frame(std::span<const uint8_t> frame) {
  if (frame.size() < 8) {
    return corrupt("frame of " + std::to_string(frame.size()) + " bytes is too short");
  }
  if (!fb::BufferHasIdentifier(frame.data(), w::FrameIdentifier())) {
    return corrupt("frame lacks the file identifier \"" + std::string(w::FrameIdentifier()) + "\"");
  }
  fb::Verifier verifier(frame.data(), frame.size(), kMaxDepth, kMaxTables);
  if (!w::VerifyFrameBuffer(verifier)) {
    return corrupt("frame of " + std::to_string(frame.size()) +
                   " bytes fails FlatBuffers verification");
  }
  const w::Frame* f = w::GetFrame(frame.data());
  if (f->protocol_version() != kProtocolVersion) {
    return failed_precondition("peer speaks protocol version " +
                               std::to_string(f->protocol_version()) + ", this build speaks " +
                               std::to_string(kProtocolVersion));
  }
  if (f->body() == nullptr) return corrupt("frame has no body");
  return decode_body(f);
}

Result<std::optional<Message>> MessageAssembler::add_frame(std::span<const uint8_t> frame) {
  return add(frame, nullptr);
}

Result<std::optional<Message>> MessageAssembler::add_frame(std::vector<uint8_t>* frame) {
  return add(*frame, frame);
}

Result<std::optional<Message>> MessageAssembler::add(std::span<const uint8_t> frame,
                                                     std::vector<uint8_t>* storage) {
  NF_ASSIGN_OR_RETURN(DecodedFrame decoded, decode_frame(frame));
  if (!decoded.chunk.has_value()) {
    const bool control = std::holds_alternative<Heartbeat>(decoded.message) ||
                         std::holds_alternative<ErrorMessage>(decoded.message);
    if (pending_.has_value() && !control) {
      return corrupt(std::string(message_name(decoded.message)) + " arrived while " +
                     message_name(*pending_) + " is missing " +
                     std::to_string(values_.expected() - values_.received()) + " of " +
                     std::to_string(values_.expected()) + " chunks");
    }
    return std::optional<Message>(std::move(decoded.message));
  }
  if (pending_.has_value() && !(key_of(*pending_) == key_of(decoded.message))) {
    return corrupt(std::string(message_name(decoded.message)) + " chunk arrived while " +
                   message_name(*pending_) + " is missing " +
                   std::to_string(values_.expected() - values_.received()) + " of " +
                   std::to_string(values_.expected()) + " chunks");
  }
  NF_RETURN_IF_ERROR(values_.add(*decoded.chunk, storage));
  if (!pending_.has_value()) pending_ = std::move(decoded.message);
  if (!values_.complete()) return std::optional<Message>();
  Message done = std::move(*pending_);
  pending_.reset();
  *values_of(done) = values_.take();
  return std::optional<Message>(std::move(done));
}

void MessageAssembler::reset() {
  pending_.reset();
  values_.reset();
}

}  // namespace nf
