// nf-study: the topology study on Fashion-MNIST (docs/learning.md).
//
//   nf-study --out docs/results            full run (see docs/results/README.md for its size)
//   nf-study --out /tmp/quick --quick      a few minutes
//   nf-study --out docs/results --plot-only   redraw figures from study.csv
//
// Experiments: (1) accuracy against weight budget for every fabric, (2)
// sparse-aware against dense-shape initialization as cascade depth grows,
// (3) batch 1 against 32 at equal epochs, (4) Spearman correlation of the
// data-free scores with accuracy, (5) accuracy against training time per
// epoch. Results go to <out>/study.csv after every run (atomically), so an
// interrupted run resumes where it stopped; figures and tables follow.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/data/idx_reader.h"
#include "core/engine/model.h"
#include "core/util/file.h"
#include "examples/study/budget_model.h"
#include "examples/study/study_figures.h"
#include "examples/study/study_records.h"
#include "examples/study/training_run.h"

namespace {

using nf::study::RunRecord;

struct Options {
  std::string out = "docs/results";
  bool quick = false;
  bool plot_only = false;
  bool rescore = false;
  bool fresh = false;
  int epochs = 3;
  int seeds = 3;
  int64_t train_limit = 0;
  int64_t test_limit = 0;
  int64_t batch1_limit = 20000;
  std::vector<double> budgets = {0.02, 0.05, 0.1, 0.2, 0.5};
  std::vector<std::string> fabrics;
  std::vector<std::string> experiments = {"budget", "init_depth", "batch"};
  std::vector<int> depths = {1, 2, 3, 4, 6};
  double lr = 0.002;
  double lr_decay = 0.7;
  int threads = 1;
  std::string data_dir;
};

struct Job {
  RunRecord rec;  // experiment, fabric, budget, init, depth (requested), batch, seed
  nf::FabricSpec hidden;
  int64_t train_limit = 0;
};

std::string pct(double f) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%g%%", 100 * f);
  return buf;
}

// A run's data-free scores of its masks and the fitness made of them.
void set_scores(RunRecord& r, const nf::study::ModelScores& sc) {
  r.path_cv = sc.path_cv;
  r.log_min_paths = sc.log_min_paths;
  r.spectral_ratio = sc.spectral_ratio;
  r.expressivity = sc.expressivity;
  r.reachable = sc.reachable;
  r.data_free_fitness = nf::study::data_free_fitness(sc);
}

