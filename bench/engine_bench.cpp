// engine_bench: training-step speed of sparse cascades against the engine's
// own dense model and against XNNPACK's dense forward pass, measured in the
// same run. Prints figures and ratios; asserts nothing about time.
//
// Models: 784-300-100-10, dense and with Clos / butterfly hidden layers at
// about 20%, 10% and 5% of the dense weights. Every ratio comes from the two
// things it compares timed in alternating repetitions. FLOPs: 6 per weight per sample
// for a training step (forward, input gradient, weight gradient), 2 per weight
// per sample for XNNPACK's forward pass. Every figure is the median of
// --reps repetitions of at least --min-time seconds each, timed in CPU time
// of the measuring thread (the machine is shared: wall time mostly measures
// the other tenants); "vs dense" is the median of per-repetition ratios with
// dense and the model timed in alternation, so that both see the same load.
// Thread scaling is timed in wall time and in the CPU time of the process.
// Data: Fashion-MNIST's training set, bytes in a shuffled order with the
// next batch prefetched, as train() reads it (random bytes of its shape
// when the data set is not installed).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "core/data/idx_reader.h"
#include "core/engine/kernels.h"
#include "core/engine/model.h"
#include "core/engine/model_impl.h"
#include "core/engine/trainer.h"
#include "core/engine/xnn_dense.h"
#include "core/util/rng.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  int reps = 5;
  double min_time = 0.1;
  std::vector<int> batches = {1, 16, 64};
  bool json = false;
  bool skip_threads = false;
  bool skip_scalar = false;
  std::string only;  // run this model (and dense, the baseline) only
  bool breakdown = false;
};

// What a figure is timed in: the measuring thread's CPU time (single-thread
// figures), wall time, or the CPU time of every thread of the process (what
// a multi-threaded step costs in total, whatever else runs on the machine).
enum class Timer { kThreadCpu, kWall, kProcessCpu };

