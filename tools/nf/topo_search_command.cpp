// `nf topo search`: evolutionary search over fabric shapes at a fixed budget.
//
// Stage 1 ranks genomes by the data-free fitness of their masks (cheap, no
// data); stage 2 trains the best few and the hand-picked fabrics at the same
// budget briefly (one pass over a subset) and ranks them by test accuracy.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/data/idx_reader.h"
#include "core/engine/model.h"
#include "core/fabric/search.h"
#include "examples/study/budget_model.h"
#include "examples/study/json_text.h"
#include "examples/study/training_run.h"
#include "tools/nf/commands.h"

namespace nf::cli {

namespace {

struct SearchFlags {
  double budget = 0.1;
  double tolerance = 0.1;
  std::vector<std::string> kinds;
  int population = 12;
  int generations = 5;
  int survivors = 4;
  int top = 4;
  int64_t train_examples = 6000;
  int64_t test_examples = 2000;
  int batch = 32;
  double lr = 0.002;
  int threads = 1;
  uint64_t seed = 1;
  bool no_train = false;
  bool json = false;
  bool progress = false;
  std::string data_dir;
};

struct Row {
  std::string origin;  // "search" or "hand-picked"
  std::string genome;  // canonical genome text
  std::string spec;    // resolved model spec
  double weight_fraction = 0;
  double fitness = 0;
  double accuracy = -1;  // short-run test accuracy; -1 when not trained
  double seconds = 0;    // short-run training seconds
};

void print_error(const std::string& what) {
  std::fprintf(stderr, "nf topo search: %s\n", what.c_str());
}

int run_search(const SearchFlags& f) {
  if (!(f.tolerance > 0 && f.tolerance < 1)) {
    print_error("--tolerance " + std::to_string(f.tolerance) + " must be in (0, 1)");
    return 2;
  }
  if (!(f.budget > 0 && f.budget <= 1)) {
    print_error("--budget " + std::to_string(f.budget) + " must be in (0, 1]");
    return 2;
  }
  SearchSpace space = default_search_space();
  if (!f.kinds.empty()) {
    space.kinds.clear();
    for (const std::string& k : f.kinds) {
      auto kind = parse_fabric_kind(k);
      if (!kind.is_ok()) {
        print_error("--kinds: " + kind.status().message());
        return 2;
      }
      space.kinds.push_back(*kind);
    }
  }
  EvolutionOptions eo;
  eo.population = f.population;
  eo.generations = f.generations;
  eo.survivors = f.survivors;
  eo.seed = f.seed;
  ScoreOptions so;
  so.expressivity = false;  // the search visits many genomes; paths and spectra are enough

  const bool show = f.progress || isatty(STDERR_FILENO) != 0;
  auto fitness = [&](const FabricSpec& genome) -> Result<double> {
    NF_ASSIGN_OR_RETURN(study::BudgetModel m,
                        study::budget_mlp(genome, f.budget, InitRule::kSparseAware, f.seed));
    if (std::fabs(m.hidden_relative_error) > f.tolerance) {
      return invalid_argument("hidden weights miss the budget by " +
                              std::to_string(100 * m.hidden_relative_error) + "%");
    }
    NF_ASSIGN_OR_RETURN(study::ModelScores s, study::model_scores(m.spec, so));
    return study::data_free_fitness(s);
  };
  auto progress = [&](int done, int budget) {
    if (show) std::fprintf(stderr, "\rdata-free stage: %d/%d genomes ", done, budget);
  };
  auto ranked = evolve_fabrics(space, eo, fitness, progress);
  if (show) std::fprintf(stderr, "\n");
  if (!ranked.is_ok()) {
    print_error(ranked.status().to_string());
    return 1;
  }

  // Candidates for stage 2: the best `top` searched genomes, then every
  // hand-picked fabric that lands within the budget tolerance.
  std::vector<Row> rows;
  auto add_row = [&](const std::string& origin, const FabricSpec& genome, double fit) {
    auto m = study::budget_mlp(genome, f.budget, InitRule::kSparseAware, f.seed);
    if (!m.is_ok() || std::fabs(m->hidden_relative_error) > f.tolerance) return;
    Row r;
    r.origin = origin;
    r.genome = format_fabric_spec(genome);
    r.spec = format_model_spec(m->spec);
    r.weight_fraction = m->weight_fraction;
    r.fitness = fit;
    for (const Row& e : rows) {
      if (e.spec == r.spec) return;  // the same model already listed
    }
    rows.push_back(r);
  };
  // At most two genomes of a kind, so that ties of the data-free fitness
  // (common among structured fabrics) do not fill the stage with one kind.
  std::map<FabricKind, int> per_kind;
  int taken = 0;
  for (size_t i = 0; i < ranked->size() && taken < f.top; ++i) {
    const FabricSpec& g = (*ranked)[i].genome;
    if (per_kind[g.kind] >= 2) continue;
    ++per_kind[g.kind];
    ++taken;
    add_row("search", g, (*ranked)[i].fitness);
  }
  for (const study::StudyFabric& h : study::study_fabrics()) {
    if (h.hidden.kind == FabricKind::kDense) continue;
    auto fit = fitness(h.hidden);
    if (fit.is_ok()) add_row("hand-picked", h.hidden, *fit);
  }

  if (!f.no_train) {
    auto train = load_fashion_mnist(FashionMnistSplit::kTrain, f.data_dir);
    auto test = train.is_ok() ? load_fashion_mnist(FashionMnistSplit::kTest, f.data_dir)
                              : Result<Dataset>(train.status());
    if (!test.is_ok()) {
      print_error(test.status().to_string() + " (use --no-train for the data-free stage only)");
      return 1;
    }
    const auto train_idx = study::subset_indices(train->size, f.train_examples, f.seed);
    const auto test_idx = study::subset_indices(test->size, f.test_examples, f.seed + 1);
    for (size_t i = 0; i < rows.size(); ++i) {
      if (show) {
        std::fprintf(stderr, "\rtraining stage: %zu/%zu candidates ", i + 1, rows.size());
        std::fflush(stderr);
      }
      auto spec = parse_model_spec(rows[i].spec);
      auto model =
          spec.is_ok() ? Model::create(*spec) : Result<std::unique_ptr<Model>>(spec.status());
      if (!model.is_ok()) {
        print_error(rows[i].spec + ": " + model.status().to_string());
        return 1;
      }
      study::RunOptions ro;
      ro.config.optimizer = OptimizerKind::kAdam;
      ro.config.learning_rate = static_cast<float>(f.lr);
      ro.config.batch_size = f.batch;
      ro.config.threads = f.threads;
      ro.config.seed = f.seed;
      auto run = study::run_training(**model, *train, train_idx, *test, test_idx, ro);
      if (!run.is_ok()) {
        print_error(run.status().to_string());
        return 2;
      }
      rows[i].accuracy = run->final_accuracy;
      rows[i].seconds = run->seconds_per_epoch;
    }
    if (show) std::fprintf(stderr, "\n");
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    if (a.accuracy != b.accuracy) return a.accuracy > b.accuracy;
    return a.fitness > b.fitness;
  });

