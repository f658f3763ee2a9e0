// `nf train`: centralized training of one model on Fashion-MNIST.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "core/data/idx_reader.h"
#include "core/engine/model.h"
#include "core/engine/model_file.h"
#include "core/engine/model_spec.h"
#include "core/engine/trainer.h"
#include "core/fabric/fabric_spec.h"
#include "examples/study/budget_model.h"
#include "examples/study/json_text.h"
#include "examples/study/training_run.h"
#include "tools/nf/commands.h"

namespace nf::cli {

namespace {

struct TrainFlags {
  std::string spec;  // full model spec text; overrides the fabric flags
  std::string fabric = "dense";
  double budget = 0;  // weight fraction of the dense MLP; 0: 1 for dense, 0.1 otherwise
  int depth = 0;      // fixed depth gene for fabrics that have one
  std::string init = "sparse";
  std::string optimizer = "adam";
  int batch = 32;
  int epochs = 10;
  double lr = 0.001;
  double momentum = 0.9;
  double lr_decay = 0.8;
  std::string lr_schedule = "exp";
  int warmup = 0;
  double weight_decay = 0;
  int threads = 1;
  uint64_t seed = 1;
  int64_t train_limit = 0;
  int64_t test_limit = 0;
  std::string data_dir;
  std::string save;
  std::string load;
  bool eval_only = false;
  bool json = false;
  bool progress = false;
};

void print_error(const std::string& what) {
  std::fprintf(stderr, "nf train: %s\n", what.c_str());
}

// The model spec the flags describe, or an error naming the bad flag.
Result<ModelSpec> spec_from_flags(const TrainFlags& f) {
  NF_ASSIGN_OR_RETURN(InitRule init, parse_init_rule(f.init));
  if (!f.spec.empty()) {
    auto parsed = parse_model_spec(f.spec);
    if (!parsed.is_ok()) return parsed.status().with_context("--spec");
    // A spec without its own seed or init rule takes --seed and --init, so
    // seeds vary the initial weights (and random masks) as with --fabric.
    if (f.spec.find(";seed=") == std::string::npos) parsed->seed = f.seed;
    if (f.spec.find(";init=") == std::string::npos) parsed->init = init;
    return parsed;
  }
  // --fabric takes a kind name or a full fabric spec ("clos:n=28").
  auto fabric = parse_fabric_spec(f.fabric);
  if (!fabric.is_ok()) return fabric.status().with_context("--fabric");
  if (f.depth > 0) fabric->params.depth = f.depth;
  double fraction = f.budget;
  if (fraction == 0) fraction = fabric->kind == FabricKind::kDense ? 1.0 : 0.1;
  if (!(fraction > 0 && fraction <= 1)) {
    return invalid_argument("--budget " + std::to_string(f.budget) +
                            " must be a fraction of the dense weights in (0, 1]");
  }
  auto model = study::budget_mlp(*fabric, fraction, init, f.seed);
  if (!model.is_ok()) return model.status().with_context("--fabric " + f.fabric);
  return model->spec;
}

class ProgressBar {
 public:
  explicit ProgressBar(bool enabled) : enabled_(enabled) {}
  void show(int done, int total, double last_accuracy, double eta_seconds) {
    if (!enabled_) return;
    constexpr int kWidth = 30;
    const int filled = total > 0 ? done * kWidth / total : kWidth;
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(kWidth, '.');
    std::fprintf(stderr, "\r[%s] epoch %d/%d  test acc %5.2f%%  eta %4.0fs ", bar.c_str(), done,
                 total, 100.0 * last_accuracy, eta_seconds);
    std::fflush(stderr);
  }
  void finish() {
    if (enabled_) std::fprintf(stderr, "\n");
  }

