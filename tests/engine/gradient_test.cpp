// Finite-difference gradient checks: the engine's gradient (float, every
// kernel variant, batch 1 and batched paths, 1-3 threads) against central
// differences of a double-precision reference loss.
#include <doctest/doctest.h>

#include <cstring>

#include "engine_test_util.h"

namespace nf {
namespace {

using test::make_model;

struct GradCase {
  const char* name;
  std::unique_ptr<Model> (*build)();
};

std::unique_ptr<Model> dense_tanh() {
  std::vector<Cascade> c;
  c.push_back(test::dense_cascade(12, 16));
  c.push_back(test::dense_cascade(16, 10));
  return make_model(12, {{16, Activation::kTanh}, {10, Activation::kLinear}}, std::move(c));
}

std::unique_ptr<Model> clos_relu() {
  std::vector<Cascade> c;
  c.push_back(test::clos_cascade(23, 17, 4, 3, 6));  // padded input, cropped output
  c.push_back(test::dense_cascade(17, 10));
  return make_model(23, {{17, Activation::kRelu}, {10, Activation::kLinear}}, std::move(c), 3);
}

std::unique_ptr<Model> csr_butterfly() {
  std::vector<Cascade> c;
  Cascade csr;
  csr.n_in = 20;
  csr.n_out = 16;
  csr.sublayers.push_back(test::random_sublayer(30, 20, 4, 5, {3, 17}));  // empty rows
  csr.sublayers.push_back(test::random_sublayer(16, 30, 5, 6));
  c.push_back(std::move(csr));
  c.push_back(test::butterfly_cascade(2, 4));
  c.push_back(test::dense_cascade(16, 7));
  return make_model(20,
                    {{16, Activation::kRelu}, {16, Activation::kTanh}, {7, Activation::kLinear}},
                    std::move(c), 4);
}

const GradCase kCases[] = {
    {"dense + tanh", &dense_tanh},
    {"clos + relu", &clos_relu},
    {"csr + butterfly + relu/tanh", &csr_butterfly},
};

std::vector<const engine::KernelTable*> all_variants() {
  std::vector<const engine::KernelTable*> out;
  for (engine::Isa isa :
       {engine::Isa::kScalar, engine::Isa::kAvx2, engine::Isa::kAvx512, engine::Isa::kNeon}) {
    if (const auto* t = engine::kernels_for(isa)) out.push_back(t);
  }
  return out;
}

std::vector<float> engine_gradient(Model& model, const std::vector<float>& features,
                                   const std::vector<int32_t>& labels, int threads,
                                   const engine::KernelTable* kt, double* loss) {
  engine::ModelImpl& m = model.impl();
  m.kernel_override = kt;
  m.min_parallel_work = 0;  // these models are small: split every section
  const int n = static_cast<int>(labels.size());
  m.prepare(n, threads);
  m.load_rows(features.data(), labels.data(), n);
  std::vector<float> grad(model.parameter_count(), -7.0f);
  *loss = m.forward(model.parameters().data(), true, nullptr) / n;
  m.backward(model.parameters().data(), grad.data());
  m.kernel_override = nullptr;
  m.min_parallel_work = engine::ModelImpl::kMinParallelWork;
  return grad;
}

TEST_CASE("every layer's gradient matches finite differences of a double reference") {
  for (const GradCase& gc : kCases) {
    CAPTURE(gc.name);
    std::unique_ptr<Model> model = gc.build();
    // Small biases so that ReLU units are not all on or off together.
    Rng rng(9);
    for (int l = 0; l < model->num_layers(); ++l) {
      for (int32_t r = 0; r < model->cascade(l).n_out; ++r) {
        model->parameters()[model->bias_offset(l) + r] = 0.2f * (rng.uniform01() - 0.5f);
      }
    }
    const std::vector<float> wf(model->parameters().begin(), model->parameters().end());
    for (int n : {1, 5, 37}) {
      CAPTURE(n);
      std::vector<float> features;
      std::vector<int32_t> labels;
      test::random_batch(n, model->input_dim(), model->output_dim(), 100 + n, &features, &labels);

      // Central differences in double, every parameter.
      std::vector<double> w(wf.begin(), wf.end());
      std::vector<double> fd(w.size());
      const double eps = 1e-6;
      for (size_t p = 0; p < w.size(); ++p) {
        const double keep = w[p];
        w[p] = keep + eps;
        const double up = test::reference_loss(*model, w, features, labels);
        w[p] = keep - eps;
        const double down = test::reference_loss(*model, w, features, labels);
        w[p] = keep;
        fd[p] = (up - down) / (2 * eps);
      }
      const double ref_loss = test::reference_loss(*model, w, features, labels);

      for (const engine::KernelTable* kt : all_variants()) {
        CAPTURE(kt->name);
        double loss = 0.0;
        const std::vector<float> g = engine_gradient(*model, features, labels, 1, kt, &loss);
        CHECK(loss == doctest::Approx(ref_loss).epsilon(1e-5));
        int bad = 0;
        for (size_t p = 0; p < g.size(); ++p) {
          if (std::fabs(g[p] - fd[p]) > 2e-5 + 1e-3 * std::fabs(fd[p])) {
            if (++bad <= 5) {
              MESSAGE("parameter " << p << ": engine " << g[p] << ", finite differences " << fd[p]);
            }
          }
        }
        CHECK(bad == 0);
      }
    }
  }
}

TEST_CASE("the gradient is bit-identical for 1, 2 and 3 threads") {
  for (const GradCase& gc : kCases) {
    CAPTURE(gc.name);
    std::unique_ptr<Model> model = gc.build();
    std::vector<float> features;
    std::vector<int32_t> labels;
    test::random_batch(45, model->input_dim(), model->output_dim(), 77, &features, &labels);
    double l1 = 0, l2 = 0, l3 = 0;
    const auto* kt = &engine::active_kernels();
    const auto g1 = engine_gradient(*model, features, labels, 1, kt, &l1);
    const auto g2 = engine_gradient(*model, features, labels, 2, kt, &l2);
    const auto g3 = engine_gradient(*model, features, labels, 3, kt, &l3);
    CHECK(std::memcmp(g1.data(), g2.data(), g1.size() * sizeof(float)) == 0);
    CHECK(std::memcmp(g1.data(), g3.data(), g1.size() * sizeof(float)) == 0);
    CHECK(l1 == l2);
    CHECK(l1 == l3);
  }
}

}  // namespace
}  // namespace nf
