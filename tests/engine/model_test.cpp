// Model spec text, parameter layout, initialization, memory accounting,
// training determinism and the model file.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "core/engine/model_file.h"
#include "core/engine/model_impl.h"
#include "core/engine/trainer.h"
#include "core/engine/xnn_dense.h"
#include "core/util/file.h"
#include "core/util/rng.h"
#include "engine_test_util.h"

namespace nf {
namespace {

TEST_CASE("model spec text round-trips and names what is wrong") {
  const char* text = "784|300:relu:clos:n=28,m=24,r=28|100:relu:dense|10:linear:dense";
  auto spec = parse_model_spec(text);
  REQUIRE_MESSAGE(spec.is_ok(), spec.status().to_string());
  CHECK(spec->input_dim == 784);
  REQUIRE(spec->layers.size() == 3);
  CHECK(spec->layers[0].fabric.kind == FabricKind::kClos);
  CHECK(spec->layers[0].fabric.params.m == 24);
  CHECK(spec->layers[2].activation == Activation::kLinear);
  CHECK(format_architecture(*spec) == text);
  CHECK(format_model_spec(*spec) == std::string(text) + ";init=sparse;seed=0");
  auto again = parse_model_spec(
      " 784 | 300 : relu : clos:n=28,m=24,r=28|100:relu:dense|"
      "10:identity:dense ; init=dense ; seed=42");
  REQUIRE_MESSAGE(again.is_ok(), again.status().to_string());
  CHECK(again->init == InitRule::kDenseShape);
  CHECK(again->seed == 42);
  CHECK(format_architecture(*again) == text);

  auto err = [](const char* t) { return parse_model_spec(t).status().message(); };
  CHECK(err("784").find("no layer") != std::string::npos);
  CHECK(err("784|300:relu").find("width:activation:fabric") != std::string::npos);
  CHECK(err("784|300:swish:dense").find("swish") != std::string::npos);
  CHECK(err("784|3x0:relu:dense").find("3x0") != std::string::npos);
  CHECK(err("0|10:relu:dense").find("input dimension 0") != std::string::npos);
  CHECK(err("784|10:linear:dense;init=lecun").find("lecun") != std::string::npos);
  CHECK(err("784|10:linear:dense;lr=3").find("lr") != std::string::npos);
  CHECK(err("784|10:linear:warp").find("layer 1") != std::string::npos);
}

TEST_CASE("standard specs hit the weight fraction and build") {
  for (FabricKind kind : {FabricKind::kClos, FabricKind::kButterfly}) {
    for (double fraction : {0.2, 0.1, 0.05}) {
      CAPTURE(fabric_kind_name(kind));
      CAPTURE(fraction);
      auto spec = standard_mlp_spec_for_fraction(kind, fraction);
      REQUIRE_MESSAGE(spec.is_ok(), spec.status().to_string());
      auto model = Model::create(*spec);
      REQUIRE_MESSAGE(model.is_ok(), model.status().to_string());
      CHECK((*model)->dense_equivalent_count() == 784 * 300 + 300 + 300 * 100 + 100 + 1010);
      const double ratio = static_cast<double>((*model)->cascade(0).nnz()) / (784.0 * 300.0);
      CHECK(ratio > fraction / 2);
      CHECK(ratio < fraction * 2);
    }
  }
  auto hyper = standard_mlp_spec_for_fraction(FabricKind::kRandomFanIn, 0.1);
  REQUIRE_MESSAGE(hyper.is_ok(), hyper.status().to_string());
  CHECK(hyper->layers[0].fabric.kind == FabricKind::kRandomFanIn);
  CHECK(!standard_mlp_spec_for_fraction(FabricKind::kClos, 0.0).is_ok());
}

TEST_CASE("parameter layout, identity and memory report") {
  auto spec = parse_model_spec("30|20:relu:clos|10:linear:dense;seed=5");
  REQUIRE(spec.is_ok());
  auto made = Model::create(*spec);
  REQUIRE_MESSAGE(made.is_ok(), made.status().to_string());
  Model& model = **made;
  int64_t expect = 0;
  for (int l = 0; l < model.num_layers(); ++l) {
    for (int i = 0; i < model.cascade(l).depth(); ++i) {
      CHECK(model.weight_offset(l, i) == expect);
      expect += model.cascade(l).sublayers[i].mask.nnz();
    }
    CHECK(model.bias_offset(l) == expect);
    expect += model.cascade(l).n_out;
  }
  CHECK(model.parameter_count() == expect);
  CHECK(model.parameters().size() == static_cast<size_t>(expect));

  // Identity: architecture and masks, not the seed.
  ModelSpec other = *spec;
  other.seed = 6;
  CHECK((*Model::create(other))->identity() == model.identity());
  other.layers[0].fabric = FabricSpec{};
  CHECK((*Model::create(other))->identity() != model.identity());

  const MemoryReport m1 = model.memory_report(1, OptimizerKind::kAdam);
  const MemoryReport m64 = model.memory_report(64, OptimizerKind::kAdam);
  CHECK(m1.weight_bytes == 4 * expect);
  CHECK(m1.gradient_bytes == 4 * expect);
  CHECK(m1.optimizer_bytes == 8 * expect);
  CHECK(m64.activation_bytes > 16 * m1.activation_bytes);
  CHECK(m1.index_bytes > 0);
  CHECK(model.memory_report(8, OptimizerKind::kSgd, 0.0f).optimizer_bytes == 0);
}

TEST_CASE("the memory report's workspace is what training allocates; evaluation has no gradients") {
  for (const char* text : {"784|300:relu:clos:n=28,m=13,r=28|100:relu:clos|10:linear:dense",
                           "20|12:relu:dense|5:linear:dense"}) {
    CAPTURE(text);
    auto model = std::move(Model::create(*parse_model_spec(text))).value();
    engine::ModelImpl& m = model->impl();
    for (int batch : {1, 7, 32}) {
      for (int threads : {1, 2}) {
        CAPTURE(batch);
        CAPTURE(threads);
        m.prepare(batch, threads);
        CHECK(m.allocated_workspace_bytes() == m.workspace_bytes(batch, threads));
      }
    }
    // The gradient buffers need not hold the data's gradient: with a
    // 784-wide input and 364 middle rows, they are 364 rows wide.
    CHECK(m.gradient_width() == (model->input_dim() == 784 ? 364 : 12));
    m.use_eval_workspace(true);
    m.prepare(256, 1);
    const int64_t eval = m.allocated_workspace_bytes();
    m.use_eval_workspace(false);
    m.prepare(256, 1);
    CHECK(eval < m.allocated_workspace_bytes());
    int64_t activations = 0;
    for (int l = 0; l < model->num_layers(); ++l) {
      for (int i = 0; i + 1 < static_cast<int>(m.layers[l].ops.size()); ++i)
        activations += m.layers[l].ops[i].rows();
      activations += m.layers[l].n_out;
    }
    // input, activations, the loss's class rows, per-lane loss state
    CHECK(eval == (model->input_dim() + activations + m.layers.back().n_out) * 256 * 4 + 256 * 20);
  }
}

// Mean square of every sublayer output of a model's first layer on unit-variance input.
std::vector<double> sublayer_second_moments(const Model& model, int examples) {
  const Cascade& c = model.cascade(0);
  std::vector<double> moments;
  Rng rng(3);
  std::vector<std::vector<double>> xs(examples, std::vector<double>(c.n_in));
  for (auto& x : xs) {
    for (double& v : x) v = (2.0 * rng.uniform01() - 1.0) * std::sqrt(3.0);
  }
  for (int i = 0; i < c.depth(); ++i) {
    const Mask& mask = c.sublayers[i].mask;
    const float* w = model.parameters().data() + model.weight_offset(0, i);
    double sq = 0.0;
    for (auto& x : xs) {
      std::vector<double> y(mask.rows, 0.0);
      for (int32_t r = 0; r < mask.rows; ++r) {
        for (int32_t p = mask.row_ptr[r]; p < mask.row_ptr[r + 1]; ++p)
          y[r] += w[p] * x[mask.col_idx[p]];
      }
      if (i + 1 == c.depth()) {
        for (double& v : y) v = std::max(v, 0.0);  // the layer's ReLU (zero bias)
      }
      for (double v : y) sq += v * v;
      x = std::move(y);
    }
    moments.push_back(sq / (static_cast<double>(examples) * mask.rows));
  }
  return moments;
}

TEST_CASE("sparse-aware init keeps the signal through a depth-8 cascade; dense-shape collapses") {
  std::vector<Cascade> a, b;
  a.push_back(test::butterfly_cascade(2, 8));  // 256 wide, fan-in 2 at each of 8 stages
  b.push_back(test::butterfly_cascade(2, 8));
  auto sparse =
      test::make_model(256, {{256, Activation::kRelu}}, std::move(a), 1, InitRule::kSparseAware);
  auto dense =
      test::make_model(256, {{256, Activation::kRelu}}, std::move(b), 1, InitRule::kDenseShape);
  const auto ms = sublayer_second_moments(*sparse, 200);
  const auto md = sublayer_second_moments(*dense, 200);
  REQUIRE(ms.size() == 8);
  for (size_t i = 0; i < ms.size(); ++i) {
    CAPTURE(i);
    // Input second moment is 1; after the final ReLU, E[a^2] = var(pre) / 2 = 1.
    CHECK(ms[i] > 0.5);
    CHECK(ms[i] < 2.0);
  }
  CHECK(md.back() < 1e-6);
  CHECK(md[0] < 0.05);
}

Dataset teacher_dataset(int64_t size, int32_t dim, int32_t classes, uint64_t seed) {
  Dataset d;
  d.size = size;
  d.dim = dim;
  d.num_classes = classes;
  d.name = "teacher";
  Rng rng(seed);
  std::vector<float> teacher(static_cast<size_t>(dim) * classes);
  for (float& t : teacher) t = 2.0f * rng.uniform01() - 1.0f;
  d.features.resize(static_cast<size_t>(size) * dim);
  for (float& f : d.features) f = rng.uniform01();
  for (int64_t i = 0; i < size; ++i) {
    int32_t best = 0;
    float best_v = -1e30f;
    for (int32_t c = 0; c < classes; ++c) {
      float v = 0.0f;
      for (int32_t j = 0; j < dim; ++j)
        v += teacher[c * dim + j] * (d.features[i * dim + j] - 0.5f);
      if (v > best_v) {
        best_v = v;
        best = c;
      }
    }
    d.labels.push_back(best);
  }
  return d;
}

TEST_CASE("training learns, is deterministic and thread-count independent") {
  const Dataset data = teacher_dataset(300, 24, 4, 11);
  std::vector<int64_t> idx(data.size);
  for (int64_t i = 0; i < data.size; ++i) idx[i] = i;
  auto spec = parse_model_spec("24|32:relu:clos|16:tanh:dense|4:linear:dense;seed=3");
  REQUIRE(spec.is_ok());
  for (OptimizerKind kind : {OptimizerKind::kNesterov, OptimizerKind::kAdamW}) {
    for (int batch : {1, 7, 32}) {
      CAPTURE(optimizer_name(kind));
      CAPTURE(batch);
      TrainConfig cfg;
      cfg.optimizer = kind;
      cfg.epochs = 4;
      cfg.batch_size = batch;
      cfg.learning_rate = kind == OptimizerKind::kAdamW ? 0.01f : (batch == 1 ? 0.01f : 0.1f);
      cfg.momentum = 0.8f;
      cfg.weight_decay = 1e-4f;
      cfg.clip_norm = 5.0f;
      cfg.prox_mu = 0.01f;
      cfg.seed = 9;
      auto m1 = std::move(Model::create(*spec)).value();
      auto m2 = std::move(Model::create(*spec)).value();
      const EvalStats before = evaluate(*m1, data, idx);
      auto s1 = train(*m1, data, idx, cfg);
      REQUIRE_MESSAGE(s1.is_ok(), s1.status().to_string());
      cfg.threads = 2;
      cfg.choose_threads = false;        // every step splits...
      m2->impl().min_parallel_work = 0;  // ...every section: a small model
      auto s2 = train(*m2, data, idx, cfg);
      REQUIRE(s2.is_ok());
      CHECK(s2->split_steps == (batch == 1 ? 0 : 4 * ((300 + batch - 1) / batch)));
      // Steps that choose between one thread and two by timing them: the
      // same values whatever was chosen.
      cfg.choose_threads = true;
      auto m3 = std::move(Model::create(*spec)).value();
      m3->impl().min_parallel_work = 0;
      REQUIRE(train(*m3, data, idx, cfg).is_ok());
      CHECK(std::memcmp(m1->parameters().data(), m3->parameters().data(),
                        m1->parameters().size() * sizeof(float)) == 0);
      CHECK(s1->examples == 4 * 300);
      CHECK(std::memcmp(m1->parameters().data(), m2->parameters().data(),
                        m1->parameters().size() * sizeof(float)) == 0);
      CHECK(s1->mean_loss == s2->mean_loss);
      const EvalStats after = evaluate(*m1, data);
      CHECK(after.examples == 300);
      CHECK(after.loss < before.loss);
      CHECK(after.accuracy > 0.5);
      MESSAGE(before.accuracy << " -> " << after.accuracy);
      // A second call reuses the workspace and continues from the trained values.
      auto s3 = train(*m1, data, idx, cfg);
      REQUIRE(s3.is_ok());
      CHECK(s3->mean_loss < s1->mean_loss);
    }
  }
}

TEST_CASE("evaluation gives the same bits in the training workspace as in its own") {
  const Dataset data = teacher_dataset(300, 24, 4, 5);  // 300: a last group of 12
  auto spec = parse_model_spec("24|32:relu:clos|16:tanh:dense|4:linear:dense;seed=3");
  REQUIRE(spec.is_ok());
  for (int train_batch : {1, 16, 48, 100}) {
    CAPTURE(train_batch);
    auto model = std::move(Model::create(*spec)).value();
    const EvalStats own = evaluate(*model, data);  // nothing trained yet: its own workspace
    CHECK(model->impl().training_batch_capacity() == 0);
    TrainConfig cfg;
    cfg.batch_size = train_batch;
    cfg.learning_rate = 0.0f;  // the values stay as they are
    cfg.threads = 2;
    std::vector<int64_t> idx(50);
    for (int i = 0; i < 50; ++i) idx[i] = i;
    REQUIRE(train(*model, data, idx, cfg).is_ok());
    CHECK(model->impl().training_batch_capacity() ==
          (train_batch == 1 ? 0 : (train_batch + 15) / 16 * 16));
    const EvalStats reused = evaluate(*model, data);
    CHECK(reused.examples == own.examples);
    CHECK(reused.accuracy == own.accuracy);
    CHECK(std::memcmp(&reused.loss, &own.loss, sizeof(double)) == 0);
  }
}

TEST_CASE("a data set kept as bytes trains to the same bits as its floats") {
  // Widths around the byte path's 64-feature chunks; batches around its
  // 16-example groups, and batch 1. A first sublayer of wide contiguous
  // blocks (dense; a Clos of 10-wide ingress blocks at 100 inputs) takes
  // its weight gradient from the batch-major copy the byte load keeps, the
  // floats' by transposing: the same bits either way.
  for (int32_t dim : {5, 64, 100}) {
    for (const char* first : {"dense", "clos"}) {
      Dataset bytes;
      bytes.name = "bytes";
      bytes.size = 90;
      bytes.dim = dim;
      bytes.num_classes = 3;
      Rng rng(static_cast<uint64_t>(dim));
      bytes.pixels.resize(static_cast<size_t>(bytes.size) * static_cast<size_t>(dim));
      for (uint8_t& p : bytes.pixels) p = static_cast<uint8_t>(rng.uniform(256));
      for (int64_t i = 0; i < bytes.size; ++i) bytes.labels.push_back(static_cast<int32_t>(i % 3));
      Dataset floats = bytes;
      floats.pixels.clear();
      for (uint8_t p : bytes.pixels) floats.features.push_back(pixel_value(p));
      const std::string text = std::to_string(dim) + "|12:relu:" + first + "|3:linear:dense;seed=4";
      auto spec = parse_model_spec(text);
      REQUIRE(spec.is_ok());
      for (int batch : {1, 7, 16, 33}) {
        CAPTURE(text);
        CAPTURE(batch);
        auto a = std::move(Model::create(*spec)).value();
        auto b = std::move(Model::create(*spec)).value();
        TrainConfig cfg;
        cfg.batch_size = batch;
        cfg.epochs = 2;
        std::vector<int64_t> idx(90);
        for (int i = 0; i < 90; ++i) idx[i] = (i * 37) % 90;
        REQUIRE(train(*a, bytes, idx, cfg).is_ok());
        REQUIRE(train(*b, floats, idx, cfg).is_ok());
        CHECK(std::memcmp(a->parameters().data(), b->parameters().data(),
                          a->parameters().size() * sizeof(float)) == 0);
      }
    }
  }
}

TEST_CASE("the batch kept batch-major for the first sublayer changes no bit") {
  // First sublayers whose weight gradient reads the rows (Clos ingress,
  // dense: all blocks or, at 40 rows, the 36-row unit but not the 4-row
  // one, whose gradient takes another path) and that never do (butterfly
  // of small blocks, CSR): trained with and without the batch-major copy,
  // from bytes and from floats, at batch sizes around the 16-example
  // groups and the paths' thresholds (32, 64), with 1 and 2 threads.
  const Dataset floats = teacher_dataset(150, 100, 5, 7);
  Dataset bytes = floats;
  bytes.features.clear();
  for (float f : floats.features) {
    bytes.pixels.push_back(static_cast<uint8_t>(std::clamp(f, 0.0f, 1.0f) * 255.0f));
  }
  std::vector<int64_t> idx(150);
  for (int i = 0; i < 150; ++i) idx[i] = (i * 61) % 150;
  for (const char* layer1 : {"24:relu:clos", "40:relu:dense", "16:tanh:butterfly:radix=4",
                             "20:relu:random_fan_in:fan_in=10"}) {
    const std::string text = std::string("100|") + layer1 + "|5:linear:dense;seed=2";
    auto spec = parse_model_spec(text);
    REQUIRE(spec.is_ok());
    for (const Dataset* data : {&floats, static_cast<const Dataset*>(&bytes)}) {
      for (int batch : {16, 33, 64}) {
        for (int threads : {1, 2}) {
          CAPTURE(text);
          CAPTURE(data->pixels.empty());
          CAPTURE(batch);
          CAPTURE(threads);
          auto with = std::move(Model::create(*spec)).value();
          auto without = std::move(Model::create(*spec)).value();
          TrainConfig cfg;
          cfg.batch_size = batch;
          cfg.threads = threads;
          cfg.epochs = 2;
          REQUIRE(train(*with, *data, idx, cfg).is_ok());
          TrainConfig lean = cfg;
          lean.batch_major_input = false;
          REQUIRE(train(*without, *data, idx, lean).is_ok());
          // The workspace follows the setting, with its size in the report.
          const int64_t rows_bytes = with->impl().allocated_workspace_bytes() -
                                     without->impl().allocated_workspace_bytes();
          CHECK(rows_bytes == (with->impl().layers[0].ops[0].reads_input_rows()
                                   ? (100 * static_cast<int64_t>(with->impl().stride()) + 16) * 4
                                   : 0));
          CHECK(std::memcmp(with->parameters().data(), without->parameters().data(),
                            with->parameters().size() * sizeof(float)) == 0);
        }
      }
    }
  }
}

TEST_CASE("the update fused into the backward pass changes no bit") {
  // Every optimizer rule, with weight decay and the FedProx term, at batches
  // around the 16-example groups, with 1 and 2 threads (every section
  // split): each element is updated from its own gradient either way.
  // Clipping needs the whole gradient's norm and batch 1 is faster apart,
  // so both keep the separate update (and must too give the same bits).
  const Dataset data = teacher_dataset(90, 30, 4, 9);
  std::vector<int64_t> idx(90);
  for (int i = 0; i < 90; ++i) idx[i] = (i * 37) % 90;
  auto spec = parse_model_spec("30|24:relu:clos|12:tanh:butterfly:radix=4|4:linear:dense;seed=4");
  REQUIRE(spec.is_ok());
  struct Rule {
    OptimizerKind kind;
    float momentum, weight_decay, prox_mu, clip_norm;
  };
  const Rule rules[] = {{OptimizerKind::kSgd, 0.0f, 0.0f, 0.0f, 0.0f},
                        {OptimizerKind::kSgd, 0.9f, 1e-3f, 0.0f, 0.0f},
                        {OptimizerKind::kNesterov, 0.9f, 0.0f, 0.1f, 0.0f},
                        {OptimizerKind::kAdam, 0.0f, 1e-3f, 0.0f, 0.0f},
                        {OptimizerKind::kAdamW, 0.0f, 1e-2f, 0.1f, 0.0f},
                        {OptimizerKind::kSgd, 0.9f, 0.0f, 0.0f, 0.5f}};
  for (const Rule& rule : rules) {
    for (int batch : {1, 16, 33}) {
      for (int threads : {1, 2}) {
        CAPTURE(static_cast<int>(rule.kind));
        CAPTURE(rule.prox_mu);
        CAPTURE(rule.clip_norm);
        CAPTURE(batch);
        CAPTURE(threads);
        auto fused = std::move(Model::create(*spec)).value();
        auto apart = std::move(Model::create(*spec)).value();
        apart->impl().fuse_update = false;
        fused->impl().min_parallel_work = 0;
        apart->impl().min_parallel_work = 0;
        TrainConfig cfg;
        cfg.optimizer = rule.kind;
        cfg.learning_rate = rule.kind == OptimizerKind::kSgd ? 0.05f : 0.01f;
        cfg.momentum = rule.momentum;
        cfg.weight_decay = rule.weight_decay;
        cfg.prox_mu = rule.prox_mu;
        cfg.clip_norm = rule.clip_norm;
        cfg.batch_size = batch;
        cfg.threads = threads;
        cfg.choose_threads = false;
        cfg.epochs = 2;
        std::vector<float> anchor(fused->parameters().begin(), fused->parameters().end());
        for (float& a : anchor) a += 0.01f;
        REQUIRE(train(*fused, data, idx, cfg, anchor).is_ok());
        REQUIRE(train(*apart, data, idx, cfg, anchor).is_ok());
        CHECK(std::memcmp(fused->parameters().data(), apart->parameters().data(),
                          fused->parameters().size() * sizeof(float)) == 0);
        // The models trained: the comparison is not of two initial states.
        auto fresh = std::move(Model::create(*spec)).value();
        CHECK(std::memcmp(fused->parameters().data(), fresh->parameters().data(),
                          fused->parameters().size() * sizeof(float)) != 0);
      }
    }
  }
}

TEST_CASE("a step probe hears every section once, in the order the step runs them") {
  const Dataset data = teacher_dataset(40, 24, 4, 3);
  auto spec = parse_model_spec("24|32:relu:clos|16:tanh:dense|4:linear:dense;seed=3");
  REQUIRE(spec.is_ok());
  auto model = std::move(Model::create(*spec)).value();
  engine::ModelImpl& impl = model->impl();
  struct Heard : engine::StepProbe {
    std::vector<std::string> got;
    void done(engine::StepSection s, int layer, int sublayer) override {
      got.push_back(std::to_string(static_cast<int>(s)) + ":" + std::to_string(layer) + ":" +
                    std::to_string(sublayer));
    }
  } heard;
  const int depth = static_cast<int>(impl.layers[0].ops.size());
  REQUIRE(depth >= 2);                          // a cascade: several sublayers in layer 0
  std::vector<std::string> want = {"0:-1:-1"};  // load
  for (int l = 0; l < 3; ++l) {
    for (int i = 0; i < static_cast<int>(impl.layers[l].ops.size()); ++i) {
      want.push_back("1:" + std::to_string(l) + ":" + std::to_string(i));
    }
    want.push_back("2:" + std::to_string(l) + ":-1");
  }
  want.push_back("3:-1:-1");  // loss
  for (int l = 2; l >= 0; --l) {
    want.push_back("4:" + std::to_string(l) + ":-1");
    for (int i = static_cast<int>(impl.layers[l].ops.size()) - 1; i >= 0; --i) {
      want.push_back("5:" + std::to_string(l) + ":" + std::to_string(i));
    }
  }
  want.push_back("6:-1:-1");  // update
  for (int batch : {1, 16}) {
    CAPTURE(batch);
    TrainConfig cfg;
    cfg.batch_size = batch;
    cfg.epochs = 1;
    std::vector<int64_t> idx(static_cast<size_t>(batch));
    for (int i = 0; i < batch; ++i) idx[static_cast<size_t>(i)] = i;
    heard.got.clear();
    impl.probe = &heard;
    REQUIRE(train(*model, data, idx, cfg).is_ok());  // one step
    impl.probe = nullptr;
    CHECK(heard.got == want);
  }
}

TEST_CASE("train rejects bad input with a clear message") {
  const Dataset data = teacher_dataset(10, 5, 3, 1);
  auto model = std::move(Model::create(*parse_model_spec("6|3:linear:dense"))).value();
  std::vector<int64_t> idx = {0, 1};
  TrainConfig cfg;
  CHECK(train(*model, data, idx, cfg).status().message().find("5 features") != std::string::npos);
  auto fits = std::move(Model::create(*parse_model_spec("5|3:linear:dense"))).value();
  std::vector<int64_t> out_of_range = {0, 10};
  CHECK(train(*fits, data, out_of_range, cfg).status().message().find("index 10") !=
        std::string::npos);
  cfg.batch_size = 0;
  CHECK(train(*fits, data, idx, cfg).status().message().find("batch size 0") != std::string::npos);
  cfg.batch_size = 2;
  std::vector<float> anchor(3);
  CHECK(train(*fits, data, idx, cfg, anchor).status().message().find("anchor") !=
        std::string::npos);
}

std::string temp_path(const char* name) {
  return std::string(NF_BINARY_DIR) + "/engine_test_" + std::to_string(::getpid()) + "_" + name;
}

TEST_CASE("model file: round trip and corrupt files") {
  auto spec = parse_model_spec("30|20:relu:butterfly:radix=4|10:linear:dense;init=dense;seed=8");
  REQUIRE(spec.is_ok());
  auto model = std::move(Model::create(*spec)).value();
  model->parameters()[3] = 1.25f;
  const std::string path = temp_path("model.nfm");
  REQUIRE(save_model(path, *model).is_ok());
  auto loaded = load_model(path);
  REQUIRE_MESSAGE(loaded.is_ok(), loaded.status().to_string());
  CHECK(format_model_spec(loaded->spec) == format_model_spec(*spec));
  CHECK(loaded->values ==
        std::vector<float>(model->parameters().begin(), model->parameters().end()));
  auto instance = load_model_instance(path);
  REQUIRE(instance.is_ok());
  CHECK((*instance)->identity() == model->identity());
  CHECK((*instance)->parameters()[3] == 1.25f);

  auto bytes = std::move(read_file(path)).value();
  auto write = [&](std::vector<uint8_t> b) {
    REQUIRE(write_file_atomic(path, std::span<const uint8_t>(b)).is_ok());
    return load_model(path).status();
  };
  std::vector<uint8_t> flipped = bytes;
  flipped[40] ^= 1;
  Status s = write(flipped);
  CHECK(s.code() == StatusCode::kCorrupt);
  CHECK(s.message().find("checksum") != std::string::npos);
  s = write(std::vector<uint8_t>(bytes.begin(), bytes.begin() + 60));
  CHECK(s.code() == StatusCode::kCorrupt);
  std::vector<uint8_t> magic = bytes;
  magic[0] = 'X';
  CHECK(write(magic).message().find("magic") != std::string::npos);
  CHECK(write({1, 2, 3}).message().find("too short") != std::string::npos);
  ::unlink(path.c_str());
  CHECK(load_model(path).status().code() == StatusCode::kNotFound);
}

}  // namespace
}  // namespace nf

namespace nf {
namespace {

TEST_CASE("dense evaluation through XNNPACK agrees with the engine's kernels") {
  auto model =
      std::move(Model::create(*parse_model_spec("24|32:relu:dense|4:linear:dense"))).value();
  const Dataset data = teacher_dataset(300, 24, 4, 5);
  std::vector<int64_t> some = {5, 1, 299, 42};
  for (bool all : {true, false}) {
    const std::span<const int64_t> idx = all ? std::span<const int64_t>() : some;
    const EvalStats engine = evaluate(*model, data, idx);
    const Result<EvalStats> through_xnnpack = evaluate_xnnpack(*model, data, idx);
    REQUIRE(through_xnnpack.is_ok());
    const EvalStats& xnn = through_xnnpack.value();
    CHECK(engine.examples == xnn.examples);
    CHECK(engine.loss == doctest::Approx(xnn.loss).epsilon(1e-5));
    CHECK(engine.accuracy == xnn.accuracy);
  }
}

}  // namespace
}  // namespace nf
