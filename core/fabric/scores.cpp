#include "core/fabric/scores.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "core/fabric/symmetric_eigen.h"
#include "core/util/rng.h"

namespace nf {

PathStats path_stats(const PathCounts& p) {
  PathStats s;
  if (p.counts.empty()) return s;
  s.min_paths = kPathCountMax;
  double sum = 0;
  for (uint64_t c : p.counts) {
    s.min_paths = std::min(s.min_paths, c);
    s.max_paths = std::max(s.max_paths, c);
    s.saturated = s.saturated || c == kPathCountMax;
    sum += static_cast<double>(c);
  }
  const auto n = static_cast<double>(p.counts.size());
  s.mean_paths = sum / n;
  double var = 0;
  for (uint64_t c : p.counts) {
    const double d = static_cast<double>(c) - s.mean_paths;
    var += d * d;
  }
  var /= n;
  s.cv = s.mean_paths > 0 ? std::sqrt(var) / s.mean_paths : 0;
  s.reachable = s.min_paths > 0;
  return s;
}

SpectralScore spectral_spread(const PathCounts& p) {
  const auto rows = static_cast<size_t>(p.rows), cols = static_cast<size_t>(p.cols);
  std::vector<double> row_sum(rows, 0), col_sum(cols, 0);
  for (size_t j = 0; j < rows; ++j) {
    for (size_t i = 0; i < cols; ++i) {
      const auto v = static_cast<double>(p.counts[j * cols + i]);
      row_sum[j] += v;
      col_sum[i] += v;
    }
  }
  auto inv_sqrt = [](double v) { return v > 0 ? 1 / std::sqrt(v) : 0.0; };
  // Gram matrix on the smaller side; its eigenvalues are the squared singular values.
  const bool by_rows = rows <= cols;
  const size_t dim = by_rows ? rows : cols, other = by_rows ? cols : rows;
  std::vector<double> q(dim * other);
  for (size_t j = 0; j < rows; ++j) {
    for (size_t i = 0; i < cols; ++i) {
      const double v =
          static_cast<double>(p.counts[j * cols + i]) * inv_sqrt(row_sum[j]) * inv_sqrt(col_sum[i]);
      q[by_rows ? j * other + i : i * other + j] = v;
    }
  }
  std::vector<double> gram(dim * dim);
  for (size_t a = 0; a < dim; ++a) {
    for (size_t b = a; b < dim; ++b) {
      double s = 0;
      for (size_t k = 0; k < other; ++k) s += q[a * other + k] * q[b * other + k];
      gram[a * dim + b] = gram[b * dim + a] = s;
    }
  }
  const int n = static_cast<int>(dim);
  std::vector<double> eig =
      n <= 160 ? symmetric_eigenvalues(gram, n) : top_eigenvalues_psd(gram, n, 2);
  SpectralScore s;
  s.sigma1 = eig.empty() ? 0 : std::sqrt(std::max(0.0, eig[0]));
  s.sigma2 = eig.size() < 2 ? 0 : std::sqrt(std::max(0.0, eig[1]));
  s.ratio = s.sigma1 > 0 ? s.sigma2 / s.sigma1 : 0;
  return s;
}

int64_t expressivity_upper_bound(const Cascade& c) {
  int64_t live_hidden = 0;
  for (size_t l = 0; l + 1 < c.sublayers.size(); ++l) {
    const Mask& in = c.sublayers[l].mask;
    const std::vector<int32_t> fan_out = c.sublayers[l + 1].mask.column_counts();
    for (int32_t r = 0; r < in.rows; ++r) {
      const bool has_in =
          in.row_ptr[static_cast<size_t>(r) + 1] > in.row_ptr[static_cast<size_t>(r)];
      if (has_in && fan_out[static_cast<size_t>(r)] > 0) ++live_hidden;
    }
  }
  return std::min(int64_t{c.n_in} * c.n_out, c.nnz() - live_hidden);
}

double jacobian_rank_work(const Cascade& c) {
  const double rows = static_cast<double>(c.n_in) * c.n_out;
  const auto cols = static_cast<double>(c.nnz());
  return rows * cols * std::min(rows, cols);
}

namespace {

constexpr uint64_t kPrime = (uint64_t{1} << 31) - 1;

uint64_t mul_mod(uint64_t a, uint64_t b) {
  return (a * b) % kPrime;  // a, b < 2^31: the product fits in 64 bits
}

// Dense row-major matrix mod kPrime.
struct ModMatrix {
  size_t rows = 0, cols = 0;
  std::vector<uint64_t> v;
  uint64_t& at(size_t r, size_t c) { return v[r * cols + c]; }
  uint64_t at(size_t r, size_t c) const { return v[r * cols + c]; }
};

ModMatrix identity(size_t n) {
  ModMatrix m{n, n, std::vector<uint64_t>(n * n, 0)};
  for (size_t i = 0; i < n; ++i) m.at(i, i) = 1;
  return m;
}

// (M . W) x, with x of size mask.cols x x.cols.
ModMatrix apply(const Mask& mask, const std::vector<uint64_t>& w, const ModMatrix& x) {
  ModMatrix y{static_cast<size_t>(mask.rows), x.cols,
              std::vector<uint64_t>(static_cast<size_t>(mask.rows) * x.cols, 0)};
  for (size_t r = 0; r < y.rows; ++r) {
    for (int32_t e = mask.row_ptr[r]; e < mask.row_ptr[r + 1]; ++e) {
      const auto src = static_cast<size_t>(mask.col_idx[static_cast<size_t>(e)]);
      const uint64_t we = w[static_cast<size_t>(e)];
      for (size_t k = 0; k < x.cols; ++k) {
        y.at(r, k) = (y.at(r, k) + mul_mod(we, x.at(src, k))) % kPrime;
      }
    }
  }
  return y;
}

// y^T (M . W), with y of size n_out x mask.rows; result n_out x mask.cols.
ModMatrix apply_left(const ModMatrix& y, const Mask& mask, const std::vector<uint64_t>& w) {
  ModMatrix z{y.rows, static_cast<size_t>(mask.cols),
              std::vector<uint64_t>(y.rows * static_cast<size_t>(mask.cols), 0)};
  for (size_t r = 0; r < static_cast<size_t>(mask.rows); ++r) {
    for (int32_t e = mask.row_ptr[r]; e < mask.row_ptr[r + 1]; ++e) {
      const auto dst = static_cast<size_t>(mask.col_idx[static_cast<size_t>(e)]);
      const uint64_t we = w[static_cast<size_t>(e)];
      for (size_t j = 0; j < y.rows; ++j)
        z.at(j, dst) = (z.at(j, dst) + mul_mod(y.at(j, r), we)) % kPrime;
    }
  }
  return z;
}

uint64_t inverse_mod(uint64_t a) {
  uint64_t result = 1, base = a, e = kPrime - 2;
  while (e > 0) {
    if (e & 1) result = mul_mod(result, base);
    base = mul_mod(base, base);
    e >>= 1;
  }
  return result;
}

}  // namespace

int64_t jacobian_rank(const Cascade& c, uint64_t seed) {
  const size_t depth = c.sublayers.size();
  Rng rng(seed, 0x1ac0b1a);
  std::vector<std::vector<uint64_t>> w(depth);
  for (size_t l = 0; l < depth; ++l) {
    w[l].resize(static_cast<size_t>(c.sublayers[l].mask.nnz()));
    for (uint64_t& x : w[l]) x = 1 + rng.uniform(kPrime - 1);
  }
  // before[l]: input of sublayer l as a function of x (width_l x n_in);
  // after[l]: d output / d output of sublayer l (n_out x rows_l).
  std::vector<ModMatrix> before(depth), after(depth);
  before[0] = identity(static_cast<size_t>(c.n_in));
  for (size_t l = 1; l < depth; ++l)
    before[l] = apply(c.sublayers[l - 1].mask, w[l - 1], before[l - 1]);
  after[depth - 1] = identity(static_cast<size_t>(c.n_out));
  for (size_t l = depth - 1; l > 0; --l)
    after[l - 1] = apply_left(after[l], c.sublayers[l].mask, w[l]);

  const size_t n_in = static_cast<size_t>(c.n_in), n_out = static_cast<size_t>(c.n_out);
  const size_t len = n_in * n_out;
  const int64_t bound = expressivity_upper_bound(c);
  std::vector<std::vector<uint64_t>> basis;  // basis[k][pivot[k]] == 1, zero at earlier pivots
  std::vector<size_t> pivot;
  std::vector<uint64_t> v(len);
  for (size_t l = 0; l < depth && static_cast<int64_t>(basis.size()) < bound; ++l) {
    const Mask& m = c.sublayers[l].mask;
    for (size_t a = 0; a < static_cast<size_t>(m.rows); ++a) {
      for (int32_t e = m.row_ptr[a]; e < m.row_ptr[a + 1]; ++e) {
        if (static_cast<int64_t>(basis.size()) >= bound) break;
        const auto b = static_cast<size_t>(m.col_idx[static_cast<size_t>(e)]);
        // Column for weight (a, b): after[l][:, a] (x) before[l][b, :].
        for (size_t j = 0; j < n_out; ++j) {
          const uint64_t left = after[l].at(j, a);
          for (size_t i = 0; i < n_in; ++i) v[j * n_in + i] = mul_mod(left, before[l].at(b, i));
        }
        for (size_t k = 0; k < basis.size(); ++k) {
          const uint64_t f = v[pivot[k]];
          if (f == 0) continue;
          const uint64_t neg = kPrime - f;
          const std::vector<uint64_t>& bk = basis[k];
          for (size_t t = 0; t < len; ++t) {
            if (bk[t] != 0) v[t] = (v[t] + mul_mod(neg, bk[t])) % kPrime;
          }
        }
        size_t p = 0;
        while (p < len && v[p] == 0) ++p;
        if (p == len) continue;
        const uint64_t inv = inverse_mod(v[p]);
        for (uint64_t& x : v) x = mul_mod(x, inv);
        basis.push_back(v);
        pivot.push_back(p);
      }
    }
  }
  return static_cast<int64_t>(basis.size());
}

namespace {

// The spec of a smaller instance of the same fabric for n_in / s -> n_out / s:
// same kind, radix, copies, seed and loop flag; size parameters re-chosen
// automatically for the smaller sizes with the same density (Clos keeps
// m / n, low-rank rank / min size, random fan-in fan_in / n_in, Erdos-Renyi
// its density) and the same depth margin over the automatic depth.
Result<FabricSpec> reduced_spec(const FabricSpec& resolved, int32_t n_in, int32_t n_out,
                                int32_t small_in, int32_t small_out) {
  FabricSpec s = resolved;
  const FabricParams& p = resolved.params;
  auto auto_params = [&](FabricSpec t, int32_t a, int32_t b) -> Result<FabricParams> {
    NF_ASSIGN_OR_RETURN(FabricSpec r, resolve_fabric_spec(t, a, b));
    return r.params;
  };
  auto scaled = [](int64_t v, int64_t num, int64_t den) {
    return std::max<int64_t>(1, (v * num + den / 2) / den);
  };
  switch (resolved.kind) {
    case FabricKind::kDense:
    case FabricKind::kButterfly:
    case FabricKind::kBenes:
    case FabricKind::kParallelButterfly:
      break;
    case FabricKind::kLowRank:
      s.params.rank = scaled(p.rank, std::min(small_in, small_out), std::min(n_in, n_out));
      break;
    case FabricKind::kClos: {
      s.params = FabricParams{};
      NF_ASSIGN_OR_RETURN(FabricParams q, auto_params(s, small_in, small_out));
      s.params.m = scaled(p.m, q.n, p.n);
      break;
    }
    case FabricKind::kHypercube:
    case FabricKind::kTorus: {
      FabricSpec t = resolved;
      t.params.depth = 0;
      NF_ASSIGN_OR_RETURN(FabricParams big, auto_params(t, n_in, n_out));
      NF_ASSIGN_OR_RETURN(FabricParams small, auto_params(t, small_in, small_out));
      s.params.depth = std::max<int64_t>(1, small.depth + (p.depth - big.depth));
      break;
    }
    case FabricKind::kRadixNet:
      s.params.radices.clear();
      break;
    case FabricKind::kRandomFanIn:
      s.params.fan_in = scaled(p.fan_in, small_in, n_in);
      break;
    case FabricKind::kErdosRenyi: {
      // density eps (a + b) / (a b) held fixed.
      const int64_t num = int64_t{small_in} * small_out * (int64_t{n_in} + n_out);
      const int64_t den = int64_t{n_in} * n_out * (int64_t{small_in} + small_out);
      s.params.epsilon_milli = scaled(p.epsilon_milli, num, den);
      break;
    }
  }
  return resolve_fabric_spec(s, small_in, small_out);
}

}  // namespace

Result<ExpressivityScore> expressivity(const FabricSpec& spec, int32_t n_in, int32_t n_out,
                                       const ScoreOptions& options) {
  NF_ASSIGN_OR_RETURN(const FabricSpec resolved, resolve_fabric_spec(spec, n_in, n_out));
  for (int32_t shrink = 1; shrink <= std::max(n_in, n_out); ++shrink) {
    const auto small_in = static_cast<int32_t>((n_in + shrink - 1) / shrink);
    const auto small_out = static_cast<int32_t>((n_out + shrink - 1) / shrink);
    FabricSpec instance = resolved;
    if (shrink > 1) {
      auto reduced = reduced_spec(resolved, n_in, n_out, small_in, small_out);
      if (!reduced.is_ok()) continue;  // e.g. a Clos that cannot be that small
      instance = std::move(reduced).value();
    }
    NF_ASSIGN_OR_RETURN(const Cascade c, build_cascade(instance, small_in, small_out));
    if (jacobian_rank_work(c) > options.max_jacobian_work && shrink < std::max(n_in, n_out)) {
      continue;
    }
    ExpressivityScore e;
    e.rank = jacobian_rank(c, options.seed);
    e.upper_bound = expressivity_upper_bound(c);
    e.fraction =
        e.upper_bound > 0 ? static_cast<double>(e.rank) / static_cast<double>(e.upper_bound) : 0;
    e.reduced = shrink > 1;
    e.n_in = small_in;
    e.n_out = small_out;
    e.spec = format_fabric_spec(instance);
    return e;
  }
  return internal_error("expressivity: no instance small enough");
}

Result<FabricScores> score_fabric(const FabricSpec& spec, const Cascade& cascade,
                                  const ScoreOptions& options) {
  FabricScores s;
  s.depth = cascade.depth();
  s.params = cascade.nnz();
  s.dense_params = int64_t{cascade.n_in} * cascade.n_out;
  s.density = static_cast<double>(s.params) / static_cast<double>(s.dense_params);
  const PathCounts p = path_counts(cascade);
  s.paths = path_stats(p);
  s.spectral = spectral_spread(p);
  if (options.expressivity) {
    NF_ASSIGN_OR_RETURN(s.expressivity, expressivity(spec, cascade.n_in, cascade.n_out, options));
  }
  return s;
}

}  // namespace nf
