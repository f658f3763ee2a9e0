#include "core/fabric/budget.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include "core/fabric/fabric_generators.h"
#include "core/fabric/sublayer_builder.h"

namespace nf {

namespace {

using fabric_internal::ceil_div;

struct Candidate {
  FabricSpec spec;
  int64_t params = 0;
  double preference = 0;  // lower is better among near-equal candidates
};

// Candidates whose relative error is within this of each other are ranked by
// preference (e.g. balanced Clos switches) rather than by error alone.
constexpr double kNearlyEqual = 0.01;

std::optional<int64_t> built_params(const FabricSpec& spec, int32_t n_in, int32_t n_out) {
  auto c = build_cascade(spec, n_in, n_out);
  if (!c.is_ok()) return std::nullopt;
  return c->nnz();
}

void add_built(std::vector<Candidate>& out, const FabricSpec& spec, int32_t n_in, int32_t n_out,
               double preference) {
  if (auto p = built_params(spec, n_in, n_out)) out.push_back({spec, *p, preference});
}

// The few integers nearest to target / unit, at least `lowest`.
std::vector<int64_t> near_quotients(int64_t target, int64_t unit, int64_t lowest) {
  const int64_t q = std::max<int64_t>(lowest, target / std::max<int64_t>(unit, 1));
  std::vector<int64_t> v;
  for (int64_t x = std::max(lowest, q - 1); x <= q + 2; ++x) v.push_back(x);
  return v;
}

// Stage parameter counts of a graph fabric (hypercube, torus) are exact
// affine functions of depth >= 2: first + (depth - 2) middle + last.
void add_by_depth(std::vector<Candidate>& out, FabricSpec spec, int32_t n_in, int32_t n_out,
                  int64_t target) {
  spec.params.depth = 1;
  const auto d1 = built_params(spec, n_in, n_out);
  spec.params.depth = 2;
  const auto d2 = built_params(spec, n_in, n_out);
  spec.params.depth = 3;
  const auto d3 = built_params(spec, n_in, n_out);
  if (!d1 || !d2 || !d3) return;
  spec.params.depth = 1;
  out.push_back({spec, *d1, 0});
  const int64_t middle = *d3 - *d2;
  for (int64_t depth : near_quotients(target - *d2, middle, 0)) {
    spec.params.depth = depth + 2;
    if (spec.params.depth > 1024) continue;
    out.push_back({spec, *d2 + depth * middle, 0});
  }
}

std::vector<Candidate> candidates(const FabricSpec& given, int32_t n_in, int32_t n_out,
                                  int64_t target) {
  std::vector<Candidate> out;
  const FabricParams& p = given.params;
  const int64_t size = std::max(n_in, n_out);
  FabricSpec s = given;
  switch (given.kind) {
    case FabricKind::kDense:
      add_built(out, s, n_in, n_out, 0);
      break;
    case FabricKind::kLowRank:
      for (int64_t r : p.rank ? std::vector<int64_t>{p.rank}
                              : near_quotients(target, int64_t{n_in} + n_out, 1)) {
        s.params.rank = r;
        out.push_back({s, r * (int64_t{n_in} + n_out), 0});
      }
      break;
    case FabricKind::kClos: {
      std::vector<int64_t> rs;
      if (p.r) {
        rs = {p.r};
      } else if (p.n) {
        rs = {ceil_div(n_in, p.n)};
      } else {
        for (int64_t r = 2; r <= n_in; ++r) rs.push_back(r);
      }
      const double balanced = std::sqrt(static_cast<double>(n_in));
      for (int64_t r : rs) {
        const int64_t n = p.n ? p.n : ceil_div(n_in, r);
        if (n * r < n_in || (r - 1) * n >= n_in) continue;  // an empty ingress switch
        const int64_t r_out = fabric_internal::clos_egress(r, n_out).count;
        const int64_t per_m = int64_t{n_in} + n_out + r * r_out;
        for (int64_t m : p.m ? std::vector<int64_t>{p.m} : near_quotients(target, per_m, 1)) {
          s.params.n = n;
          s.params.r = r;
          s.params.m = m;
          out.push_back({s, m * per_m, std::abs(static_cast<double>(r) - balanced)});
        }
      }
      break;
    }
    case FabricKind::kButterfly:
    case FabricKind::kBenes:
    case FabricKind::kParallelButterfly: {
      std::vector<int64_t> radices;
      if (p.radix) {
        radices = {p.radix};
      } else {
        for (int64_t k = 2; k <= std::max<int64_t>(size, 2); ++k) {
          // Radices that pad the layer more than 4x waste most weights on
          // dead nodes: never the closest sensible choice.
          if (fabric_internal::butterfly_geometry(k, n_in, n_out).width <= 4 * size) {
            radices.push_back(k);
          }
        }
      }
      for (int64_t k : radices) {
        s.params.radix = k;
        if (given.kind != FabricKind::kParallelButterfly) {
          add_built(out, s, n_in, n_out, static_cast<double>(k));
          continue;
        }
        // Every stage's count scales exactly with the number of copies.
        FabricSpec one = s;
        one.kind = FabricKind::kButterfly;
        one.params.copies = 0;
        const auto base = built_params(one, n_in, n_out);
        if (!base) continue;
        for (int64_t c :
             p.copies ? std::vector<int64_t>{p.copies} : near_quotients(target, *base, 1)) {
          s.params.copies = c;
          if (resolve_fabric_spec(s, n_in, n_out).is_ok()) {
            out.push_back({s, c * *base, static_cast<double>(k)});
          }
        }
      }
      break;
    }
    case FabricKind::kHypercube:
    case FabricKind::kTorus:
      if (p.depth) {
        add_built(out, s, n_in, n_out, 0);
      } else {
        add_by_depth(out, s, n_in, n_out, target);
      }
      break;
    case FabricKind::kRadixNet: {
      if (!p.radices.empty()) {
        add_built(out, s, n_in, n_out, 0);
        break;
      }
      // Lists of L radices from {b, b + 1}, the product covering the layer
      // at most 4x: near-equal radices are the ones RadiX-Net recommends.
      for (int64_t L = 1; L <= 20; ++L) {
        for (int64_t b = 2; b <= size; ++b) {
          double lowest = 1;
          for (int64_t i = 0; i < L; ++i) lowest *= static_cast<double>(b);
          if (lowest > 4.0 * static_cast<double>(size)) break;
          for (int64_t bigger = 0; bigger <= L; ++bigger) {
            s.params.radices.assign(static_cast<size_t>(L), b);
            for (int64_t i = 0; i < bigger; ++i) s.params.radices[static_cast<size_t>(i)] = b + 1;
            double product = 1;
            for (int64_t r : s.params.radices) product *= static_cast<double>(r);
            if (product < static_cast<double>(size) || product > 4.0 * static_cast<double>(size)) {
              continue;
            }
            // Row j of stage l reads (j - t * place) mod N' for t < r_l: the
            // first stage keeps r_1 entries per real input, the last r_L per
            // real output, the middle ones N' r_l (one stage alone is dense).
            int64_t params = int64_t{n_in} * n_out;
            if (L > 1) {
              params = n_in * s.params.radices.front() + n_out * s.params.radices.back();
              for (int64_t i = 1; i + 1 < L; ++i) {
                params += static_cast<int64_t>(product) * s.params.radices[static_cast<size_t>(i)];
              }
            }
            out.push_back({s, params, static_cast<double>(L)});
          }
        }
      }
      break;
    }
    case FabricKind::kRandomFanIn: {
      std::vector<int64_t> fans;
      if (p.fan_in) {
        fans = {p.fan_in};
      } else {
        for (int64_t f = 1; f <= n_in; ++f) fans.push_back(f);
      }
      for (int64_t f : fans) {
        s.params.fan_in = f;
        s.params.depth = p.depth;
        auto resolved = resolve_fabric_spec(s, n_in, n_out);
        if (!resolved.is_ok()) continue;
        // With the depth free, shallower cascades than the automatic
        // (connecting) depth are candidates too, ranked below it.
        const int64_t full_depth = resolved->params.depth, hidden = size;
        for (int64_t depth = p.depth ? p.depth : 1; depth <= full_depth; ++depth) {
          int64_t params = 0;
          for (int64_t l = 0; l < depth; ++l) {
            const int64_t rows = l == depth - 1 ? n_out : hidden, cols = l == 0 ? n_in : hidden;
            params += rows * std::min(f, cols);
          }
          FabricSpec t = *resolved;
          t.params.depth = depth;
          out.push_back({t, params, static_cast<double>(full_depth - depth)});
        }
      }
      break;
    }
    case FabricKind::kErdosRenyi: {
      auto resolved = resolve_fabric_spec(s, n_in, n_out);
      if (!resolved.is_ok()) break;
      const int64_t depth = resolved->params.depth, hidden = size;
      int64_t sides = 0;
      for (int64_t l = 0; l < depth; ++l) {
        sides += (l == depth - 1 ? n_out : hidden) + (l == 0 ? n_in : hidden);
      }
      for (int64_t eps : p.epsilon_milli ? std::vector<int64_t>{p.epsilon_milli}
                                         : near_quotients(target * 1000, sides, 1)) {
        FabricSpec t = *resolved;
        t.params.epsilon_milli = eps;
        add_built(out, t, n_in, n_out, 0);
      }
      break;
    }
  }
  return out;
}

std::string cannot_note(FabricKind kind) {
  switch (kind) {
    case FabricKind::kDense:
      return "dense has a single size, n_in * n_out";
    case FabricKind::kButterfly:
    case FabricKind::kBenes:
      return "butterfly and Benes sizes are fixed by the radix (k N log_k N): only a few "
             "budgets are reachable";
    case FabricKind::kHypercube:
    case FabricKind::kTorus:
      return "only whole stages can be added: the budget moves in steps of one stage";
    case FabricKind::kParallelButterfly:
      return "a parallel butterfly has at least one butterfly's parameters and grows in steps "
             "of one butterfly";
    case FabricKind::kLowRank:
      return "low-rank moves in steps of n_in + n_out parameters";
    case FabricKind::kRadixNet:
      return "no list of near-equal radices covering the layer (product at most 4x the layer) "
             "lands closer";
    case FabricKind::kClos:
      return "the smallest Clos (m = 1) has n_in + n_out + r r_out parameters";
    case FabricKind::kRandomFanIn:
      return "random fan-in moves in steps of one edge per output";
    case FabricKind::kErdosRenyi:
      return "the budget is below one edge";
  }
  return "";
}

}  // namespace

int64_t params_for_density(double density, int32_t n_in, int32_t n_out) {
  return std::max<int64_t>(1, std::llround(density * static_cast<double>(n_in) * n_out));
}

Result<BudgetResult> solve_budget(const FabricSpec& spec, int32_t n_in, int32_t n_out,
                                  int64_t target_params) {
  if (target_params < 1) {
    return invalid_argument("budget: target of " + std::to_string(target_params) +
                            " parameters must be at least 1");
  }
  // Validates the sizes and the kind's keys before searching.
  NF_RETURN_IF_ERROR(resolve_fabric_spec(spec, n_in, n_out).status());
  const std::vector<Candidate> all = candidates(spec, n_in, n_out, target_params);
  if (all.empty()) {
    return invalid_argument("budget: no parameters of " + format_fabric_spec(spec) + " build for " +
                            std::to_string(n_in) + " -> " + std::to_string(n_out));
  }
  const auto target = static_cast<double>(target_params);
  auto error = [target](const Candidate& c) {
    return std::abs(static_cast<double>(c.params) - target) / target;
  };
  double best_error = error(all.front());
  for (const Candidate& c : all) best_error = std::min(best_error, error(c));
  const Candidate* chosen = nullptr;
  for (const Candidate& c : all) {
    if (error(c) > best_error + kNearlyEqual) continue;
    if (chosen == nullptr || c.preference < chosen->preference ||
        (c.preference == chosen->preference && error(c) < error(*chosen))) {
      chosen = &c;
    }
  }
  NF_ASSIGN_OR_RETURN(FabricSpec resolved, resolve_fabric_spec(chosen->spec, n_in, n_out));
  BudgetResult r;
  r.spec = std::move(resolved);
  NF_ASSIGN_OR_RETURN(const Cascade c, build_cascade(r.spec, n_in, n_out));
  r.params = c.nnz();
  r.target = target_params;
  r.relative_error = (static_cast<double>(r.params) - target) / target;
  r.within_tolerance = std::abs(r.relative_error) <= kBudgetTolerance;
  if (!r.within_tolerance) r.note = cannot_note(spec.kind);
  return r;
}

}  // namespace nf
