// Writes the fuzz seed corpus into the directory given: each file is a
// stream of valid frames (every message, every encoding, chunked too).
#include <cmath>
#include <cstdio>
#include <string>

#include "core/util/file.h"
#include "fuzz/fuzz_input.h"
#include "transports/codec.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  std::vector<nf::Message> messages;
  std::vector<float> values(700), reference(700, 0.25f);
  for (size_t i = 0; i < values.size(); ++i) values[i] = std::sin(0.3f * static_cast<float>(i));
  messages.push_back(
      nf::Hello{"device-1", nf::kProtocolVersion, nf::all_encodings(), {"simd=neon"}, 3, 42});
  messages.push_back(nf::Welcome{nf::kProtocolVersion, "spec", 42, {nf::ValueType::kInt8, true}});
  for (nf::Encoding e : nf::all_encodings()) {
    nf::Update u;
    u.round = 1;
    u.task_id = 2;
    u.example_count = 3;
    u.values = nf::encode_values(values, reference, e).value();
    messages.push_back(u);
  }
  nf::TrainTask t;
  t.global_values = nf::encode_values(values, {}, {nf::ValueType::kF32, false}).value();
  messages.push_back(t);
  nf::EvaluateTask et;
  et.global_values = nf::encode_values(values, {}, {nf::ValueType::kF16, false}).value();
  messages.push_back(et);
  messages.push_back(nf::EvaluateResult{1, 2, 3, 0.5f, 0.9f, 1.0});
  messages.push_back(nf::Heartbeat{1, 2});
  messages.push_back(nf::ErrorMessage{nf::StatusCode::kCorrupt, "bad frame"});
  int written = 0;
  for (uint32_t max_frame : {nf::kDefaultMaxFrameBytes, nf::kMinMaxFrameBytes}) {
    for (const nf::Message& m : messages) {
      std::vector<std::vector<uint8_t>> frames;
      if (!nf::encode_message(m, max_frame, &frames).is_ok()) return 1;
      std::vector<uint8_t> stream;
      for (const auto& f : frames) nf::fuzz::append_frame(&stream, f);
      const std::string path = dir + "/seed_" + std::to_string(written++);
      if (!nf::write_file_atomic(path, stream).is_ok()) return 1;
    }
  }
  std::printf("wrote %d seeds to %s\n", written, dir.c_str());
  return 0;
}