  auto best_of = [&](const std::string& origin) -> const Row* {
    for (const Row& r : rows) {
      if (r.origin == origin) return &r;
    }
    return nullptr;
  };
  const Row* best_search = best_of("search");
  const Row* best_hand = best_of("hand-picked");

  if (f.json) {
    std::string j = "{\"budget\":" + study::json_number(f.budget) +
                    ",\"genomes_evaluated\":" + std::to_string(ranked->size()) +
                    ",\"trained\":" + (f.no_train ? "false" : "true") + ",\"candidates\":[";
    for (size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      if (i) j += ",";
      j += "{\"origin\":" + study::json_quote(r.origin) +
           ",\"genome\":" + study::json_quote(r.genome) + ",\"spec\":" + study::json_quote(r.spec) +
           ",\"weight_fraction\":" + study::json_number(r.weight_fraction) +
           ",\"data_free_fitness\":" + study::json_number(r.fitness) + ",\"accuracy\":" +
           (r.accuracy < 0 ? std::string("null") : study::json_number(r.accuracy)) +
           ",\"seconds\":" + study::json_number(r.seconds) + "}";
    }
    j += "],\"best_search\":" + (best_search ? study::json_quote(best_search->genome) : "null") +
         ",\"best_hand_picked\":" + (best_hand ? study::json_quote(best_hand->genome) : "null") +
         "}";
    std::printf("%s\n", j.c_str());
    return 0;
  }
  std::printf(
      "budget %.1f%% (+-%.0f%%) of the dense hidden weights; %zu feasible genomes scored "
      "without data\n",
      100.0 * f.budget, 100.0 * f.tolerance, ranked->size());
  std::printf("%-12s %-40s %8s %8s %9s %8s\n", "origin", "genome", "weights", "fitness", "accuracy",
              "s/pass");
  for (const Row& r : rows) {
    std::printf("%-12s %-40s %7.2f%% %8.3f %8s%% %8.2f\n", r.origin.c_str(), r.genome.c_str(),
                100.0 * r.weight_fraction, r.fitness,
                r.accuracy < 0 ? "-" : (std::to_string(100.0 * r.accuracy).substr(0, 5)).c_str(),
                r.seconds);
  }
  if (best_search && best_hand) {
    std::printf("best found: %s (%s)\nbest hand-picked: %s (%s)\n", best_search->genome.c_str(),
                best_search->spec.c_str(), best_hand->genome.c_str(), best_hand->spec.c_str());
  }
  return 0;
}

}  // namespace

