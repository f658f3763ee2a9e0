#include "core/engine/model_file.h"

#include <algorithm>
#include <cstring>

#include "core/util/file.h"
#include "core/util/hash.h"

namespace nf {

namespace {

constexpr char kMagic[8] = {'N', 'F', 'M', 'O', 'D', 'E', 'L', '1'};
constexpr uint32_t kVersion = 1;

void put_u32(std::vector<uint8_t>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void put_u64(std::vector<uint8_t>& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
uint64_t get_le(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

}  // namespace

Status save_model(const std::string& path, const ModelSpec& spec, std::span<const float> values) {
  const std::string text = format_model_spec(spec);
  std::vector<uint8_t> out;
  out.reserve(32 + text.size() + values.size() * 4);
  out.insert(out.end(), kMagic, kMagic + 8);
  put_u32(out, kVersion);
  put_u32(out, static_cast<uint32_t>(text.size()));
  out.insert(out.end(), text.begin(), text.end());
  put_u64(out, values.size());
  for (float f : values) {
    uint32_t bits = 0;
    std::memcpy(&bits, &f, 4);
    put_u32(out, bits);
  }
  put_u64(out, Hasher().bytes(out).digest());
  return write_file_atomic(path, std::span<const uint8_t>(out));
}

Status save_model(const std::string& path, const Model& model) {
  return save_model(path, model.spec(), model.parameters());
}

Result<ModelFile> load_model(const std::string& path) {
  NF_ASSIGN_OR_RETURN(std::vector<uint8_t> data, read_file(path));
  auto bad = [&](const std::string& what) { return corrupt("model file '" + path + "': " + what); };
  if (data.size() < 8 + 4 + 4 + 8 + 8) {
    return bad("only " + std::to_string(data.size()) + " bytes, too short for a model file");
  }
  if (!std::equal(kMagic, kMagic + 8, data.begin())) return bad("not a model file (bad magic)");
  const uint64_t stored = get_le(data.data() + data.size() - 8, 8);
  const uint64_t actual =
      Hasher().bytes(std::span<const uint8_t>(data.data(), data.size() - 8)).digest();
  if (stored != actual) return bad("checksum mismatch (truncated or damaged)");
  const auto version = static_cast<uint32_t>(get_le(data.data() + 8, 4));
  if (version != kVersion) return bad("unsupported version " + std::to_string(version));
  const uint64_t text_len = get_le(data.data() + 12, 4);
  const uint64_t body = data.size() - 8;
  if (16 + text_len + 8 > body) return bad("spec length " + std::to_string(text_len) + " too large");
  const std::string text(reinterpret_cast<const char*>(data.data() + 16), text_len);
  const uint64_t count = get_le(data.data() + 16 + text_len, 8);
  if (count > (body - 24 - text_len) / 4 || 24 + text_len + count * 4 != body) {
    return bad("value count " + std::to_string(count) + " does not match the file size");
  }
  auto spec = parse_model_spec(text);
  if (!spec.is_ok()) return bad("bad spec: " + spec.status().message());
  ModelFile file;
  file.spec = std::move(spec).value();
  file.values.resize(count);
  const uint8_t* p = data.data() + 24 + text_len;
  for (uint64_t i = 0; i < count; ++i) {
    const auto bits = static_cast<uint32_t>(get_le(p + 4 * i, 4));
    std::memcpy(&file.values[i], &bits, 4);
  }
  return file;
}

Result<std::unique_ptr<Model>> load_model_instance(const std::string& path) {
  NF_ASSIGN_OR_RETURN(ModelFile file, load_model(path));
  NF_ASSIGN_OR_RETURN(std::unique_ptr<Model> model, Model::create(file.spec));
  if (static_cast<int64_t>(file.values.size()) != model->parameter_count()) {
    return corrupt("model file '" + path + "' holds " + std::to_string(file.values.size()) +
                   " values, its spec needs " + std::to_string(model->parameter_count()));
  }
  std::copy(file.values.begin(), file.values.end(), model->parameters().begin());
  return model;
}

}  // namespace nf