 private:
  bool enabled_;
};

int run_train(const TrainFlags& f) {
  // The model: loaded, or built from the flags.
  std::unique_ptr<Model> model;
  if (!f.load.empty()) {
    auto loaded = load_model_instance(f.load);
    if (!loaded.is_ok()) {
      print_error("--load " + f.load + ": " + loaded.status().to_string());
      return 1;
    }
    model = std::move(loaded).value();
  } else {
    if (f.eval_only) {
      print_error("--eval needs a trained model: give it with --load FILE");
      return 2;
    }
    auto spec = spec_from_flags(f);
    if (!spec.is_ok()) {
      print_error(spec.status().to_string());
      return 2;
    }
    auto created = Model::create(*spec);
    if (!created.is_ok()) {
      print_error("building the model: " + created.status().to_string());
      return 1;
    }
    model = std::move(created).value();
  }

  TrainConfig cfg;
  cfg.epochs = f.epochs;
  cfg.batch_size = f.batch;
  cfg.learning_rate = static_cast<float>(f.lr);
  cfg.momentum = static_cast<float>(f.momentum);
  cfg.weight_decay = static_cast<float>(f.weight_decay);
  cfg.threads = f.threads;
  cfg.seed = f.seed;
  auto opt = parse_optimizer(f.optimizer);
  if (!opt.is_ok()) {
    print_error("--optimizer: " + opt.status().to_string());
    return 2;
  }
  cfg.optimizer = *opt;
  auto parsed_schedule = study::parse_lr_schedule(f.lr_schedule);
  if (!parsed_schedule.is_ok()) {
    print_error("--lr-schedule: " + parsed_schedule.status().to_string());
    return 2;
  }
  const study::LrSchedule schedule = *parsed_schedule;
  if (f.warmup < 0 || (!f.eval_only && f.warmup >= f.epochs)) {
    print_error("--warmup " + std::to_string(f.warmup) +
                ": must be at least 0 and fewer than --epochs " + std::to_string(f.epochs));
    return 2;
  }
  if (cfg.optimizer == OptimizerKind::kAdam || cfg.optimizer == OptimizerKind::kAdamW) {
    cfg.momentum = 0;
  }

  // Data: the test set always, the training set unless evaluating only.
  auto test = load_fashion_mnist(FashionMnistSplit::kTest, f.data_dir);
  if (!test.is_ok()) {
    print_error(test.status().to_string());
    return 1;
  }
  if (test->dim != model->input_dim()) {
    print_error("the model expects " + std::to_string(model->input_dim()) +
                " inputs, Fashion-MNIST has " + std::to_string(test->dim));
    return 1;
  }
  const std::vector<int64_t> test_idx = study::subset_indices(test->size, f.test_limit, f.seed + 1);

  const std::string spec_text = format_model_spec(model->spec());
  const double fraction = static_cast<double>(model->parameter_count()) /
                          static_cast<double>(model->dense_equivalent_count());
  // Stored weights of every layer (biases excluded) against the same layers
  // dense: how the study counts a model's size.
  int64_t weights = 0, dense_weights = 0;
  for (int l = 0; l < model->num_layers(); ++l) {
    const Cascade& c = model->cascade(l);
    weights += c.nnz();
    dense_weights += int64_t{c.n_in} * c.n_out;
  }
  const double weight_fraction = static_cast<double>(weights) / static_cast<double>(dense_weights);
  study::RunResult result;
  if (f.eval_only) {
    const EvalStats ev = evaluate(*model, *test, test_idx);
    study::EpochReport r;
    r.test_accuracy = ev.accuracy;
    r.test_loss = ev.loss;
    result.final_accuracy = result.best_accuracy = ev.accuracy;
    result.epochs.push_back(r);
  } else {
    auto train_set = load_fashion_mnist(FashionMnistSplit::kTrain, f.data_dir);
    if (!train_set.is_ok()) {
      print_error(train_set.status().to_string());
      return 1;
    }
    const std::vector<int64_t> train_idx =
        study::subset_indices(train_set->size, f.train_limit, f.seed);
    if (!f.json) {
      std::printf(
          "model %s\nparameters %lld (%.1f%% of dense), weights without biases %lld (%.2f%% of "
          "dense), %zu training / %zu test examples\n",
          spec_text.c_str(), static_cast<long long>(model->parameter_count()), 100.0 * fraction,
          static_cast<long long>(weights), 100.0 * weight_fraction, train_idx.size(),
          test_idx.size());
      std::fflush(stdout);
    }
    ProgressBar bar(f.progress || isatty(STDERR_FILENO) != 0);
    const auto start = std::chrono::steady_clock::now();
    study::RunOptions ro;
    ro.config = cfg;
    ro.lr_decay = f.lr_decay;
    ro.warmup_epochs = f.warmup;
    ro.schedule = schedule;
    ro.on_epoch = [&](const study::EpochReport& r) {
      const double elapsed =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      bar.show(r.epoch, f.epochs, r.test_accuracy, elapsed / r.epoch * (f.epochs - r.epoch));
      if (!f.json) {
        bar.finish();
        std::printf(
            "epoch %3d  lr %.5f  train loss %.4f  test loss %.4f  test acc %6.2f%%  %.1fs\n",
            r.epoch, r.learning_rate, r.train_loss, r.test_loss, 100.0 * r.test_accuracy,
            r.train_seconds);
        std::fflush(stdout);
      }
    };
    bar.show(0, f.epochs, 0, 0);
    auto run = study::run_training(*model, *train_set, train_idx, *test, test_idx, ro);
    if (f.json) bar.finish();
    if (!run.is_ok()) {
      print_error(run.status().to_string());
      return 2;
    }
    result = std::move(run).value();
  }

  if (!f.save.empty()) {
    const Status s = save_model(f.save, *model);
    if (!s.is_ok()) {
      print_error("--save " + f.save + ": " + s.to_string());
      return 1;
    }
  }

  if (f.json) {
    std::string j = "{\"spec\":" + study::json_quote(spec_text) +
                    ",\"parameters\":" + std::to_string(model->parameter_count()) +
                    ",\"parameter_fraction\":" + study::json_number(fraction) +
                    ",\"weights\":" + std::to_string(weights) +
                    ",\"weight_fraction\":" + study::json_number(weight_fraction) +
                    ",\"eval_only\":" + (f.eval_only ? "true" : "false") + ",\"epochs\":[";
    for (size_t i = 0; i < result.epochs.size(); ++i) {
      const study::EpochReport& r = result.epochs[i];
      if (i) j += ",";
      j += "{\"epoch\":" + std::to_string(r.epoch) +
           ",\"learning_rate\":" + study::json_number(r.learning_rate) +
           ",\"train_loss\":" + study::json_number(r.train_loss) +
           ",\"test_loss\":" + study::json_number(r.test_loss) +
           ",\"test_accuracy\":" + study::json_number(r.test_accuracy) +
           ",\"train_seconds\":" + study::json_number(r.train_seconds) + "}";
    }
    j += "],\"final_accuracy\":" + study::json_number(result.final_accuracy) +
         ",\"seconds_per_epoch\":" + study::json_number(result.seconds_per_epoch) +
         ",\"saved\":" + study::json_quote(f.save) + "}";
    std::printf("%s\n", j.c_str());
  } else if (f.eval_only) {
    std::printf("model %s\ntest loss %.4f  test acc %.2f%% on %zu examples\n", spec_text.c_str(),
                result.epochs[0].test_loss, 100.0 * result.final_accuracy, test_idx.size());
  } else {
    std::printf("final test accuracy %.2f%%  (%.1fs per epoch)%s%s\n",
                100.0 * result.final_accuracy, result.seconds_per_epoch,
                f.save.empty() ? "" : ", saved to ", f.save.c_str());
  }
  return 0;
}

}  // namespace

void add_train_command(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<TrainFlags>();
  CLI::App* cmd = app.add_subcommand(
      "train",
      "Train a model on Fashion-MNIST (default: the dense 784-300-100-10), print per-epoch "
      "test accuracy, optionally save or load it");
  cmd->add_option("--spec", flags->spec,
                  "full model spec text, e.g. '784|300:relu:clos:n=28,m=3,r=28|100:relu:dense|"
                  "10:linear:dense' (overrides --fabric/--budget/--depth; takes --seed and --init "
                  "unless it has its own seed= and init=)");
  cmd->add_option("--fabric", flags->fabric,
                  "hidden-layer fabric: a kind (dense, low_rank, clos, butterfly, "
                  "parallel_butterfly, hypercube, torus, radix_net, random_fan_in, erdos_renyi) "
                  "or a fabric spec such as clos:n=16")
      ->capture_default_str();
  cmd->add_option("--budget", flags->budget,
                  "fraction of the dense hidden weights to keep, in (0, 1] (default 1 for dense, "
                  "0.1 otherwise)");
  cmd->add_option("--depth", flags->depth,
                  "fixed cascade depth for fabrics with a depth parameter");
  cmd->add_option("--init", flags->init, "initialization: sparse (sparse-aware) or dense")
      ->capture_default_str();
  cmd->add_option("--optimizer", flags->optimizer, "sgd, nesterov, adam or adamw")
      ->capture_default_str();
  cmd->add_option("--batch", flags->batch, "batch size (1 selects the batch-1 path)")
      ->capture_default_str();
  cmd->add_option("--epochs", flags->epochs, "epochs")->capture_default_str();
  cmd->add_option("--lr", flags->lr, "learning rate of the first epoch")->capture_default_str();
  cmd->add_option("--lr-decay", flags->lr_decay, "learning rate factor per epoch, in (0, 1]")
      ->capture_default_str();
  cmd->add_option("--lr-schedule", flags->lr_schedule,
                  "exp (lr * lr-decay^epoch) or cosine (lr down to near 0 over the epochs after "
                  "warmup; ignores --lr-decay)")
      ->capture_default_str();
  cmd->add_option("--warmup", flags->warmup,
                  "epochs of linear learning-rate warmup before the schedule, fewer than --epochs")
      ->capture_default_str();
  cmd->add_option("--momentum", flags->momentum, "momentum (sgd, nesterov)")->capture_default_str();
  cmd->add_option("--weight-decay", flags->weight_decay, "weight decay")->capture_default_str();
  cmd->add_option("--threads", flags->threads, "training threads")->capture_default_str();
  cmd->add_option("--seed", flags->seed, "seed of initialization, masks and shuffling")
      ->capture_default_str();
  cmd->add_option("--train-limit", flags->train_limit,
                  "train on a seeded random subset of this many examples (0: all 60000)");
  cmd->add_option("--test-limit", flags->test_limit,
                  "evaluate on a seeded random subset of this many examples (0: all 10000)");
  cmd->add_option("--data", flags->data_dir,
                  "directory with the Fashion-MNIST .gz files (default: $NF_FASHION_MNIST_DIR or "
                  "the Debian package's)");
  cmd->add_option("--save", flags->save, "write the trained model to FILE");
  cmd->add_option("--load", flags->load, "start from the model in FILE instead of the flags");
  cmd->add_flag("--eval", flags->eval_only, "only evaluate the --load model on the test set");
  cmd->add_flag("--json", flags->json, "print the result as one JSON document");
  cmd->add_flag("--progress", flags->progress,
                "show the progress bar on stderr even when it is not a terminal");
  cmd->callback([flags, exit_code] { *exit_code = run_train(*flags); });
}

}  // namespace nf::cli
