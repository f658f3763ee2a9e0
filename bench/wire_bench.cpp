// wire_bench: bytes on the wire per update for the 784-300-100-10 model,
// dense and as an a priori sparse cascade, per update encoding; and the time
// to encode and frame one update, against a memcpy of the raw f32 values
// measured in the same run. Prints figures; never asserts a time.
//
//   wire_bench [--json] [--repeats N]
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/fl/messages.h"
#include "core/util/rng.h"
#include "transports/codec.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Shape {
  const char* name;
  uint32_t weights;
  uint32_t biases;
};

// 784*300 + 300*100 + 100*10 = 266,200 weights, 300 + 100 + 10 = 410 biases.
constexpr Shape kShapes[] = {
    {"dense", 266200, 410},
    // ~10% of the dense weights kept by the fabric (26,620), biases unchanged.
    {"cascade_10pct", 26620, 410},
};

// TLS 1.2 AES-GCM record overhead: 5 header + 8 explicit nonce + 16 tag bytes
// per record of at most 16 KiB of plaintext.
uint64_t tls_bytes(uint64_t plain) {
  return plain + 29 * ((plain + 16383) / 16384);
}

struct Row {
  std::string shape, encoding;
  uint32_t values = 0;
  uint64_t payload = 0, wire = 0, frames = 0;
  double overhead_vs_4n = 0, overhead_vs_payload = 0, encode_us = 0, memcpy_us = 0;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Bytes on the wire per update, per model shape and update encoding"};
  bool json = false;
  int repeats = 20;
  app.add_flag("--json", json, "Print results as JSON");
  app.add_option("--repeats", repeats, "Timed repetitions per case")->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  std::vector<Row> rows;
  nf::Rng rng(1);
  for (const Shape& shape : kShapes) {
    const uint32_t n = shape.weights + shape.biases;
    std::vector<float> global(n), local(n);
    for (uint32_t i = 0; i < n; ++i) {
      global[i] = 0.05f * (static_cast<float>(rng.uniform01()) - 0.5f);
      local[i] = global[i] + 0.001f * (static_cast<float>(rng.uniform01()) - 0.5f);
    }
    // Baseline: copying the raw values once.
    std::vector<float> copy(n);
    auto t0 = Clock::now();
    for (int r = 0; r < repeats; ++r) {
      std::memcpy(copy.data(), local.data(), 4ull * n);
      asm volatile("" : : "r"(copy.data()) : "memory");
    }
    const double memcpy_us =
        std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / repeats;

    for (nf::Encoding e : nf::all_encodings()) {
      nf::Update u;
      u.round = 12;
      u.task_id = 3456;
      u.example_count = 600;
      u.metrics = nf::TrainMetrics{0.3f, 2.5, 50 << 20, 1 << 20};
      std::vector<std::vector<uint8_t>> frames;
      t0 = Clock::now();
      for (int r = 0; r < repeats; ++r) {
        if (!nf::encode_values(local, global, e, &u.values).is_ok() ||
            !nf::encode_message(u, nf::kDefaultMaxFrameBytes, &frames).is_ok()) {
          std::fprintf(stderr, "wire_bench: encoding %s failed\n", nf::encoding_name(e).c_str());
          return 1;
        }
      }
      Row row;
      row.encode_us =
          std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / repeats;
      row.memcpy_us = memcpy_us;
      row.shape = shape.name;
      row.encoding = nf::encoding_name(e);
      row.values = n;
      row.payload = u.values.bytes.size();
      row.frames = frames.size();
      for (const auto& f : frames) row.wire += f.size() + 4;  // plus the length prefix
      row.overhead_vs_4n = static_cast<double>(row.wire) / (4.0 * n) - 1.0;
      row.overhead_vs_payload =
          static_cast<double>(row.wire) / static_cast<double>(row.payload) - 1.0;
      rows.push_back(row);
    }
  }

  if (json) {
    std::printf("{\"benchmark\": \"wire\", \"max_frame_bytes\": %u, \"results\": [\n",
                nf::kDefaultMaxFrameBytes);
    for (size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      std::printf(
          "  {\"shape\": \"%s\", \"encoding\": \"%s\", \"values\": %u, \"payload_bytes\": %llu, "
          "\"wire_bytes\": %llu, \"frames\": %llu, \"tls_wire_bytes_estimate\": %llu, "
          "\"overhead_vs_4n\": %.6f, \"overhead_vs_payload\": %.6f, \"encode_frame_us\": %.1f, "
          "\"memcpy_f32_us\": %.1f, \"encode_over_memcpy\": %.2f}%s\n",
          r.shape.c_str(), r.encoding.c_str(), r.values, (unsigned long long)r.payload,
          (unsigned long long)r.wire, (unsigned long long)r.frames,
          (unsigned long long)tls_bytes(r.wire), r.overhead_vs_4n, r.overhead_vs_payload,
          r.encode_us, r.memcpy_us, r.encode_us / std::max(r.memcpy_us, 1e-3),
          i + 1 < rows.size() ? "," : "");
    }
    std::printf("]}\n");
    return 0;
  }
  std::printf(
      "Bytes on the wire per update (frames of at most %u bytes, 4-byte prefixes included)\n",
      nf::kDefaultMaxFrameBytes);
  std::printf("%-14s %-11s %8s %10s %10s %6s %12s %12s %11s %10s\n", "shape", "encoding", "values",
              "payload", "wire", "frames", "vs 4*nnz", "vs payload", "encode us", "x memcpy");
  for (const Row& r : rows) {
    std::printf("%-14s %-11s %8u %10llu %10llu %6llu %+11.4f%% %+11.4f%% %11.1f %10.1f\n",
                r.shape.c_str(), r.encoding.c_str(), r.values, (unsigned long long)r.payload,
                (unsigned long long)r.wire, (unsigned long long)r.frames, 100 * r.overhead_vs_4n,
                100 * r.overhead_vs_payload, r.encode_us,
                r.encode_us / std::max(r.memcpy_us, 1e-3));
  }
  std::printf("Over TLS (AES-GCM) add 29 bytes per 16 KiB record: about +0.18%%.\n");
  return 0;
}
