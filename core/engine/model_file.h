// One file holding a model: its canonical spec text and its parameter values.
//
// Format (little-endian): "NFMODEL1", u32 version = 1, u32 spec length,
// spec text (format_model_spec), u64 value count, the float32 values, then
// u64 Hasher digest of every preceding byte. Written with write_file_atomic,
// so a crash leaves the old file or the new one, never a mix.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/engine/model.h"
#include "core/engine/model_spec.h"
#include "core/util/status.h"

namespace nf {

struct ModelFile {
  ModelSpec spec;
  std::vector<float> values;
};

Status save_model(const std::string& path, const ModelSpec& spec, std::span<const float> values);
Status save_model(const std::string& path, const Model& model);

// Reads and checks a file: kNotFound/kIoError from the OS, kCorrupt for a bad
// magic, version, length or checksum (the message says which).
Result<ModelFile> load_model(const std::string& path);
// load_model, then builds the model and installs the values; kCorrupt when
// their count differs from the spec's parameter count.
Result<std::unique_ptr<Model>> load_model_instance(const std::string& path);

}  // namespace nf
