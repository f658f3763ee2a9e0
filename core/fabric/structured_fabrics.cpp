// The block-structured fabrics: dense, low-rank, Clos and the butterfly
// family. Every sublayer is built from its blocks, so the CSR mask and the
// BlockStructure agree by construction.
#include <algorithm>
#include <cassert>
#include <numeric>
#include <string>

#include "core/fabric/fabric_generators.h"
#include "core/fabric/sublayer_builder.h"

namespace nf::fabric_internal {

namespace {

std::vector<int32_t> iota_range(int64_t begin, int64_t count) {
  std::vector<int32_t> v(static_cast<size_t>(count));
  std::iota(v.begin(), v.end(), static_cast<int32_t>(begin));
  return v;
}

Sublayer dense_sublayer(int64_t rows, int64_t cols) {
  return blocked_sublayer(static_cast<int32_t>(rows), static_cast<int32_t>(cols),
                          {Block{iota_range(0, rows), iota_range(0, cols)}});
}

Status check_positive(const char* fabric, const char* name, int64_t value) {
  if (value < 1) {
    return invalid_argument(std::string(fabric) + ": " + name + "=" + std::to_string(value) +
                            " must be at least 1");
  }
  return Status::ok();
}

}  // namespace

// ---------------------------------------------------------------- dense, low-rank

Result<FabricParams> resolve_dense(const FabricParams& p, int32_t, int32_t) {
  return p;
}

Cascade build_dense(int32_t n_in, int32_t n_out) {
  Cascade c{n_in, n_out, {}};
  c.sublayers.push_back(dense_sublayer(n_out, n_in));
  return c;
}

Result<FabricParams> resolve_low_rank(const FabricParams& p, int32_t n_in, int32_t n_out) {
  FabricParams q = p;
  if (q.rank == 0) {
    // About 10% of the dense parameter count.
    q.rank = std::max<int64_t>(1, (int64_t{n_in} * n_out) / (10 * (int64_t{n_in} + n_out)));
  }
  NF_RETURN_IF_ERROR(check_positive("low_rank", "rank", q.rank));
  if (q.rank > kMaxPaddedWidth) {
    return invalid_argument("low_rank: rank=" + std::to_string(q.rank) + " is too large");
  }
  return q;
}

Cascade build_low_rank(const FabricParams& p, int32_t n_in, int32_t n_out) {
  Cascade c{n_in, n_out, {}};
  c.sublayers.push_back(dense_sublayer(p.rank, n_in));
  c.sublayers.push_back(dense_sublayer(n_out, p.rank));
  return c;
}

// ---------------------------------------------------------------- Clos

ClosEgress clos_egress(int64_t r, int32_t n_out) {
  const int64_t size = ceil_div(n_out, std::min<int64_t>(r, n_out));
  return {size, ceil_div(n_out, size)};
}

Result<FabricParams> resolve_clos(const FabricParams& p, int32_t n_in, int32_t) {
  FabricParams q = p;
  if (q.n < 0 || q.m < 0 || q.r < 0) {
    return invalid_argument("clos: n, m and r must not be negative (n=" + std::to_string(q.n) +
                            ", m=" + std::to_string(q.m) + ", r=" + std::to_string(q.r) + ")");
  }
  if (q.r == 0 && q.n == 0) {
    int64_t r = 1;
    while ((r + 1) * (r + 1) <= n_in) ++r;  // floor(sqrt(n_in))
    q.r = r;
  }
  if (q.r == 0) q.r = ceil_div(n_in, q.n);
  if (q.n == 0) q.n = ceil_div(n_in, q.r);
  if (q.m == 0) q.m = q.n;  // m >= n: rearrangeably non-blocking
  if (q.r > n_in) {
    return invalid_argument("clos: r=" + std::to_string(q.r) + " ingress switches exceed the " +
                            std::to_string(n_in) + " inputs");
  }
  if (q.n * q.r < n_in || (q.r - 1) * q.n >= n_in) {
    return invalid_argument("clos: n=" + std::to_string(q.n) + " x r=" + std::to_string(q.r) +
                            " must cover the " + std::to_string(n_in) +
                            " inputs with no empty ingress switch");
  }
  if (q.m * q.r > kMaxPaddedWidth) {
    return invalid_argument("clos: m=" + std::to_string(q.m) + " middle switches are too many");
  }
  return q;
}

// Node numbering, chosen so that CSR order equals block-major row-major order
// in every stage (each block's rows are contiguous):
//   input a*n + b, stage-1 node (a, c) -> a*m + c, stage-2 node (c, e) -> c*r_out + e,
//   output e*n_out_sw + f.
Cascade build_clos(const FabricParams& p, int32_t n_in, int32_t n_out) {
  const int64_t n = p.n, m = p.m, r = p.r;
  const ClosEgress egress = clos_egress(r, n_out);
  const int64_t r_out = egress.count, n_o = egress.size;
  Cascade c{n_in, n_out, {}};

  std::vector<Block> ingress;
  for (int64_t a = 0; a < r; ++a) ingress.push_back({iota_range(a * m, m), iota_range(a * n, n)});
  c.sublayers.push_back(blocked_sublayer(static_cast<int32_t>(r * m), n_in, std::move(ingress)));

  std::vector<Block> middle;
  for (int64_t mid = 0; mid < m; ++mid) {
    Block b{iota_range(mid * r_out, r_out), {}};
    for (int64_t a = 0; a < r; ++a) b.cols.push_back(static_cast<int32_t>(a * m + mid));
    middle.push_back(std::move(b));
  }
  c.sublayers.push_back(blocked_sublayer(static_cast<int32_t>(m * r_out),
                                         static_cast<int32_t>(r * m), std::move(middle)));

  std::vector<Block> egress_blocks;
  for (int64_t e = 0; e < r_out; ++e) {
    Block b{iota_range(e * n_o, n_o), {}};
    for (int64_t mid = 0; mid < m; ++mid) b.cols.push_back(static_cast<int32_t>(mid * r_out + e));
    egress_blocks.push_back(std::move(b));
  }
  c.sublayers.push_back(
      blocked_sublayer(n_out, static_cast<int32_t>(m * r_out), std::move(egress_blocks)));
  return c;
}

// ---------------------------------------------------------------- butterfly family

ButterflyGeometry butterfly_geometry(int64_t radix, int32_t n_in, int32_t n_out) {
  const int64_t size = std::max<int64_t>({n_in, n_out, 1});
  ButterflyGeometry g{1, radix};
  while (g.width < size) {
    g.width *= radix;
    ++g.stages;
  }
  return g;
}

Result<FabricParams> resolve_butterfly(FabricKind kind, const FabricParams& p, int32_t n_in,
                                       int32_t n_out) {
  const std::string name(fabric_kind_name(kind));
  FabricParams q = p;
  if (q.radix == 0) q.radix = 2;
  if (q.radix < 2) {
    return invalid_argument(name + ": radix=" + std::to_string(q.radix) + " must be at least 2");
  }
  if (q.radix > kMaxPaddedWidth) {
    return invalid_argument(name + ": radix=" + std::to_string(q.radix) + " is too large");
  }
  if (kind == FabricKind::kParallelButterfly) {
    if (q.copies == 0) q.copies = 2;
    NF_RETURN_IF_ERROR(check_positive(name.c_str(), "copies", q.copies));
  } else if (q.copies != 0) {
    return invalid_argument(name + " does not take copies (use parallel_butterfly)");
  }
  const ButterflyGeometry g = butterfly_geometry(q.radix, n_in, n_out);
  const int64_t copies = std::max<int64_t>(q.copies, 1);
  if (g.width > kMaxPaddedWidth / copies) {
    return invalid_argument(name + ": radix=" + std::to_string(q.radix) + " pads " +
                            std::to_string(std::max(n_in, n_out)) + " nodes to " +
                            std::to_string(g.width) + " per copy, too many");
  }
  if (kind == FabricKind::kParallelButterfly && g.stages < 2 && copies > 1) {
    return invalid_argument(name + ": radix=" + std::to_string(q.radix) +
                            " covers the layer in one stage, leaving no hidden sublayer to "
                            "widen; use a smaller radix or a wider layer");
  }
  return q;
}

namespace {

// Index of node `v` (digits v_0..v_{L-1} in base k) in a layer numbered so
// that digit `t` is the least significant: digit d goes to place (d - t) mod L.
int64_t rotated_index(int64_t v, int64_t t, const std::vector<int64_t>& pow_k) {
  const int64_t L = static_cast<int64_t>(pow_k.size()) - 1;
  const int64_t k = pow_k[1];
  int64_t idx = 0;
  for (int64_t d = 0; d < L; ++d) {
    const int64_t digit = (v / pow_k[static_cast<size_t>(d)]) % k;
    idx += digit * pow_k[static_cast<size_t>(((d - t) % L + L) % L)];
  }
  return idx;
}

}  // namespace

// Stage s changes base-k digit stage_digit[s]. Layer 0 (inputs) and the last
// layer (outputs) are numbered naturally; hidden layer h (after stage h-1) is
// numbered with digit stage_digit[h-1] least significant, so every stage but
// the last has contiguous block rows. Copies occupy consecutive ranges of N
// hidden nodes; the first stage fans each input out to every copy and the
// last stage gathers every copy, so their blocks span all copies.
Cascade build_butterfly(FabricKind kind, const FabricParams& p, int32_t n_in, int32_t n_out) {
  const int64_t k = p.radix;
  const ButterflyGeometry g = butterfly_geometry(k, n_in, n_out);
  const int64_t L = g.stages, N = g.width;
  const int64_t copies = kind == FabricKind::kParallelButterfly ? p.copies : 1;
  std::vector<int64_t> pow_k(static_cast<size_t>(L) + 1, 1);
  for (size_t i = 1; i < pow_k.size(); ++i) pow_k[i] = pow_k[i - 1] * k;

  std::vector<int64_t> stage_digit;
  for (int64_t d = 0; d < L; ++d) stage_digit.push_back(d);
  if (kind == FabricKind::kBenes) {
    for (int64_t d = L - 2; d >= 0; --d) stage_digit.push_back(d);
  }
  const auto S = static_cast<int64_t>(stage_digit.size());
  // Place of node v in layer h, before the copy offset.
  auto layer_index = [&](int64_t h, int64_t v) {
    if (h == 0 || h == S) return v;
    return rotated_index(v, stage_digit[static_cast<size_t>(h - 1)], pow_k);
  };

  Cascade c{n_in, n_out, {}};
  const int64_t hidden = copies * N;
  for (int64_t s = 0; s < S; ++s) {
    const int64_t d = stage_digit[static_cast<size_t>(s)];
    const int64_t step = pow_k[static_cast<size_t>(d)];
    const bool first = s == 0, last = s == S - 1;
    std::vector<Block> blocks;
    for (int64_t base = 0; base < N; ++base) {
      if ((base / step) % k != 0) continue;
      const bool spans_copies = first || last;
      for (int64_t copy = 0; copy < (spans_copies ? 1 : copies); ++copy) {
        Block b;
        for (int64_t t = 0; t < k; ++t) {
          const int64_t v = base + t * step;
          const int64_t row = layer_index(s + 1, v), col = layer_index(s, v);
          if (last) {
            b.rows.push_back(static_cast<int32_t>(row));
          } else if (first) {
            for (int64_t cp = 0; cp < copies; ++cp)
              b.rows.push_back(static_cast<int32_t>(cp * N + row));
          } else {
            b.rows.push_back(static_cast<int32_t>(copy * N + row));
          }
          if (first) {
            b.cols.push_back(static_cast<int32_t>(col));
          } else if (last) {
            for (int64_t cp = 0; cp < copies; ++cp)
              b.cols.push_back(static_cast<int32_t>(cp * N + col));
          } else {
            b.cols.push_back(static_cast<int32_t>(copy * N + col));
          }
        }
        blocks.push_back(std::move(b));
      }
    }
    const auto rows = static_cast<int32_t>(last ? n_out : hidden);
    const auto cols = static_cast<int32_t>(first ? n_in : hidden);
    c.sublayers.push_back(blocked_sublayer(rows, cols, std::move(blocks)));
  }
  return c;
}

}  // namespace nf::fabric_internal
