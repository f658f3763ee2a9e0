// `nf topo describe`: what a fabric spec derives for a layer (sizes, masks,
// data-free scores, mask hash), as text or JSON, and an SVG drawing of its
// connection pattern.
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "core/fabric/budget.h"
#include "core/fabric/cascade_svg.h"
#include "core/fabric/fabric_spec.h"
#include "core/fabric/scores.h"
#include "core/util/file.h"
#include "core/util/hash.h"
#include "core/util/text_escape.h"
#include "examples/study/budget_model.h"
#include "tools/nf/commands.h"

namespace nf::cli {

namespace {

struct DescribeOptions {
  std::string fabric;
  int32_t n_in = 0;
  int32_t n_out = 0;
  int64_t budget = 0;
  double density = 0;
  uint64_t seed = 0;
  std::string svg_path;
  bool json = false;
  bool no_expressivity = false;
  double max_jacobian_work = 3e8;
};

std::string num(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// "28 x (12 x 28)" style summary of a structure's block shapes.
std::string block_summary(const BlockStructure& s) {
  std::vector<std::pair<std::pair<size_t, size_t>, int>> shapes;
  for (const Block& b : s.blocks) {
    const std::pair<size_t, size_t> shape{b.rows.size(), b.cols.size()};
    bool found = false;
    for (auto& [sh, count] : shapes) {
      if (sh == shape) {
        ++count;
        found = true;
      }
    }
    if (!found) shapes.push_back({shape, 1});
  }
  std::string out;
  for (size_t i = 0; i < shapes.size() && i < 3; ++i) {
    if (!out.empty()) out += " + ";
    out += std::to_string(shapes[i].second) + " x (" + std::to_string(shapes[i].first.first) + "x" +
           std::to_string(shapes[i].first.second) + ")";
  }
  if (shapes.size() > 3) out += " + ...";
  return out;
}

struct FanIn {
  int64_t min = 0, max = 0;
};
FanIn fan_in(const Mask& m) {
  FanIn f{INT64_MAX, 0};
  for (int32_t r = 0; r < m.rows; ++r) {
    const int64_t k = m.row_ptr[static_cast<size_t>(r) + 1] - m.row_ptr[static_cast<size_t>(r)];
    f.min = std::min(f.min, k);
    f.max = std::max(f.max, k);
  }
  if (m.rows == 0) f.min = 0;
  return f;
}

int describe(const DescribeOptions& o) {
  auto fail = [](const Status& s) {
    std::fprintf(stderr, "nf topo describe: %s\n", s.message().c_str());
    return 2;
  };
  auto parsed = parse_fabric_spec(o.fabric);
  if (!parsed.is_ok()) return fail(parsed.status());
  FabricSpec spec = *parsed;
  if (o.seed != 0) {
    if (!fabric_kind_is_random(spec.kind)) {
      return fail(invalid_argument(std::string(fabric_kind_name(spec.kind)) +
                                   " is not random and takes no --seed"));
    }
    spec.seed = o.seed;
  }
  std::optional<BudgetResult> budget;
  if (o.budget != 0 || o.density != 0) {
    if (o.density < 0 || o.density > 1) {
      return fail(invalid_argument("--density " + num(o.density) + " must be in (0, 1]"));
    }
    const int64_t target =
        o.budget != 0 ? o.budget : params_for_density(o.density, o.n_in, o.n_out);
    auto solved = solve_budget(spec, o.n_in, o.n_out, target);
    if (!solved.is_ok()) return fail(solved.status());
    budget = *solved;
    spec = solved->spec;
  }
  auto resolved = resolve_fabric_spec(spec, o.n_in, o.n_out);
  if (!resolved.is_ok()) return fail(resolved.status());
  auto cascade = build_cascade(*resolved, o.n_in, o.n_out);
  if (!cascade.is_ok()) return fail(cascade.status());
  ScoreOptions score_options;
  score_options.expressivity = !o.no_expressivity;
  score_options.max_jacobian_work = o.max_jacobian_work;
  if (!o.json) std::fprintf(stderr, "scoring %s...\n", format_fabric_spec(*resolved).c_str());
  auto scores = score_fabric(*resolved, *cascade, score_options);
  if (!scores.is_ok()) return fail(scores.status());
  const Cascade& c = *cascade;
  const FabricScores& s = *scores;
  const std::string spec_text = format_fabric_spec(*resolved);
  const std::string hash = hash_hex(mask_hash(c));

  if (!o.svg_path.empty()) {
    const std::string title = spec_text + "   " + std::to_string(o.n_in) + " -> " +
                              std::to_string(o.n_out) + ", " + std::to_string(c.nnz()) +
                              " weights (" + num(100 * s.density) + "% of dense), hash " + hash;
    if (Status w = write_file_atomic(o.svg_path, cascade_svg(c, title)); !w.is_ok()) {
      return fail(w);
    }
  }

  if (o.json) {
    std::string j = "{\n";
    j += "  \"spec\": " + json_quote(spec_text) + ",\n";
    j += "  \"requested\": " + json_quote(o.fabric) + ",\n";
    j += "  \"n_in\": " + std::to_string(o.n_in) + ",\n  \"n_out\": " + std::to_string(o.n_out) +
         ",\n";
    j += "  \"mask_hash\": \"" + hash + "\",\n";
    j += "  \"depth\": " + std::to_string(s.depth) + ",\n";
    j += "  \"params\": " + std::to_string(s.params) + ",\n";
    j += "  \"dense_params\": " + std::to_string(s.dense_params) + ",\n";
    j += "  \"density\": " + num(s.density) + ",\n";
    j += "  \"widths\": [";
    const std::vector<int32_t> w = c.widths();
    for (size_t i = 0; i < w.size(); ++i) j += (i ? ", " : "") + std::to_string(w[i]);
    j += "],\n  \"sublayers\": [\n";
    for (size_t l = 0; l < c.sublayers.size(); ++l) {
      const Sublayer& sl = c.sublayers[l];
      const FanIn f = fan_in(sl.mask);
      j += "    {\"rows\": " + std::to_string(sl.mask.rows) +
           ", \"cols\": " + std::to_string(sl.mask.cols) +
           ", \"nnz\": " + std::to_string(sl.mask.nnz()) +
           ", \"fan_in_min\": " + std::to_string(f.min) +
           ", \"fan_in_max\": " + std::to_string(f.max) + ", \"blocks\": " +
           (sl.structure ? std::to_string(sl.structure->blocks.size()) : "null") + "}" +
           (l + 1 < c.sublayers.size() ? "," : "") + "\n";
    }
    j += "  ],\n";
    if (budget) {
      j += "  \"budget\": {\"target\": " + std::to_string(budget->target) +
           ", \"params\": " + std::to_string(budget->params) +
           ", \"relative_error\": " + num(budget->relative_error) +
           ", \"within_tolerance\": " + (budget->within_tolerance ? "true" : "false") +
           ", \"note\": " + json_quote(budget->note) + "},\n";
    }
    j += "  \"scores\": {\n";
    j += "    \"reachable\": " + std::string(s.paths.reachable ? "true" : "false") + ",\n";
    j += "    \"min_paths\": " + std::to_string(s.paths.min_paths) + ",\n";
    j += "    \"max_paths\": " + std::to_string(s.paths.max_paths) + ",\n";
    j += "    \"mean_paths\": " + num(s.paths.mean_paths) + ",\n";
    j += "    \"path_cv\": " + num(s.paths.cv) + ",\n";
    j += "    \"paths_saturated\": " + std::string(s.paths.saturated ? "true" : "false") + ",\n";
    j += "    \"spectral_sigma1\": " + num(s.spectral.sigma1) + ",\n";
    j += "    \"spectral_sigma2\": " + num(s.spectral.sigma2) + ",\n";
    j += "    \"spectral_ratio\": " + num(s.spectral.ratio) + ",\n";
    j += "    \"bottleneck\": " + num(study::bottleneck_fraction(c));
    if (s.expressivity) {
      const ExpressivityScore& e = *s.expressivity;
      j += ",\n    \"expressivity\": {\"rank\": " + std::to_string(e.rank) +
           ", \"upper_bound\": " + std::to_string(e.upper_bound) +
           ", \"fraction\": " + num(e.fraction) +
           ", \"reduced\": " + (e.reduced ? "true" : "false") +
           ", \"instance\": " + json_quote(e.spec) +
           ", \"instance_n_in\": " + std::to_string(e.n_in) +
           ", \"instance_n_out\": " + std::to_string(e.n_out) + "}";
    }
    j += "\n  }";
    if (!o.svg_path.empty()) j += ",\n  \"svg\": " + json_quote(o.svg_path);
    j += "\n}\n";
    std::fputs(j.c_str(), stdout);
    return 0;
  }

  std::printf("fabric       %s\n", spec_text.c_str());
  if (spec_text != o.fabric) std::printf("requested    %s\n", o.fabric.c_str());
  std::printf("layer        %d -> %d\n", o.n_in, o.n_out);
  std::string widths;
  for (int32_t w : c.widths()) widths += (widths.empty() ? "" : " -> ") + std::to_string(w);
  std::printf("widths       %s\n", widths.c_str());
  std::printf("depth        %d\n", s.depth);
  std::printf("params       %lld (%.2f%% of dense %lld), biases not included\n",
              static_cast<long long>(s.params), 100 * s.density,
              static_cast<long long>(s.dense_params));
  if (budget) {
    std::printf("budget       target %lld, got %lld (%+.2f%%)%s%s\n",
                static_cast<long long>(budget->target), static_cast<long long>(budget->params),
                100 * budget->relative_error, budget->within_tolerance ? ", within 5%" : ": ",
                budget->within_tolerance ? "" : budget->note.c_str());
  }
  std::printf("mask hash    %s\n", hash.c_str());
  std::printf("sublayers\n");
  for (size_t l = 0; l < c.sublayers.size(); ++l) {
    const Sublayer& sl = c.sublayers[l];
    const FanIn f = fan_in(sl.mask);
    std::printf("  M%-3zu %6d x %-6d nnz %-8lld density %6.2f%%  fan-in %lld..%lld  %s\n", l + 1,
                sl.mask.rows, sl.mask.cols, static_cast<long long>(sl.mask.nnz()),
                100.0 * static_cast<double>(sl.mask.nnz()) /
                    (static_cast<double>(sl.mask.rows) * sl.mask.cols),
                static_cast<long long>(f.min), static_cast<long long>(f.max),
                sl.structure ? ("blocks " + block_summary(*sl.structure)).c_str() : "CSR");
  }
  std::printf("scores\n");
  std::printf("  reachable          %s\n", s.paths.reachable
                                               ? "yes (every input reaches every output)"
                                               : "NO (some pairs have no path)");
  std::printf(
      "  paths min / max    %llu / %llu%s\n", static_cast<unsigned long long>(s.paths.min_paths),
      static_cast<unsigned long long>(s.paths.max_paths), s.paths.saturated ? " (saturated)" : "");
  std::printf("  path mean, cv      %.4g, %.4f\n", s.paths.mean_paths, s.paths.cv);
  std::printf("  spectral s2 / s1   %.4f (of the degree-normalised path matrix)\n",
              s.spectral.ratio);
  std::printf(
      "  bottleneck         %.4f (live nodes of the narrowest hidden sublayer / min(n_in, "
      "n_out))\n",
      study::bottleneck_fraction(c));
  if (s.expressivity) {
    const ExpressivityScore& e = *s.expressivity;
    std::printf("  expressivity       rank %lld of bound %lld (%.3f)",
                static_cast<long long>(e.rank), static_cast<long long>(e.upper_bound), e.fraction);
    if (e.reduced) {
      std::printf(", on the reduced instance %s %d -> %d", e.spec.c_str(), e.n_in, e.n_out);
    }
    std::printf("\n");
  }
  if (!o.svg_path.empty()) std::printf("svg          %s\n", o.svg_path.c_str());
  return 0;
}

}  // namespace

void add_topo_command(CLI::App& app, int* exit_code) {
  CLI::App* topo = topo_group(app);
  auto options = std::make_shared<DescribeOptions>();
  CLI::App* describe_cmd = topo->add_subcommand(
      "describe",
      "Describe the cascade a fabric derives for one layer: sizes, masks, data-free scores, "
      "mask hash; optionally choose its parameters for a budget and draw it as SVG");
  describe_cmd
      ->add_option("--fabric", options->fabric,
                   "Fabric spec text or kind, e.g. clos, 'clos:n=28,m=12,r=28', "
                   "'random_fan_in:fan_in=16,depth=2,seed=7' (see docs/fabrics.md)")
      ->required();
  describe_cmd->add_option("--in", options->n_in, "Layer inputs")
      ->required()
      ->check(CLI::Range(1, 1 << 24));
  describe_cmd->add_option("--out", options->n_out, "Layer outputs")
      ->required()
      ->check(CLI::Range(1, 1 << 24));
  auto* budget_opt = describe_cmd->add_option(
      "--budget", options->budget,
      "Target parameter count: the automatic parameters of the spec are chosen to come closest");
  budget_opt->check(CLI::PositiveNumber);
  describe_cmd
      ->add_option("--density", options->density,
                   "Target density (fraction of n_in * n_out), instead of --budget")
      ->excludes(budget_opt);
  describe_cmd->add_option("--seed", options->seed,
                           "Seed of a random fabric (overrides the spec's)");
  describe_cmd->add_option("--svg", options->svg_path,
                           "Write a drawing of the masks to this SVG file");
  describe_cmd->add_flag("--json", options->json, "Print the description as JSON");
  describe_cmd->add_flag("--no-expressivity", options->no_expressivity,
                         "Skip the Jacobian-rank expressivity score (the slowest one)");
  describe_cmd
      ->add_option("--max-jacobian-work", options->max_jacobian_work,
                   "Work bound for the exact Jacobian rank; larger layers are scored on a "
                   "size-reduced instance")
      ->capture_default_str();
  describe_cmd->callback([options, exit_code] { *exit_code = describe(*options); });
}

}  // namespace nf::cli
