#include "device_agent/shard_loader.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "core/data/csv_reader.h"
#include "core/data/idx_reader.h"
#include "core/data/partition.h"

namespace nf {
namespace {

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};

Status read_exact(gzFile file, uint8_t* out, size_t n, const std::string& path) {
  size_t done = 0;
  while (done < n) {
    const int got =
        gzread(file, out + done, static_cast<unsigned>(std::min<size_t>(n - done, 1 << 20)));
    if (got <= 0) {
      int err = 0;
      const char* msg = gzerror(file, &err);
      return corrupt("'" + path + "' ends early (" + std::to_string(done) + " of " +
                     std::to_string(n) + " bytes read" +
                     (err != Z_OK && msg != nullptr ? std::string(": ") + msg : std::string()) +
                     ")");
    }
    done += static_cast<size_t>(got);
  }
  return Status::ok();
}

uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

}  // namespace

Result<Dataset> read_idx_rows(const std::string& images_path, std::span<const uint8_t> labels,
                              std::span<const int64_t> indices, int32_t num_classes,
                              std::string name) {
  // gzopen reads plain files transparently as well.
  std::unique_ptr<gzFile_s, GzCloser> file(gzopen(images_path.c_str(), "rb"));
  if (!file) {
    return not_found("cannot open '" + images_path + "': " + std::strerror(errno));
  }
  uint8_t header[16];
  NF_RETURN_IF_ERROR(read_exact(file.get(), header, sizeof header, images_path));
  if (header[0] != 0 || header[1] != 0 || header[2] != 0x08 || header[3] != 3) {
    return corrupt("'" + images_path + "' is not an IDX file of 3-D unsigned bytes");
  }
  const uint32_t count = be32(header + 4), rows = be32(header + 8), cols = be32(header + 12);
  if (count != labels.size()) {
    return corrupt("'" + images_path + "' holds " + std::to_string(count) +
                   " images but there are " + std::to_string(labels.size()) + " labels");
  }
  if (rows == 0 || cols == 0 || uint64_t{rows} * cols > (1u << 20)) {
    return corrupt("'" + images_path + "' has absurd image size " + std::to_string(rows) + "x" +
                   std::to_string(cols));
  }
  const int32_t dim = static_cast<int32_t>(rows * cols);
  Dataset d;
  d.dim = dim;
  d.num_classes = num_classes;
  d.name = std::move(name);
  d.size = static_cast<int64_t>(indices.size());
  d.pixels.resize(indices.size() * static_cast<size_t>(dim));
  d.labels.resize(indices.size());
  int64_t next_row = 0;  // the file's next unread image
  for (size_t i = 0; i < indices.size(); ++i) {
    const int64_t want = indices[i];
    if (want < next_row || want >= static_cast<int64_t>(count)) {
      return invalid_argument("shard index " + std::to_string(want) +
                              " is out of order or beyond the " + std::to_string(count) +
                              " images of '" + images_path + "'");
    }
    if (want > next_row) {
      if (gzseek(file.get(), static_cast<z_off_t>(16 + want * dim), SEEK_SET) < 0) {
        return corrupt("cannot skip to image " + std::to_string(want) + " of '" + images_path +
                       "'");
      }
    }
    NF_RETURN_IF_ERROR(read_exact(file.get(), d.pixels.data() + i * static_cast<size_t>(dim),
                                  static_cast<size_t>(dim), images_path));
    next_row = want + 1;
    const uint8_t label = labels[static_cast<size_t>(want)];
    if (label >= num_classes) {
      return corrupt("label " + std::to_string(label) + " of example " + std::to_string(want) +
                     " is not below " + std::to_string(num_classes));
    }
    d.labels[i] = label;
  }
  return d;
}

Result<Dataset> load_agent_data(const AgentConfig::Data& config) {
  if (config.source == "csv") return read_csv_dataset(config.csv);
  const std::string dir = config.idx_dir.empty() ? default_fashion_mnist_dir() : config.idx_dir;
  NF_ASSIGN_OR_RETURN(PartitionSpec spec, parse_partition_spec(config.partition));
  NF_ASSIGN_OR_RETURN(IdxArray labels, read_idx_file(dir + "/train-labels-idx1-ubyte.gz", 1));
  std::vector<int64_t> shard;
  {
    std::vector<int32_t> wide(labels.values.begin(), labels.values.end());
    NF_ASSIGN_OR_RETURN(
        shard, partition_for_client(spec, wide, 10, static_cast<int32_t>(config.clients),
                                    config.seed, static_cast<int32_t>(config.client_index)));
  }
  return read_idx_rows(dir + "/train-images-idx3-ubyte.gz", labels.values, shard, 10,
                       "fashion-mnist/train[client " + std::to_string(config.client_index) + "/" +
                           std::to_string(config.clients) + "]");
}

}  // namespace nf