double now_seconds(Timer timer) {
  if (timer == Timer::kWall) {
    return std::chrono::duration<double>(Clock::now().time_since_epoch()).count();
  }
  timespec ts{};
  clock_gettime(timer == Timer::kThreadCpu ? CLOCK_THREAD_CPUTIME_ID : CLOCK_PROCESS_CPUTIME_ID,
                &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// One repetition: seconds per call over at least --min-time. The clock is
// read between growing runs of calls, not after each: reading a thread's
// CPU time is a system call (about 1.7 us on this VM), which would add 7%
// to a 25 us batch-1 step and much less to the dense one.
template <typename F>
double seconds_per_call(const Options& opt, F&& fn, Timer timer) {
  int64_t calls = 0;
  int64_t run = 1;
  const double start = now_seconds(timer);
  double elapsed = 0.0;
  do {
    for (int64_t c = 0; c < run; ++c) fn();
    calls += run;
    elapsed = now_seconds(timer) - start;
    if (elapsed < opt.min_time / 20) run *= 2;
  } while (elapsed < opt.min_time);
  return elapsed / static_cast<double>(calls);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <typename F>
double median_seconds_per_call(const Options& opt, F&& fn, Timer timer = Timer::kThreadCpu,
                               int reps = 0) {
  fn();  // warm-up: workspace, caches
  std::vector<double> per_call;
  for (int r = 0; r < (reps > 0 ? reps : opt.reps); ++r) {
    per_call.push_back(seconds_per_call(opt, fn, timer));
  }
  std::sort(per_call.begin(), per_call.end());
  return per_call[per_call.size() / 2];
}

// `a` and `b` timed in alternating repetitions, so that both see the same
// load on a shared machine: their median seconds per call, and the median
// of the per-repetition ratios t_a / t_b.
struct Paired {
  double a_s = 0.0, b_s = 0.0, ratio = 0.0;
};
template <typename A, typename B>
Paired paired_medians(const Options& opt, A&& a, B&& b) {
  a();
  b();
  std::vector<double> ta, tb, ratio;
  for (int r = 0; r < opt.reps; ++r) {
    ta.push_back(seconds_per_call(opt, a, Timer::kThreadCpu));
    tb.push_back(seconds_per_call(opt, b, Timer::kThreadCpu));
    ratio.push_back(ta.back() / tb.back());
  }
  return {median(ta), median(tb), median(ratio)};
}

// Fashion-MNIST's training set as train() holds it (bytes), or, where the
// data set is not installed, as many random bytes in its shape ("synthetic",
// and a note on stderr): the step's arithmetic does not depend on the
// values, its load does on where the rows are.
nf::Dataset bench_data() {
  auto fashion = nf::load_fashion_mnist(nf::FashionMnistSplit::kTrain);
  if (fashion.is_ok()) return std::move(*fashion);
  std::fprintf(stderr, "engine_bench: %s; timing random bytes of the same shape instead\n",
               fashion.status().to_string().c_str());
  nf::Dataset d;
  d.size = 60000;
  d.dim = 784;
  d.num_classes = 10;
  d.name = "synthetic";
  nf::Rng rng(1);
  d.pixels.resize(static_cast<size_t>(d.size) * 784);
  for (uint8_t& p : d.pixels) p = static_cast<uint8_t>(rng.uniform(256));
  for (int64_t i = 0; i < d.size; ++i) d.labels.push_back(static_cast<int32_t>(rng.uniform(10)));
  return d;
}

int64_t weight_count(const nf::Model& m) {
  int64_t w = 0;
  for (int l = 0; l < m.num_layers(); ++l) w += m.cascade(l).nnz();
  return w;
}

// One full training step as train() runs it: load the batch (the data set
// in a shuffled order, the next batch's rows prefetched), forward, backward,
// SGD-momentum update of the flat vector.
struct Stepper {
  nf::Model& model;
  const nf::Dataset& data;
  std::vector<int64_t> order;
  nf::engine::FloatBuffer grad;  // 64-byte aligned, as train()'s
  nf::Optimizer opt;
  int batch;
  int64_t next = 0;
  nf::Rng rng{5};

  Stepper(nf::Model& m, const nf::Dataset& d, int b, int threads) : model(m), data(d), batch(b) {
    order.resize(static_cast<size_t>(d.size));
    for (int64_t i = 0; i < d.size; ++i) order[i] = i;
    rng.shuffle(std::span<int64_t>(order));
    grad.resize(static_cast<size_t>(m.parameter_count()));
    nf::OptimizerConfig oc;
    oc.learning_rate = 1e-3f;
    oc.momentum = 0.9f;
    opt.reset(oc, m.parameter_count());
    m.impl().prepare(b, threads);
    m.impl().hold_workers(true);  // as train() does
  }
  ~Stepper() { model.impl().hold_workers(false); }
  Stepper(const Stepper&) = delete;
  Stepper& operator=(const Stepper&) = delete;
  void operator()() {
    if (next + batch > data.size) {  // a new epoch
      rng.shuffle(std::span<int64_t>(order));
      next = 0;
    }
    nf::engine::ModelImpl& impl = model.impl();
    impl.load_batch(data, std::span<const int64_t>(order.data() + next, batch));
    next += batch;
    if (next + batch <= data.size) {
      impl.prefetch_batch(data, std::span<const int64_t>(order.data() + next, batch));
    }
    impl.forward(model.parameters().data(), true, nullptr);
    impl.backward_update(opt, model.parameters(), grad, {});
  }
};

struct Row {
  std::string model;
  double fraction = 0.0;
  int batch = 0;
  double step_s = 0.0;
  double samples_per_s = 0.0;
  double gflops = 0.0;
  double vs_dense = 0.0;
  double vs_xnnpack = 0.0;
  double layer1_gflops = 0.0;  // first layer's kernels only (forward + both gradients)
  double layer1_vs_xnnpack = 0.0;
};

// XNNPACK's dense forward of 784-300-100-10: the three layers, or the
// first (784 -> 300) alone. `ok` is false when XNNPACK is unavailable.
struct XnnChain {
  std::vector<std::unique_ptr<nf::XnnDense>> ops;
  std::vector<std::vector<float>> acts;
  int batch = 0;
  int64_t weights = 0;
  bool ok = false;

  explicit XnnChain(int b) : acts(4), batch(b) {
    const int32_t widths[4] = {784, 300, 100, 10};
    nf::Rng rng(2);
    for (int l = 0; l < 3; ++l) {
      std::vector<float> w(static_cast<size_t>(widths[l]) * widths[l + 1]);
      std::vector<float> bias(widths[l + 1], 0.0f);
      for (float& v : w) v = rng.uniform01() - 0.5f;
      auto op = nf::XnnDense::create(widths[l], widths[l + 1], w.data(), bias.data(), l < 2);
      if (!op.is_ok()) {
        std::fprintf(stderr, "engine_bench: %s\n", op.status().to_string().c_str());
        return;
      }
      ops.push_back(std::move(op).value());
      weights += static_cast<int64_t>(w.size());
    }
    for (int l = 0; l < 4; ++l) acts[l].assign(static_cast<size_t>(batch) * widths[l], 0.5f);
    ok = true;
  }
  void all() {
    for (int l = 0; l < 3; ++l) (void)ops[l]->run(batch, acts[l].data(), acts[l + 1].data());
  }
  void first() { (void)ops[0]->run(batch, acts[0].data(), acts[1].data()); }
};

// The first layer's kernels alone: forward, input gradient and weight
// gradient of every sublayer (as the operators run them in a step).
struct Layer1Pass {
  using FloatBuffer = nf::engine::FloatBuffer;  // cache-line aligned, as the model's workspace
  const nf::engine::LayerPlan& layer;
  const nf::engine::KernelTable& kt = nf::engine::active_kernels();
  const float* w;
  int batch;
  size_t s;
  std::vector<FloatBuffer> xs;
  FloatBuffer g, dx, dw, scratch;

  Layer1Pass(nf::Model& model, int b)
      : layer(model.impl().layers[0]),
        w(model.parameters().data()),
        batch(b),
        s(nf::engine::batch_stride(b)) {
    int32_t width = 784;
    for (const auto& op : layer.ops) width = std::max({width, op.rows(), op.cols()});
    xs.emplace_back(784 * s, 0.5f);
    for (const auto& op : layer.ops) xs.emplace_back(static_cast<size_t>(op.rows()) * s, 0.5f);
    g.assign(width * s, 0.01f);
    dx.assign(width * s, 0.0f);
    dw.assign(static_cast<size_t>(model.parameter_count()), 0.0f);
    scratch.assign(static_cast<size_t>(784) * std::max<size_t>(s, 2), 0.0f);
  }
  void operator()() {
    for (size_t i = 0; i < layer.ops.size(); ++i) {
      const float* wi = w + layer.weight_offsets[i];
      if (s == 1) {
        layer.ops[i].forward_b1(kt, wi, xs[i].data(), xs[i + 1].data(), scratch.data());
      } else {
        layer.ops[i].forward(kt, wi, xs[i].data(), xs[i + 1].data(), batch, s, 0, 1);
      }
    }
    for (size_t i = layer.ops.size(); i-- > 0;) {
      const float* wi = w + layer.weight_offsets[i];
      float* dwi = dw.data() + layer.weight_offsets[i];
      if (s == 1) {
        layer.ops[i].backward_b1(kt, wi, xs[i].data(), g.data(), dwi, dx.data(), scratch.data());
      } else {
        layer.ops[i].backward(kt, wi, g.data(), xs[i].data(), dwi, dx.data(), batch, batch, s,
                              scratch.data(), 0, 1);
      }
    }
  }
};

// Wall time of each section of a step (ModelImpl's StepProbe), step after
// step: a step runs the same sections in the same order every time.
class SectionTimes : public nf::engine::StepProbe {
 public:
  explicit SectionTimes(const nf::engine::ModelImpl& impl) : impl_(impl) {}
  void start() {
    next_ = 0;
    last_ = Clock::now();
  }
  void done(nf::engine::StepSection section, int layer, int sublayer) override {
    const Clock::time_point now = Clock::now();
    if (next_ == names_.size()) {
      names_.push_back(label(section, layer, sublayer));
      seconds_.emplace_back();
    }
    seconds_[next_++].push_back(std::chrono::duration<double>(now - last_).count());
    last_ = now;
  }
  const std::vector<std::string>& names() const { return names_; }
  const std::vector<std::vector<double>>& seconds() const { return seconds_; }

 private:
  std::string label(nf::engine::StepSection section, int layer, int sublayer) const {
    using nf::engine::StepSection;
    const std::string l = " L" + std::to_string(layer + 1);
    auto op = [&] {
      const nf::engine::SublayerOp& o = impl_.layers[layer].ops[sublayer];
      return l + "." + std::to_string(sublayer + 1) + " " + std::to_string(o.rows()) + "x" +
             std::to_string(o.cols());
    };
    switch (section) {
      case StepSection::kLoad:
        return "load batch";
      case StepSection::kForward:
        return "forward" + op();
      case StepSection::kBiasActivation:
        return "bias+activation" + l;
      case StepSection::kLoss:
        return "softmax loss";
      case StepSection::kActivationBackward:
        return "activation grad" + l;
      case StepSection::kBackward:
        return "backward" + op();
      case StepSection::kUpdate:
        return "optimizer update";
    }
    return "?";
  }

  const nf::engine::ModelImpl& impl_;
  size_t next_ = 0;
  Clock::time_point last_;
  std::vector<std::string> names_;
  std::vector<std::vector<double>> seconds_;
};

// --breakdown: each model's step at each batch size, section by section
// (median wall time of each over about reps x min_time of steps), and each
// section's share of the step. A clock read per section (about 25 ns here)
// is included in the figures.
int run_breakdown(const Options& opt, const std::vector<std::string>& names,
                  const std::vector<nf::Model*>& models, const nf::Dataset& data) {
  if (opt.json) std::printf("{\n  \"breakdown\": [");
  bool first = true;
  for (int batch : opt.batches) {
    for (size_t i = 0; i < models.size(); ++i) {
      nf::engine::ModelImpl& impl = models[i]->impl();
      SectionTimes times(impl);
      Stepper step(*models[i], data, batch, 1);
      step();  // warm-up, unprobed
      impl.probe = &times;
      const Clock::time_point until =
          Clock::now() + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(opt.reps * opt.min_time));
      int steps = 0;
      do {
        times.start();
        step();
        ++steps;
      } while (steps < 100 || Clock::now() < until);
      impl.probe = nullptr;
      std::vector<double> med;
      double total = 0.0;
      for (const std::vector<double>& s : times.seconds()) {
        med.push_back(median(s));
        total += med.back();
      }
      if (!opt.json) {
        std::printf("\n%s, batch %d: %d steps, sum of the sections' medians %.1f us\n",
                    names[i].c_str(), batch, steps, total * 1e6);
      }
      for (size_t k = 0; k < med.size(); ++k) {
        if (opt.json) {
          std::printf(
              "%s\n    {\"model\": \"%s\", \"batch\": %d, \"section\": \"%s\", \"us\": %.3f, "
              "\"share\": %.4f}",
              first ? "" : ",", names[i].c_str(), batch, times.names()[k].c_str(), med[k] * 1e6,
              med[k] / total);
          first = false;
        } else {
          std::printf("  %-34s %9.2f us %6.1f%%\n", times.names()[k].c_str(), med[k] * 1e6,
                      100.0 * med[k] / total);
        }
      }
    }
  }
  if (opt.json) std::printf("\n  ]\n}\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  CLI::App app{"engine_bench: training-step speed of sparse cascades vs dense and XNNPACK"};
  app.add_option("--reps", opt.reps, "repetitions per figure (the median is reported)")
      ->check(CLI::Range(1, 1000));
  app.add_option("--min-time", opt.min_time, "seconds per repetition")
      ->check(CLI::Range(0.001, 60.0));
  app.add_option("--batches", opt.batches, "batch sizes")->delimiter(',');
  app.add_flag("--json", opt.json, "print results as JSON");
  app.add_flag("--skip-threads", opt.skip_threads, "skip the 1 -> 2 thread scaling figures");
  app.add_flag("--skip-scalar", opt.skip_scalar, "skip the scalar-reference comparison");
  app.add_option("--only", opt.only, "measure this model (e.g. clos-10) besides dense");
  app.add_flag("--breakdown", opt.breakdown,
               "time each section of the step of dense and the --only model (default clos-10), "
               "at each batch size, instead of the figures");
  CLI11_PARSE(app, argc, argv);

  const nf::Dataset data = bench_data();
  struct ModelCase {
    std::string name;
    nf::FabricKind kind;
    double fraction;
  };
  const std::vector<ModelCase> cases = {
      {"dense", nf::FabricKind::kDense, 1.0},
      {"clos-20", nf::FabricKind::kClos, 0.2},
      {"clos-10", nf::FabricKind::kClos, 0.1},
      {"clos-5", nf::FabricKind::kClos, 0.05},
      {"butterfly-20", nf::FabricKind::kButterfly, 0.2},
      {"butterfly-10", nf::FabricKind::kButterfly, 0.1},
      {"butterfly-5", nf::FabricKind::kButterfly, 0.05},
  };
  std::vector<std::unique_ptr<nf::Model>> models;
  std::vector<std::string> specs;
  for (const ModelCase& c : cases) {
    auto spec = nf::standard_mlp_spec_for_fraction(c.kind, c.fraction, 1);
    if (!spec.is_ok()) {
      std::fprintf(stderr, "engine_bench: %s\n", spec.status().to_string().c_str());
      return 1;
    }
    auto model = nf::Model::create(*spec);
    if (!model.is_ok()) {
      std::fprintf(stderr, "engine_bench: %s\n", model.status().to_string().c_str());
      return 1;
    }
    specs.push_back(nf::format_architecture(*spec));
    models.push_back(std::move(model).value());
  }
  if (opt.breakdown) {
    const std::string other = opt.only.empty() ? "clos-10" : opt.only;
    std::vector<std::string> names = {"dense"};
    std::vector<nf::Model*> chosen = {models[0].get()};
    for (size_t i = 1; i < cases.size(); ++i) {
      if (cases[i].name == other) {
        names.push_back(other);
        chosen.push_back(models[i].get());
      }
    }
    if (chosen.size() < 2) {
      std::fprintf(stderr, "engine_bench: --only: no model named '%s'\n", other.c_str());
      return 1;
    }
    return run_breakdown(opt, names, chosen, data);
  }
  const int64_t dense_weights = weight_count(*models[0]);
  const char* isa = nf::engine::active_kernels().name;
  if (!opt.json) {
    std::printf(
        "engine_bench: kernels %s, 1 thread, median of %d x %.2fs of thread CPU time, data %s\n",
        isa, opt.reps, opt.min_time, data.name.c_str());
    for (size_t i = 0; i < cases.size(); ++i) {
      std::printf("  %-13s %.3f of dense weights  %s\n", cases[i].name.c_str(),
                  static_cast<double>(weight_count(*models[i])) / dense_weights, specs[i].c_str());
    }
  }

  std::vector<Row> rows;
  std::vector<std::pair<int, double>> xnn;
  for (int batch : opt.batches) {
    XnnChain chain(batch);
    auto xnn_all = [&] { chain.all(); };
    auto xnn_first = [&] { chain.first(); };
    const double xnn_flops = 2.0 * static_cast<double>(chain.weights) * batch;
    const double xnn_l1_flops = 2.0 * 784 * 300 * batch;
    std::vector<double> xnn_all_s, xnn_first_s;  // every paired run, for the printed figure
    Stepper dense_step(*models[0], data, batch, 1);
    if (!opt.json) {
      std::printf("\nbatch %d\n  %-13s %8s %10s %8s %9s %9s %9s %9s\n", batch, "model", "weights",
                  "samples/s", "GFLOP/s", "vs dense", "vs XNN", "L1 GF/s", "L1/XNN");
    }
    for (size_t i = 0; i < cases.size(); ++i) {
      if (i > 0 && !opt.only.empty() && cases[i].name != opt.only) continue;
      nf::Model& model = *models[i];
      Row row;
      row.model = cases[i].name;
      row.fraction = static_cast<double>(weight_count(model)) / dense_weights;
      row.batch = batch;
      const double step_flops = 6.0 * static_cast<double>(weight_count(model)) * batch;
      Stepper step(model, data, batch, 1);
      if (i == 0) {
        row.step_s = median_seconds_per_call(opt, dense_step);
        row.vs_dense = 1.0;
      } else {
        // "vs dense" from dense and this model measured in alternation.
        const Paired p = paired_medians(opt, dense_step, step);
        row.step_s = p.b_s;
        row.vs_dense = p.ratio;
      }
      row.samples_per_s = batch / row.step_s;
      row.gflops = step_flops / row.step_s / 1e9;
      Layer1Pass layer1(model, batch);
      const double l1_flops = 6.0 * static_cast<double>(model.cascade(0).nnz()) * batch;
      if (chain.ok) {
        // Both XNNPACK ratios from alternating runs too: GFLOP/s ratio =
        // (flops / t) / (xnn_flops / t_xnn).
        const Paired px = paired_medians(opt, xnn_all, step);
        row.vs_xnnpack = step_flops / xnn_flops * px.ratio;
        xnn_all_s.push_back(px.a_s);
        const Paired pl = paired_medians(opt, xnn_first, layer1);
        row.layer1_gflops = l1_flops / pl.b_s / 1e9;
        row.layer1_vs_xnnpack = l1_flops / xnn_l1_flops * pl.ratio;
        xnn_first_s.push_back(pl.a_s);
      } else {
        row.layer1_gflops = l1_flops / median_seconds_per_call(opt, layer1) / 1e9;
      }
      rows.push_back(row);
      if (!opt.json) {
        std::printf("  %-13s %8.3f %10.0f %8.1f %8.2fx %9.2f %9.1f %9.2f\n", row.model.c_str(),
                    row.fraction, row.samples_per_s, row.gflops, row.vs_dense, row.vs_xnnpack,
                    row.layer1_gflops, row.layer1_vs_xnnpack);
        std::fflush(stdout);
      }
    }
    const double xnn_gf = xnn_all_s.empty() ? 0.0 : xnn_flops / median(xnn_all_s) / 1e9;
    xnn.push_back({batch, xnn_gf});
    if (!opt.json && !xnn_all_s.empty()) {
      std::printf(
          "  XNNPACK dense forward %.1f GFLOP/s (layer 1 alone %.1f), medians of the runs "
          "alternated with the models\n",
          xnn_gf, xnn_l1_flops / median(xnn_first_s) / 1e9);
    }
  }

  // Thread scaling and the scalar reference, at the largest batch.
  struct Extra {
    std::string what;
    std::string model;
    int batch;
    double ratio;
  };
  std::vector<Extra> extras;
  const int big = *std::max_element(opt.batches.begin(), opt.batches.end());
  for (size_t i : {size_t{0}, size_t{2}}) {
    nf::Model& model = *models[i];
    if (!opt.skip_threads && big > 1) {
      // Wall time gives the speed-up but, on a shared machine, also measures
      // the other tenants; process CPU time gives what the second thread
      // costs in total (synchronisation, imbalance that spins, cache misses),
      // so 2 x cpu(1) / cpu(2) bounds what an idle machine would show.
      // Alternating 1 and 2 threads exposes both to the same load.
      const int reps = std::max(opt.reps, 9);
      std::vector<double> wall1, wall2, cpu1, cpu2;
      for (int r = 0; r < 3; ++r) {
        Stepper one(model, data, big, 1);
        wall1.push_back(median_seconds_per_call(opt, one, Timer::kWall, reps));
        cpu1.push_back(median_seconds_per_call(opt, one, Timer::kProcessCpu, reps));
        Stepper two(model, data, big, 2);
        wall2.push_back(median_seconds_per_call(opt, two, Timer::kWall, reps));
        cpu2.push_back(median_seconds_per_call(opt, two, Timer::kProcessCpu, reps));
      }
      extras.push_back({"threads_2_vs_1_wall", cases[i].name, big, median(wall1) / median(wall2)});
      extras.push_back(
          {"threads_2_vs_1_cpu_cost", cases[i].name, big, median(cpu2) / median(cpu1)});
      model.impl().prepare(big, 1);
      // train() as a client runs it (a shard of 2048 examples, one epoch): with 2
      // threads each step runs on one thread or splits, whichever measured
      // faster (ThreadChoice), so this is what a user who sets threads = 2
      // gets. Two models, so that neither call re-creates a pool.
      auto twin = nf::Model::create(model.spec());
      if (twin.is_ok()) {
        const int64_t shard = std::min<int64_t>(2048, data.size);
        std::vector<int64_t> all(static_cast<size_t>(shard));
        for (int64_t e = 0; e < shard; ++e) all[static_cast<size_t>(e)] = e * (data.size / shard);
        nf::TrainConfig tc;
        tc.batch_size = big;
        tc.learning_rate = 1e-3f;
        tc.momentum = 0.9f;
        nf::TrainConfig tc2 = tc;
        tc2.threads = 2;
        nf::Model& other = **twin;
        int64_t split = 0, steps = 0;
        std::vector<double> t1, t2;
        for (int r = 0; r < reps; ++r) {
          t1.push_back(seconds_per_call(
              opt, [&] { (void)nf::train(model, data, all, tc); }, Timer::kWall));
          t2.push_back(seconds_per_call(
              opt,
              [&] {
                auto st = nf::train(other, data, all, tc2);
                if (st.is_ok()) {
                  split += st->split_steps;
                  steps += (shard + big - 1) / big;
                }
              },
              Timer::kWall));
        }
        extras.push_back(
            {"train_threads_2_vs_1_wall", cases[i].name, big, median(t1) / median(t2)});
        extras.push_back(
            {"train_threads_2_split_share", cases[i].name, big,
             steps > 0 ? static_cast<double>(split) / static_cast<double>(steps) : 0.0});
      }
    }
    if (!opt.skip_scalar) {
      Stepper simd(model, data, big, 1);
      const double ts = median_seconds_per_call(opt, simd);
      nf::engine::force_scalar(true);
      Stepper scalar(model, data, big, 1);
      const double tr = median_seconds_per_call(opt, scalar);
      nf::engine::force_scalar(false);
      extras.push_back({std::string(isa) + "_vs_scalar", cases[i].name, big, tr / ts});
    }
  }

  // Evaluation of the dense model: XNNPACK's operator chain against the
  // engine's own forward pass (evaluate() against evaluate_xnnpack()).
  {
    const double t_engine =
        median_seconds_per_call(opt, [&] { (void)nf::evaluate(*models[0], data); });
    const double t_xnn =
        median_seconds_per_call(opt, [&] { (void)nf::evaluate_xnnpack(*models[0], data); });
    extras.push_back({"eval_xnnpack_vs_engine", "dense", nf::kEvalBatch, t_engine / t_xnn});
    if (!opt.json) {
      std::printf(
          "\nevaluation of dense (%lld examples, batch %d): engine %.0f samples/s, "
          "XNNPACK %.0f samples/s\n",
          static_cast<long long>(data.size), nf::kEvalBatch,
          static_cast<double>(data.size) / t_engine, static_cast<double>(data.size) / t_xnn);
    }
  }

  if (opt.json) {
    std::printf(
        "{\n  \"kernels\": \"%s\",\n  \"data\": \"%s\",\n  \"reps\": %d,\n  \"min_time\": "
        "%.3f,\n",
        isa, data.name.c_str(), opt.reps, opt.min_time);
    std::printf("  \"models\": [");
    for (size_t i = 0; i < cases.size(); ++i) {
      std::printf("%s\n    {\"name\": \"%s\", \"spec\": \"%s\", \"weight_fraction\": %.4f}",
                  i ? "," : "", cases[i].name.c_str(), specs[i].c_str(),
                  static_cast<double>(weight_count(*models[i])) / dense_weights);
    }
    std::printf("\n  ],\n  \"xnnpack_dense_forward_gflops\": {");
    for (size_t i = 0; i < xnn.size(); ++i) {
      std::printf("%s\"%d\": %.2f", i ? ", " : "", xnn[i].first, xnn[i].second);
    }
    std::printf("},\n  \"steps\": [");
    for (size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      std::printf(
          "%s\n    {\"model\": \"%s\", \"batch\": %d, \"weight_fraction\": %.4f, "
          "\"samples_per_s\": %.1f, \"gflops\": %.2f, \"vs_dense\": %.3f, \"vs_xnnpack\": %.3f, "
          "\"layer1_gflops\": %.2f, \"layer1_vs_xnnpack\": %.3f}",
          i ? "," : "", r.model.c_str(), r.batch, r.fraction, r.samples_per_s, r.gflops, r.vs_dense,
          r.vs_xnnpack, r.layer1_gflops, r.layer1_vs_xnnpack);
    }
    std::printf("\n  ],\n  \"ratios\": [");
    for (size_t i = 0; i < extras.size(); ++i) {
      std::printf("%s\n    {\"what\": \"%s\", \"model\": \"%s\", \"batch\": %d, \"ratio\": %.3f}",
                  i ? "," : "", extras[i].what.c_str(), extras[i].model.c_str(), extras[i].batch,
                  extras[i].ratio);
    }
    std::printf("\n  ]\n}\n");
  } else {
    std::printf("\n");
    for (const Extra& e : extras) {
      std::printf("%s %s at batch %d: %.2fx\n", e.model.c_str(), e.what.c_str(), e.batch, e.ratio);
    }
  }
  return 0;
}
