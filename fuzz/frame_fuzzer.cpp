// libFuzzer target: whatever bytes a peer sends, decoding returns a Status
// and never reads out of bounds, leaks or aborts.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "transports/codec.h"

namespace {

void decode_values_of(const nf::Message& m) {
  const nf::EncodedValues* v = nullptr;
  if (const auto* t = std::get_if<nf::TrainTask>(&m)) v = &t->global_values;
  if (const auto* u = std::get_if<nf::Update>(&m)) v = &u->values;
  if (const auto* e = std::get_if<nf::EvaluateTask>(&m)) v = &e->global_values;
  if (v == nullptr) return;
  std::vector<float> reference(v->count, 1.0f), out(v->count);
  (void)nf::decode_values(*v, reference, out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nf::MessageAssembler assembler(1 << 20);
  for (const auto& frame : nf::fuzz::split_stream({data, size})) {
    auto r = assembler.add_frame(frame);
    if (!r.is_ok()) {
      assembler.reset();  // what a link does after closing: start afresh
      continue;
    }
    if (r->has_value()) decode_values_of(**r);
  }
  return 0;
}
