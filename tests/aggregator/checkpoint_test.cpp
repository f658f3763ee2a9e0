#include "aggregator/checkpoint.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "core/util/file.h"
#include "core/util/hash.h"

namespace nf::aggregator {

namespace {

std::string temp_dir() {
  char tmpl[] = "/tmp/nf_ckpt_XXXXXX";
  return ::mkdtemp(tmpl);
}

Checkpoint sample(int64_t round) {
  Checkpoint c;
  c.round = round;
  c.model_identity = 0x1234567890abcdefULL;
  c.global_values = {1.5f, -2.0f, static_cast<float>(round), 1e-30f};
  c.strategy_state = {1, 2, 3, static_cast<uint8_t>(round)};
  c.devices = {{"dev-a", round, 1, round}, {"dev-b", 0, 2, -1}};
  c.history = {{1, 3, 1, 0.5, 0.6, 0.7, 0.4, 0.8}};
  return c;
}

}  // namespace

TEST_CASE("a checkpoint round-trips bit for bit") {
  const auto c = sample(3);
  auto d = decode_checkpoint(encode_checkpoint(c));
  REQUIRE(d.is_ok());
  CHECK(d->round == 3);
  CHECK(d->model_identity == c.model_identity);
  CHECK(d->global_values == c.global_values);
  CHECK(d->strategy_state == c.strategy_state);
  REQUIRE(d->devices.size() == 2);
  CHECK(d->devices[1].identity == "dev-b");
  CHECK(d->devices[1].failures == 2);
  REQUIRE(d->history.size() == 1);
  CHECK(d->history[0].eval_accuracy == 0.7);
  CHECK(d->history[0].federated_loss == 0.4);
  CHECK(d->history[0].federated_accuracy == 0.8);
}

TEST_CASE("a version 1 checkpoint (no federated evaluation figures) is still read") {
  // Version 1 is version 2 without the last two f64 of every history entry.
  const auto v2 = encode_checkpoint(sample(3));
  std::vector<uint8_t> payload(v2.begin() + 16, v2.end() - 8);
  payload.resize(payload.size() - 16);
  std::vector<uint8_t> v1(v2.begin(), v2.begin() + 8);
  v1[7] = 1;
  auto put_u64 = [&v1](uint64_t v) {
    for (int i = 0; i < 8; ++i) v1.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  put_u64(payload.size());
  v1.insert(v1.end(), payload.begin(), payload.end());
  put_u64(Hasher().bytes(payload).digest());
  auto d = decode_checkpoint(v1);
  REQUIRE(d.is_ok());
  REQUIRE(d->history.size() == 1);
  CHECK(d->history[0].eval_accuracy == 0.7);
  CHECK(d->history[0].federated_loss == -1);
  CHECK(d->history[0].federated_accuracy == -1);
  // The same bytes labelled version 2 are malformed, and an unknown version is refused.
  v1[7] = 2;
  CHECK(decode_checkpoint(v1).status().code() == StatusCode::kCorrupt);
  v1[7] = 3;
  CHECK(decode_checkpoint(v1).status().code() == StatusCode::kCorrupt);
}

TEST_CASE("every single-byte corruption and every truncation is detected") {
  const auto bytes = encode_checkpoint(sample(5));
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto damaged = bytes;
    damaged[i] ^= 0x40;
    CHECK_FALSE(decode_checkpoint(damaged).is_ok());
  }
  for (size_t n = 0; n < bytes.size(); ++n) {
    CHECK(decode_checkpoint(std::span(bytes).first(n)).status().code() == StatusCode::kCorrupt);
  }
}

TEST_CASE("the newest valid checkpoint is loaded; a torn newest falls back to the previous") {
  const auto dir = temp_dir();
  CHECK(load_latest_checkpoint(dir).status().code() == StatusCode::kNotFound);
  for (int64_t r = 1; r <= 4; ++r) REQUIRE(save_checkpoint(dir, sample(r), 2).is_ok());
  // Only the newest two are kept.
  CHECK_FALSE(std::filesystem::exists(dir + "/checkpoint-00000002.nfc"));
  auto latest = load_latest_checkpoint(dir);
  REQUIRE(latest.is_ok());
  CHECK(latest->checkpoint.round == 4);
  CHECK(latest->rejected.empty());

  // Tear the newest: keep only its first half.
  const std::string newest = dir + "/checkpoint-00000004.nfc";
  auto bytes = read_file(newest);
  REQUIRE(bytes.is_ok());
  bytes->resize(bytes->size() / 2);
  REQUIRE(write_file_atomic(newest, *bytes).is_ok());
  latest = load_latest_checkpoint(dir);
  REQUIRE(latest.is_ok());
  CHECK(latest->checkpoint.round == 3);
  REQUIRE(latest->rejected.size() == 1);
  CHECK(latest->rejected[0].find("checkpoint-00000004.nfc") != std::string::npos);

  // Corrupt the other one too: the error names both files.
  const std::string older = dir + "/checkpoint-00000003.nfc";
  bytes = read_file(older);
  REQUIRE(bytes.is_ok());
  (*bytes)[30] ^= 1;
  REQUIRE(write_file_atomic(older, *bytes).is_ok());
  latest = load_latest_checkpoint(dir);
  CHECK(latest.status().code() == StatusCode::kCorrupt);
  CHECK(latest.status().message().find("checksum") != std::string::npos);
  CHECK(latest.status().message().find("00000004") != std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a file renamed to another round's name is rejected") {
  const auto dir = temp_dir();
  REQUIRE(save_checkpoint(dir, sample(2), 2).is_ok());
  std::filesystem::rename(dir + "/checkpoint-00000002.nfc", dir + "/checkpoint-00000009.nfc");
  REQUIRE(save_checkpoint(dir, sample(1), 3).is_ok());
  auto latest = load_latest_checkpoint(dir);
  REQUIRE(latest.is_ok());
  CHECK(latest->checkpoint.round == 1);
  std::filesystem::remove_all(dir);
}

}  // namespace nf::aggregator
