#include <doctest/doctest.h>
#include <zlib.h>

#include <stdlib.h>

#include <cstdio>
#include <string>
#include <vector>

#include "core/data/idx_reader.h"

namespace nf {
namespace {

std::string temp_dir() {
  char tmpl[] = "/tmp/nf_idx_test_XXXXXX";
  return ::mkdtemp(tmpl);
}

std::vector<uint8_t> idx_bytes(std::vector<uint32_t> dims, const std::vector<uint8_t>& values,
                               uint8_t type = 0x08) {
  std::vector<uint8_t> b = {0, 0, type, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(d >> s));
  }
  b.insert(b.end(), values.begin(), values.end());
  return b;
}

std::vector<uint8_t> gzip(const std::vector<uint8_t>& raw) {
  uLongf size = compressBound(raw.size()) + 32;
  std::vector<uint8_t> out(size);
  z_stream z{};
  // windowBits 15 + 16: a gzip header and trailer, as the real files have.
  REQUIRE(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  z.next_in = const_cast<Bytef*>(raw.data());
  z.avail_in = static_cast<uInt>(raw.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// Plain writes: these files need no crash safety, and fsync would make the suite slow.
void write(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  REQUIRE(file != nullptr);
  REQUIRE(std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size());
  REQUIRE(std::fclose(file) == 0);
}

struct Fixture {
  std::string dir = temp_dir();
  std::vector<uint8_t> pixels = {0, 255, 51, 102, 10, 20, 30, 40, 255, 255, 0, 0};  // 3 of 2x2
  std::vector<uint8_t> labels = {2, 0, 1};
  std::string images_path = dir + "/images.gz";
  std::string labels_path = dir + "/labels.gz";
  Fixture() {
    write(images_path, gzip(idx_bytes({3, 2, 2}, pixels)));
    write(labels_path, gzip(idx_bytes({3}, labels)));
  }
  ~Fixture() { std::system(("rm -rf " + dir).c_str()); }
};

bool contains(const Status& s, const std::string& text) {
  return s.message().find(text) != std::string::npos;
}

TEST_CASE("idx: a gzipped pair reads with pixels scaled to [0, 1]") {
  Fixture f;
  auto data = read_idx_dataset(f.images_path, f.labels_path, 3, "tiny");
  REQUIRE_MESSAGE(data.is_ok(), data.status().to_string());
  CHECK(data->size == 3);
  CHECK(data->dim == 4);
  CHECK(data->num_classes == 3);
  CHECK(data->labels == std::vector<int32_t>{2, 0, 1});
  CHECK(data->example(0)[1] == 1.0f);
  CHECK(data->example(0)[2] == doctest::Approx(0.2));
  CHECK(data->example(2)[3] == 0.0f);
  CHECK(data->name == "tiny");
}

TEST_CASE("idx: kept as bytes, the pair holds the file's pixels, the same features as floats") {
  Fixture f;
  auto floats = read_idx_dataset(f.images_path, f.labels_path, 3, "tiny");
  auto bytes = read_idx_dataset(f.images_path, f.labels_path, 3, "tiny", IdxFeatures::kBytes);
  REQUIRE(floats.is_ok());
  REQUIRE_MESSAGE(bytes.is_ok(), bytes.status().to_string());
  CHECK(bytes->features.empty());
  CHECK(bytes->pixels == f.pixels);
  CHECK(bytes->size == 3);
  CHECK(bytes->dim == 4);
  CHECK(bytes->labels == floats->labels);
  REQUIRE(bytes->pixels.size() == floats->features.size());
  for (size_t i = 0; i < bytes->pixels.size(); ++i) {
    CHECK(pixel_value(bytes->pixels[i]) == floats->features[i]);
  }
  // The same checks of the file, whichever form is asked for.
  write(f.dir + "/short.gz", gzip(idx_bytes({3, 2, 2}, {1, 2, 3})));
  CHECK(contains(
      read_idx_dataset(f.dir + "/short.gz", f.labels_path, 3, "x", IdxFeatures::kBytes).status(),
      "short.gz"));
}

TEST_CASE("idx: uncompressed files read too") {
  Fixture f;
  write(f.dir + "/plain", idx_bytes({3}, f.labels));
  auto labels = read_idx_file(f.dir + "/plain", 1);
  REQUIRE(labels.is_ok());
  CHECK(labels->values == f.labels);
}

TEST_CASE("idx: a missing file is not_found and named") {
  Fixture f;
  auto data = read_idx_dataset(f.dir + "/nope.gz", f.labels_path, 3, "x");
  CHECK(data.status().code() == StatusCode::kNotFound);
  CHECK(contains(data.status(), f.dir + "/nope.gz"));
  auto fashion = load_fashion_mnist(FashionMnistSplit::kTrain, f.dir);
  CHECK(fashion.status().code() == StatusCode::kNotFound);
  CHECK(contains(fashion.status(), "NF_FASHION_MNIST_DIR"));
  CHECK(contains(fashion.status(), f.dir + "/train-images-idx3-ubyte.gz"));
}

TEST_CASE("idx: wrong magic names the file and the bytes") {
  Fixture f;
  write(f.images_path, gzip(idx_bytes({3, 2, 2}, f.pixels, 0x0d)));  // float data
  auto data = read_idx_dataset(f.images_path, f.labels_path, 3, "x");
  CHECK(data.status().code() == StatusCode::kCorrupt);
  CHECK(contains(data.status(), f.images_path + ": wrong magic 00 00 0d 03"));
  // A labels file given as images: one dimension instead of three.
  auto swapped = read_idx_dataset(f.labels_path, f.images_path, 3, "x");
  CHECK(contains(swapped.status(), f.labels_path + ": wrong magic 00 00 08 01"));
}

TEST_CASE("idx: a short file says how many bytes it lacks") {
  Fixture f;
  std::vector<uint8_t> bytes = idx_bytes({3, 2, 2}, f.pixels);
  bytes.resize(bytes.size() - 5);
  write(f.images_path, gzip(bytes));
  auto data = read_idx_dataset(f.images_path, f.labels_path, 3, "x");
  CHECK(data.status().code() == StatusCode::kCorrupt);
  CHECK(contains(data.status(), f.images_path));
  CHECK(contains(data.status(), "ends after 7 of 12 bytes"));
}

TEST_CASE("idx: a truncated gzip stream is corrupt, not a short data set") {
  Fixture f;
  std::vector<uint8_t> compressed = gzip(idx_bytes({3, 2, 2}, f.pixels));
  SUBCASE("cut inside the deflate data") {
    compressed.resize(compressed.size() / 2);
  }
  SUBCASE("cut inside the trailer") {
    compressed.resize(compressed.size() - 3);
  }
  SUBCASE("bad CRC") {
    compressed[compressed.size() - 6] ^= 0xff;
  }
  write(f.images_path, compressed);
  auto data = read_idx_dataset(f.images_path, f.labels_path, 3, "x");
  CHECK(data.status().code() == StatusCode::kCorrupt);
  CHECK(contains(data.status(), f.images_path));
}

TEST_CASE("idx: image and label counts must agree") {
  Fixture f;
  write(f.labels_path, gzip(idx_bytes({2}, {0, 1})));
  auto data = read_idx_dataset(f.images_path, f.labels_path, 3, "x");
  CHECK(data.status().code() == StatusCode::kCorrupt);
  CHECK(contains(data.status(), "has 3 images but " + f.labels_path + " has 2 labels"));
}

TEST_CASE("idx: trailing bytes and labels outside the classes are refused") {
  Fixture f;
  std::vector<uint8_t> bytes = idx_bytes({3}, f.labels);
  bytes.push_back(7);
  write(f.labels_path, gzip(bytes));
  CHECK(
      contains(read_idx_dataset(f.images_path, f.labels_path, 3, "x").status(), "trailing bytes"));
  write(f.labels_path, gzip(idx_bytes({3}, {0, 9, 1})));
  CHECK(contains(read_idx_dataset(f.images_path, f.labels_path, 3, "x").status(),
                 "label[1] = 9 is outside [0, 3)"));
}

TEST_CASE("idx: an absurd header is refused before allocating") {
  Fixture f;
  write(f.images_path, gzip(idx_bytes({60000, 60000, 28}, {})));
  auto data = read_idx_dataset(f.images_path, f.labels_path, 3, "x");
  CHECK(data.status().code() == StatusCode::kCorrupt);
  CHECK(contains(data.status(), "header declares more than"));
}

}  // namespace
}  // namespace nf

namespace nf {
namespace {

TEST_CASE("idx: damaged files never crash the reader") {
  Fixture f;
  const std::vector<uint8_t> good = gzip(idx_bytes({3, 2, 2}, f.pixels));
  uint64_t state = 12345;
  for (int trial = 0; trial < 60; ++trial) {
    std::vector<uint8_t> bad = good;
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    bad[(state >> 33) % bad.size()] ^= static_cast<uint8_t>(1 + (state >> 20) % 255);
    write(f.images_path, bad);
    auto data = read_idx_dataset(f.images_path, f.labels_path, 3, "x");
    // Either the damage is caught or (a flip in the gzip header's free fields)
    // the data comes out intact.
    if (data.is_ok()) {
      CHECK(data->size == 3);
    } else {
      CHECK(data.status().message().find(f.images_path) != std::string::npos);
    }
  }
}

}  // namespace
}  // namespace nf