void add_topo_search_command(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<SearchFlags>();
  CLI::App* cmd = topo_group(app)->add_subcommand(
      "search",
      "Evolutionary search over fabric shapes at a fixed parameter budget: data-free scores "
      "first, then short training runs, against the hand-picked fabrics");
  cmd->add_option("--budget", flags->budget, "fraction of the dense hidden weights, in (0, 1]")
      ->capture_default_str();
  cmd->add_option("--tolerance", flags->tolerance,
                  "largest relative miss of the hidden-layer weights against the budget")
      ->capture_default_str();
  cmd->add_option("--kinds", flags->kinds,
                  "fabric kinds to search (default: clos butterfly parallel_butterfly hypercube "
                  "torus radix_net random_fan_in erdos_renyi)");
  cmd->add_option("--population", flags->population, "genomes per generation")
      ->capture_default_str();
  cmd->add_option("--generations", flags->generations, "generations")->capture_default_str();
  cmd->add_option("--survivors", flags->survivors, "parents kept per generation")
      ->capture_default_str();
  cmd->add_option("--top", flags->top, "searched genomes passed to the training stage")
      ->capture_default_str();
  cmd->add_option("--train-examples", flags->train_examples,
                  "examples of the short training run (one pass)")
      ->capture_default_str();
  cmd->add_option("--test-examples", flags->test_examples, "test examples for ranking")
      ->capture_default_str();
  cmd->add_option("--batch", flags->batch, "batch size of the short runs")->capture_default_str();
  cmd->add_option("--lr", flags->lr, "Adam learning rate of the short runs")->capture_default_str();
  cmd->add_option("--threads", flags->threads, "training threads")->capture_default_str();
  cmd->add_option("--seed", flags->seed, "seed of the search, masks and training")
      ->capture_default_str();
  cmd->add_option("--data", flags->data_dir, "directory with the Fashion-MNIST .gz files");
  cmd->add_flag("--no-train", flags->no_train, "data-free stage only (no data needed)");
  cmd->add_flag("--json", flags->json, "print the result as one JSON document");
  cmd->add_flag("--progress", flags->progress, "progress on stderr even when not a terminal");
  cmd->callback([flags, exit_code] { *exit_code = run_search(*flags); });
}

}  // namespace nf::cli
