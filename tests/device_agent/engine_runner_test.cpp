// The agent's engine-backed runner and its lean shard reader, on small data
// made here.
#include <doctest/doctest.h>

#include <unistd.h>

#include <string>
#include <vector>

#include "core/data/idx_reader.h"
#include "core/engine/model.h"
#include "core/engine/trainer.h"
#include "core/util/file.h"
#include "device_agent/engine_runner.h"
#include "device_agent/shard_loader.h"
#include "tests/device_agent/blobs.h"

namespace nf {
namespace {

TEST_CASE("read_idx_rows keeps exactly the chosen rows, in order, scaled to [0, 1]") {
  char tmpl[] = "/tmp/nf_shard_test_XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  // 5 images of 2x3 bytes: image i holds 10*i + k.
  std::vector<uint8_t> idx = {0, 0, 8, 3, 0, 0, 0, 5, 0, 0, 0, 2, 0, 0, 0, 3};
  for (int i = 0; i < 5; ++i) {
    for (int k = 0; k < 6; ++k) idx.push_back(static_cast<uint8_t>(10 * i + k));
  }
  const std::string path = dir + "/images.idx";
  REQUIRE(write_file_atomic(path, idx).is_ok());
  const std::vector<uint8_t> labels = {0, 1, 2, 1, 0};
  const std::vector<int64_t> rows = {1, 3, 4};
  Dataset d = read_idx_rows(path, labels, rows, 3, "tiny").value();
  CHECK(d.size == 3);
  CHECK(d.dim == 6);
  CHECK(d.labels == std::vector<int32_t>{1, 1, 0});
  CHECK(d.features.empty());  // kept as bytes
  REQUIRE(d.pixels.size() == 18);
  CHECK(d.pixels[6 + 2] == 32);
  CHECK(d.pixels[12 + 5] == 45);
  CHECK(pixel_value(d.pixels[6 + 2]) == doctest::Approx(32.0 / 255));
  // The same values as the whole-file reader that nf-sim and the aggregator use, bit for bit.
  const std::vector<uint8_t> label_file = {0, 0, 8, 1, 0, 0, 0, 5, 0, 1, 2, 1, 0};
  REQUIRE(write_file_atomic(dir + "/labels.idx", label_file).is_ok());
  const Dataset whole = read_idx_dataset(path, dir + "/labels.idx", 3, "whole").value();
  for (size_t i = 0; i < rows.size(); ++i) {
    for (int k = 0; k < 6; ++k) {
      CHECK(pixel_value(d.pixels[i * 6 + static_cast<size_t>(k)]) == whole.example(rows[i])[k]);
    }
  }

  const std::vector<int64_t> backwards = {3, 1};
  CHECK(read_idx_rows(path, labels, backwards, 3, "x").status().message().find("out of order") !=
        std::string::npos);
  const std::vector<uint8_t> too_few = {0, 1};
  CHECK(read_idx_rows(path, too_few, rows, 3, "x").status().message().find("5 images") !=
        std::string::npos);
  const std::vector<uint8_t> bad_label = {0, 7, 2, 1, 0};
  CHECK(read_idx_rows(path, bad_label, rows, 3, "x").status().message().find("label 7") !=
        std::string::npos);
}

TEST_CASE("the engine runner checks identity, trains the shard and reports its metrics") {
  const std::string spec = "4|8:relu:dense|2:linear:dense;seed=3";
  const Dataset data = nf::test::separable_blobs(40);
  ModelPool pool;
  EngineTaskRunner runner(pool, ClientData{&data, {0, 2, 4, 5, 7, 9}, 11, 0});
  const uint64_t identity = runner.load_model(spec).value();
  CHECK(identity != 0);
  CHECK(runner.load_model(spec).value() == identity);
  CHECK_FALSE(runner.load_model("4|8:relu:nonsense|2:linear:dense").is_ok());

  auto model = Model::create(parse_model_spec(spec).value()).value();
  TrainTask task;
  task.round = 2;
  task.task_id = 5;
  task.hyper.epochs = 3;
  task.hyper.batch_size = 2;
  task.hyper.learning_rate = 0.1f;
  task.global_values = encode_values(model->parameters(), {}, Encoding{}).value();
  Update a = runner.train(task, Encoding{}).value();
  CHECK(a.example_count == 6);
  CHECK(a.values.count == model->parameter_count());
  CHECK(a.metrics.peak_memory_bytes > 0);
  CHECK(a.metrics.loss > 0.0f);
  CHECK(a.values != task.global_values);
  // Same task, same client: bit-identical update (training is seeded by client and round).
  CHECK(runner.train(task, Encoding{}).value().values == a.values);
  // As a delta: decodes back to the same trained values.
  Update d = runner.train(task, Encoding{ValueType::kF32, true}).value();
  std::vector<float> global(static_cast<size_t>(model->parameter_count()));
  std::vector<float> from_delta(global.size()), direct(global.size());
  REQUIRE(decode_values(task.global_values, {}, global).is_ok());
  REQUIRE(decode_values(d.values, global, from_delta).is_ok());
  REQUIRE(decode_values(a.values, {}, direct).is_ok());
  for (size_t i = 0; i < direct.size(); ++i) CHECK(from_delta[i] == doctest::Approx(direct[i]));

  task.global_values.count -= 1;
  task.global_values.bytes.resize(task.global_values.bytes.size() - 4);
  CHECK(runner.train(task, Encoding{}).status().message().find("the model has") !=
        std::string::npos);

  EvaluateTask eval;
  eval.round = 2;
  eval.global_values = a.values;
  EvaluateResult r = runner.evaluate(eval).value();
  CHECK(r.example_count == 6);
  CHECK(r.accuracy >= 0.0f);
}

TEST_CASE("updates left to the codec hold the values an encoded update carries") {
  // FedProx with deltas reads the global values after the task's copy is
  // freed; the runner that leaves its updates unencoded must borrow values
  // that give the encoded update's bytes.
  const std::string spec = "4|8:relu:dense|2:linear:dense;seed=3";
  const Dataset data = nf::test::separable_blobs(40);
  ModelPool eager_pool, lazy_pool;
  EngineTaskRunner eager(eager_pool, ClientData{&data, {0, 2, 4, 5, 7, 9}, 11, 0});
  EngineTaskRunner lazy(lazy_pool, ClientData{&data, {0, 2, 4, 5, 7, 9}, 11, 0});
  lazy.set_unencoded_updates(true);
  REQUIRE(eager.load_model(spec).is_ok());
  REQUIRE(lazy.load_model(spec).is_ok());
  auto model = Model::create(parse_model_spec(spec).value()).value();
  TrainTask task;
  task.round = 1;
  task.hyper.epochs = 2;
  task.hyper.batch_size = 2;
  task.hyper.learning_rate = 0.1f;
  task.hyper.prox_mu = 0.5f;
  task.global_values = encode_values(model->parameters(), {}, Encoding{}).value();
  for (Encoding e : all_encodings()) {
    CAPTURE(encoding_name(e));
    const Update expected = eager.train(task, e).value();
    CHECK_FALSE(expected.unencoded.has_value());
    Update u = lazy.train(task, e).value();
    CHECK(u.values.encoding == e);
    CHECK(u.values.count == expected.values.count);
    if (e.type == ValueType::kInt8) {  // encoded by the runner: its errors are training errors
      CHECK_FALSE(u.unencoded.has_value());
      CHECK(u.values == expected.values);
      continue;
    }
    REQUIRE(u.unencoded.has_value());
    CHECK(u.values.bytes.empty());
    CHECK(u.unencoded->reference.size() == (e.delta ? expected.values.count : 0u));
    const EncodedValues encoded =
        encode_values(u.unencoded->values, u.unencoded->reference, e).value();
    CHECK(encoded == expected.values);
  }
}

TEST_CASE("training on features kept as bytes gives exactly the result of the same floats") {
  // 70 examples of 12 byte features: batches of 32 leave a partial one (padding lanes).
  Dataset bytes;
  bytes.size = 70;
  bytes.dim = 12;
  bytes.num_classes = 3;
  for (int64_t i = 0; i < bytes.size; ++i) {
    for (int k = 0; k < bytes.dim; ++k) {
      bytes.pixels.push_back(static_cast<uint8_t>((i * 37 + k * 11 + (i % 3) * 60) % 256));
    }
    bytes.labels.push_back(static_cast<int32_t>(i % 3));
  }
  Dataset floats = bytes;
  floats.pixels.clear();
  for (uint8_t p : bytes.pixels) floats.features.push_back(pixel_value(p));
  const std::vector<int64_t> shard = {0, 3, 5, 8, 13, 21, 22, 30, 34, 40, 41, 50, 55, 61, 69};
  const ModelSpec spec = parse_model_spec("12|16:relu:dense|3:linear:dense;seed=9").value();
  for (int batch : {1, 4, 32}) {
    CAPTURE(batch);
    auto a = Model::create(spec).value();
    auto b = Model::create(spec).value();
    TrainConfig config;
    config.epochs = 2;
    config.batch_size = batch;
    config.seed = 17;
    const TrainStats sa = train(*a, floats, shard, config).value();
    const TrainStats sb = train(*b, bytes, shard, config).value();
    CHECK(sa.mean_loss == sb.mean_loss);
    const auto pa = a->parameters(), pb = b->parameters();
    CHECK(std::equal(pa.begin(), pa.end(), pb.begin(), pb.end()));
    const EvalStats ea = evaluate(*a, floats, shard), eb = evaluate(*b, bytes, shard);
    CHECK(ea.loss == eb.loss);
    CHECK(ea.accuracy == eb.accuracy);
  }
}

}  // namespace
}  // namespace nf
