// How a fuzz input maps to frames: a sequence of [u32 little-endian length]
// [bytes] pieces, like the stream on a socket, fed to one MessageAssembler.
// The seed writer and the fuzz target share it.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace nf::fuzz {

inline constexpr uint32_t kMaxFrameBytes = 1 << 16;

// Splits `data` into frames; a length beyond the rest (or the limit) ends it.
inline std::vector<std::vector<uint8_t>> split_stream(std::span<const uint8_t> data) {
  std::vector<std::vector<uint8_t>> frames;
  while (data.size() >= 4 && frames.size() < 256) {
    const uint32_t n = static_cast<uint32_t>(data[0]) | static_cast<uint32_t>(data[1]) << 8 |
                       static_cast<uint32_t>(data[2]) << 16 | static_cast<uint32_t>(data[3]) << 24;
    data = data.subspan(4);
    if (n > data.size() || n > kMaxFrameBytes) break;
    frames.emplace_back(data.begin(), data.begin() + n);  // own allocation: aligned like a link's
    data = data.subspan(n);
  }
  return frames;
}

inline void append_frame(std::vector<uint8_t>* stream, std::span<const uint8_t> frame) {
  const auto n = static_cast<uint32_t>(frame.size());
  for (int i = 0; i < 4; ++i) stream->push_back(static_cast<uint8_t>(n >> (8 * i)));
  stream->insert(stream->end(), frame.begin(), frame.end());
}

}  // namespace nf::fuzz