int fail(const std::string& what) {
  std::fprintf(stderr, "nf-study: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"nf-study: fabrics against accuracy, time and data-free scores on Fashion-MNIST"};
  app.add_option("--out", o.out, "output directory (CSV, SVG figures, tables)")
      ->capture_default_str();
  app.add_flag("--quick", o.quick,
               "a few minutes: 1 seed, 1 epoch on 10000 examples, 3 budgets, fewer depths");
  app.add_flag("--plot-only", o.plot_only, "only redraw figures and tables from <out>/study.csv");
  app.add_flag("--rescore", o.rescore,
               "with --plot-only: first recompute every run's data-free scores and fitness from "
               "its spec (after a change of the scores or the fitness), rewriting study.csv");
  app.add_flag("--fresh", o.fresh, "ignore an existing study.csv instead of resuming it");
  app.add_option("--epochs", o.epochs, "epochs per run")->capture_default_str();
  app.add_option("--seeds", o.seeds, "seeds per configuration (experiment 1)")
      ->capture_default_str();
  app.add_option("--train-limit", o.train_limit, "training examples per run (0: all 60000)")
      ->capture_default_str();
  app.add_option("--test-limit", o.test_limit, "test examples (0: all 10000)")
      ->capture_default_str();
  app.add_option("--batch1-limit", o.batch1_limit,
                 "training examples of experiment 3 (batch 1 is slow; both batches use them)")
      ->capture_default_str();
  app.add_option("--budgets", o.budgets, "hidden-layer weight fractions of experiment 1");
  app.add_option("--fabrics", o.fabrics, "fabrics of experiment 1 (default: all ten)");
  app.add_option("--experiments", o.experiments, "any of: budget init_depth batch");
  app.add_option("--depths", o.depths, "cascade depths of experiment 2");
  app.add_option("--lr", o.lr, "Adam learning rate of the first epoch")->capture_default_str();
  app.add_option("--lr-decay", o.lr_decay, "learning-rate factor per epoch")->capture_default_str();
  app.add_option("--threads", o.threads, "training threads (1 on a shared machine)")
      ->capture_default_str();
  app.add_option("--data", o.data_dir, "directory with the Fashion-MNIST .gz files");
  CLI11_PARSE(app, argc, argv);
  if (o.quick) {
    o.seeds = 1;
    o.epochs = 1;
    o.train_limit = 10000;
    o.batch1_limit = 3000;
    o.budgets = {0.02, 0.1, 0.5};
    o.depths = {1, 3, 6};
  }

  std::error_code ec;
  std::filesystem::create_directories(o.out, ec);
  if (ec) return fail("cannot create --out " + o.out + ": " + ec.message());
  const std::string csv_path = o.out + "/study.csv";

  std::vector<RunRecord> records;
  if (!o.fresh && std::filesystem::exists(csv_path)) {
    auto text = nf::read_text_file(csv_path);
    if (!text.is_ok()) return fail(text.status().to_string());
    auto parsed = nf::study::records_from_csv(*text);
    if (!parsed.is_ok()) return fail(csv_path + ": " + parsed.status().message());
    records = std::move(parsed).value();
  }
  if (o.rescore && !o.plot_only) return fail("--rescore goes with --plot-only");
  if (o.rescore) {
    nf::ScoreOptions so;
    so.max_jacobian_work = 5e7;  // as when the runs were scored
    std::map<std::string, nf::study::ModelScores> cache;
    for (RunRecord& r : records) {
      if (!cache.count(r.spec)) {
        auto spec = nf::parse_model_spec(r.spec);
        if (!spec.is_ok())
          return fail(csv_path + ": spec '" + r.spec + "': " + spec.status().message());
        auto sc = nf::study::model_scores(*spec, so);
        if (!sc.is_ok()) return fail("scoring " + r.spec + ": " + sc.status().to_string());
        cache[r.spec] = *sc;
      }
      set_scores(r, cache[r.spec]);
    }
    const nf::Status s = nf::write_file_atomic(csv_path, nf::study::records_to_csv(records));
    if (!s.is_ok()) return fail(s.to_string());
    std::printf("rescored %zu runs (%zu distinct models) in %s\n", records.size(), cache.size(),
                csv_path.c_str());
  }
  if (o.plot_only) {
    const nf::Status s = nf::study::write_study_outputs(records, o.out);
    if (!s.is_ok()) return fail(s.to_string());
    std::printf("redrew figures from %zu runs in %s\n", records.size(), o.out.c_str());
    return 0;
  }

  // The plan. Seeds are the outer loop of experiment 1, so a stopped run
  // still has every fabric at every budget for the first seeds.
  std::vector<Job> jobs;
  auto has = [&](const std::string& e) {
    return std::find(o.experiments.begin(), o.experiments.end(), e) != o.experiments.end();
  };
  std::vector<nf::study::StudyFabric> fabrics;
  for (const auto& f : nf::study::study_fabrics()) {
    if (o.fabrics.empty() ||
        std::find(o.fabrics.begin(), o.fabrics.end(), f.name) != o.fabrics.end()) {
      fabrics.push_back(f);
    }
  }
  auto job = [&](const std::string& experiment, const std::string& name, nf::FabricSpec hidden,
                 double budget, const std::string& init, int depth, int batch, int seed,
                 int64_t limit) {
    Job j;
    j.rec.experiment = experiment;
    j.rec.fabric = name;
    j.rec.budget = budget;
    j.rec.init = init;
    j.rec.depth = depth;
    j.rec.batch = batch;
    j.rec.seed = seed;
    j.hidden = hidden;
    j.train_limit = limit;
    jobs.push_back(j);
  };
  if (has("budget")) {
    for (int seed = 1; seed <= o.seeds; ++seed) {
      for (const auto& f : fabrics) {
        if (f.hidden.kind == nf::FabricKind::kDense) {
          job("budget", f.name, f.hidden, 1.0, "sparse", 0, 32, seed, o.train_limit);
          continue;
        }
        for (double b : o.budgets) {
          job("budget", f.name, f.hidden, b, "sparse", 0, 32, seed, o.train_limit);
        }
      }
    }
  }
  if (has("init_depth")) {
    const int seeds = std::min(o.seeds, 2);
    for (int seed = 1; seed <= seeds; ++seed) {
      for (int depth : o.depths) {
        for (const char* init : {"sparse", "dense"}) {
          nf::FabricSpec h;
          h.kind = nf::FabricKind::kRandomFanIn;
          h.params.depth = depth;
          job("init_depth", "random_fan_in", h, 0.1, init, depth, 32, seed, o.train_limit);
        }
      }
    }
  }
  if (has("batch")) {
    nf::FabricSpec dense, clos;
    clos.kind = nf::FabricKind::kClos;
    for (int batch : {1, 32}) {
      job("batch", "dense", dense, 1.0, "sparse", 0, batch, 1, o.batch1_limit);
      job("batch", "clos", clos, 0.1, "sparse", 0, batch, 1, o.batch1_limit);
    }
  }

  std::set<std::string> done;
  for (const RunRecord& r : records) done.insert(r.key());
  size_t todo = 0;
  for (const Job& j : jobs) todo += done.count(j.rec.key()) ? 0 : 1;
  std::fprintf(stderr, "nf-study: %zu runs planned, %zu already in %s, %zu to train\n", jobs.size(),
               jobs.size() - todo, csv_path.c_str(), todo);
  if (todo == 0) {
    const nf::Status s = nf::study::write_study_outputs(records, o.out);
    return s.is_ok() ? 0 : fail(s.to_string());
  }

  auto train = nf::load_fashion_mnist(nf::FashionMnistSplit::kTrain, o.data_dir);
  if (!train.is_ok()) return fail(train.status().to_string());
  auto test = nf::load_fashion_mnist(nf::FashionMnistSplit::kTest, o.data_dir);
  if (!test.is_ok()) return fail(test.status().to_string());
  const auto test_idx = nf::study::subset_indices(test->size, o.test_limit, 7);

  nf::ScoreOptions so;
  so.max_jacobian_work = 5e7;  // reduced instances keep each expressivity score well under a second
  std::map<std::string, nf::study::ModelScores> score_cache;

  const auto start = std::chrono::steady_clock::now();
  size_t trained = 0;
  for (const Job& j : jobs) {
    if (done.count(j.rec.key())) continue;
    RunRecord r = j.rec;
    const nf::InitRule init =
        r.init == "dense" ? nf::InitRule::kDenseShape : nf::InitRule::kSparseAware;
    auto bm = nf::study::budget_mlp(j.hidden, r.budget, init, static_cast<uint64_t>(r.seed));
    if (!bm.is_ok()) {
      std::fprintf(stderr, "nf-study: skipping %s at %s: %s\n", r.fabric.c_str(),
                   pct(r.budget).c_str(), bm.status().to_string().c_str());
      continue;
    }
    const std::string arch = nf::format_architecture(bm->spec);
    if (!score_cache.count(arch)) {
      auto sc = nf::study::model_scores(bm->spec, so);
      if (!sc.is_ok()) return fail("scoring " + arch + ": " + sc.status().to_string());
      score_cache[arch] = *sc;
    }
    const nf::study::ModelScores& sc = score_cache[arch];
    auto model = nf::Model::create(bm->spec);
    if (!model.is_ok()) return fail("building " + arch + ": " + model.status().to_string());

    nf::study::RunOptions ro;
    ro.config.optimizer = nf::OptimizerKind::kAdam;
    ro.config.learning_rate = static_cast<float>(o.lr);
    ro.config.batch_size = r.batch;
    ro.config.epochs = o.epochs;
    ro.config.threads = o.threads;
    ro.config.seed = static_cast<uint64_t>(r.seed);
    ro.lr_decay = o.lr_decay;
    // Batch 1 takes a smaller learning rate: one example's gradient is noisier.
    if (r.batch == 1) ro.config.learning_rate = static_cast<float>(o.lr / 4);
    const auto train_idx =
        nf::study::subset_indices(train->size, j.train_limit, static_cast<uint64_t>(r.seed));
    auto run = nf::study::run_training(**model, *train, train_idx, *test, test_idx, ro);
    if (!run.is_ok()) return fail("training " + arch + ": " + run.status().to_string());

    r.weight_fraction = bm->weight_fraction;
    r.weights = bm->weights;
    r.within_tolerance = bm->within_tolerance;
    r.depth = sc.max_depth;
    r.epochs = o.epochs;
    r.train_examples = static_cast<long long>(train_idx.size());
    r.test_accuracy = run->final_accuracy;
    r.test_loss = run->epochs.back().test_loss;
    r.seconds_per_epoch = run->seconds_per_epoch;
    for (const auto& e : run->epochs) r.epoch_accuracies.push_back(e.test_accuracy);
    set_scores(r, sc);
    r.spec = nf::format_model_spec(bm->spec);
    if (j.rec.experiment == "init_depth") r.depth = j.rec.depth;  // keep the requested depth as key
    records.push_back(r);
    done.insert(r.key());
    ++trained;

    const nf::Status s = nf::write_file_atomic(csv_path, nf::study::records_to_csv(records));
    if (!s.is_ok()) return fail(s.to_string());
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr,
                 "[%zu/%zu] %-10s %-18s %5s %-6s depth %d batch %2d seed %d: %6.2f%% "
                 "(%.2f%% weights, %.1f s/epoch)  eta %.0f s\n",
                 trained, todo, r.experiment.c_str(), r.fabric.c_str(), pct(r.budget).c_str(),
                 r.init.c_str(), r.depth, r.batch, r.seed, 100 * r.test_accuracy,
                 100 * r.weight_fraction, r.seconds_per_epoch,
                 elapsed / static_cast<double>(trained) * static_cast<double>(todo - trained));
    // Redraw as results arrive, so an interrupted study still has figures.
    if (trained % 10 == 0 || trained == todo) {
      const nf::Status fs = nf::study::write_study_outputs(records, o.out);
      if (!fs.is_ok()) return fail(fs.to_string());
    }
  }
  std::printf("%zu runs in %s (figures and study_tables.md beside it)\n", records.size(),
              csv_path.c_str());
  return 0;
}
