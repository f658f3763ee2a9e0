// Whole-file reads and crash-safe writes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/util/status.h"

namespace nf {

// Writes `data` to `path` so that after a crash at any point the file holds
// either its old contents or the new ones, never a mix: write to a temporary
// file in the same directory, fsync it, rename over `path`, fsync the
// directory. `mode` is applied to the new file before any byte is written
// (use 0600 for private keys).
Status write_file_atomic(const std::string& path, std::span<const uint8_t> data,
                         unsigned mode = 0644);
Status write_file_atomic(const std::string& path, std::string_view text, unsigned mode = 0644);

// Reads a whole file. Errors name the path and the OS's reason.
Result<std::vector<uint8_t>> read_file(const std::string& path);
Result<std::string> read_text_file(const std::string& path);

}  // namespace nf
