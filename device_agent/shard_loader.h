// Loading a device's own data, and only that: a shard of an IDX data set
// (Fashion-MNIST) chosen by a partition spec and a client index, or a CSV file.
//
// Lean on purpose: labels are read whole (one byte per example, needed to
// compute the partition), but images are streamed through and only the
// shard's rows are kept, as bytes (Dataset::pixels), so a Raspberry Pi with a
// 600-example shard holds 470 kB of features rather than the whole 188 MB
// training set as floats. The values the engine trains on are those of
// read_idx_dataset for the same examples, bit for bit (pixel_value).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "core/data/dataset.h"
#include "core/util/status.h"
#include "device_agent/agent_config.h"

namespace nf {

// Reads rows `indices` (strictly increasing) of an IDX images file (plain or
// gzipped) and the matching labels from `labels`, as a Dataset whose example
// i is the file's example indices[i], its features kept as bytes (`pixels`).
// Errors name the file and the problem.
Result<Dataset> read_idx_rows(const std::string& images_path, std::span<const uint8_t> labels,
                              std::span<const int64_t> indices, int32_t num_classes,
                              std::string name);

// The agent's data per its [data] config: for "idx", this client's shard of
// the Fashion-MNIST training set (as partition_for_client computes it);
// for "csv", the whole file.
Result<Dataset> load_agent_data(const AgentConfig::Data& config);

}  // namespace nf
