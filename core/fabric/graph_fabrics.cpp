// The unstructured fabrics: hypercube, torus, RadiX-Net, random fan-in and
// Erdos-Renyi. Their masks are plain CSR (no BlockStructure).
#include <algorithm>
#include <cassert>
#include <string>

#include "core/fabric/fabric_generators.h"
#include "core/fabric/sublayer_builder.h"
#include "core/util/rng.h"

namespace nf::fabric_internal {

namespace {

std::string str(int64_t v) {
  return std::to_string(v);
}

Status check_depth(const char* fabric, int64_t depth) {
  if (depth < 1 || depth > 1024) {
    return invalid_argument(std::string(fabric) + ": depth=" + str(depth) +
                            " must be in [1, 1024]");
  }
  return Status::ok();
}

// A cascade of `depth` copies of one square graph on `width` nodes, where
// `neighbours(j)` lists the inputs of node j. Padding and cropping as in
// cascade.h.
template <typename Neighbours>
Cascade graph_cascade(int32_t n_in, int32_t n_out, int64_t width, int64_t depth,
                      Neighbours neighbours) {
  std::vector<std::vector<int32_t>> row_cols(static_cast<size_t>(width));
  for (int64_t j = 0; j < width; ++j) neighbours(j, row_cols[static_cast<size_t>(j)]);
  Cascade c{n_in, n_out, {}};
  for (int64_t s = 0; s < depth; ++s) {
    const auto rows = static_cast<int32_t>(s == depth - 1 ? n_out : width);
    const auto cols = static_cast<int32_t>(s == 0 ? n_in : width);
    c.sublayers.push_back(unstructured_sublayer(rows, cols, row_cols));
  }
  return c;
}

int64_t int_sqrt_ceil(int64_t x) {
  int64_t k = 1;
  while (k * k < x) ++k;
  return k;
}

// Hidden width of the random fabrics: no padding is needed, so hidden layers
// are as wide as the wider side of the layer.
int64_t random_hidden_width(int32_t n_in, int32_t n_out) {
  return std::max<int64_t>(n_in, n_out);
}

}  // namespace

// ---------------------------------------------------------------- hypercube

Result<FabricParams> resolve_hypercube(const FabricParams& p, int32_t n_in, int32_t n_out) {
  FabricParams q = p;
  int64_t dims = 1;
  while ((int64_t{1} << dims) < std::max(n_in, n_out)) ++dims;
  if (q.depth == 0) q.depth = dims;
  NF_RETURN_IF_ERROR(check_depth("hypercube", q.depth));
  if (q.loopless != 0 && q.loopless != 1) {
    return invalid_argument("hypercube: loopless=" + str(q.loopless) + " must be 0 or 1");
  }
  return q;
}

Cascade build_hypercube(const FabricParams& p, int32_t n_in, int32_t n_out) {
  int64_t dims = 1;
  while ((int64_t{1} << dims) < std::max(n_in, n_out)) ++dims;
  const bool self_loops = p.loopless == 0;
  return graph_cascade(n_in, n_out, int64_t{1} << dims, p.depth,
                       [&](int64_t j, std::vector<int32_t>& in) {
                         if (self_loops) in.push_back(static_cast<int32_t>(j));
                         for (int64_t b = 0; b < dims; ++b) {
                           in.push_back(static_cast<int32_t>(j ^ (int64_t{1} << b)));
                         }
                       });
}

// ---------------------------------------------------------------- torus

Result<FabricParams> resolve_torus(const FabricParams& p, int32_t n_in, int32_t n_out) {
  FabricParams q = p;
  const int64_t k = int_sqrt_ceil(std::max(n_in, n_out));
  if (q.depth == 0) q.depth = std::max<int64_t>(1, 2 * (k / 2));
  NF_RETURN_IF_ERROR(check_depth("torus", q.depth));
  return q;
}

Cascade build_torus(const FabricParams& p, int32_t n_in, int32_t n_out) {
  const int64_t k = int_sqrt_ceil(std::max(n_in, n_out));
  return graph_cascade(n_in, n_out, k * k, p.depth, [k](int64_t j, std::vector<int32_t>& in) {
    const int64_t x = j / k, y = j % k;
    auto node = [k](int64_t a, int64_t b) { return static_cast<int32_t>(a * k + b); };
    in.push_back(node(x, y));
    in.push_back(node((x + 1) % k, y));
    in.push_back(node((x + k - 1) % k, y));
    in.push_back(node(x, (y + 1) % k));
    in.push_back(node(x, (y + k - 1) % k));
  });
}

// ---------------------------------------------------------------- RadiX-Net

Result<FabricParams> resolve_radix_net(const FabricParams& p, int32_t n_in, int32_t n_out) {
  FabricParams q = p;
  const int64_t size = std::max<int64_t>({n_in, n_out, 2});
  if (q.radices.empty()) {
    const int64_t r1 = std::max<int64_t>(2, int_sqrt_ceil(size));
    q.radices = {r1, std::max<int64_t>(2, ceil_div(size, r1))};
  }
  if (q.radices.size() > 64) {
    return invalid_argument("radix_net: " + str(static_cast<int64_t>(q.radices.size())) +
                            " radices are too many (at most 64)");
  }
  int64_t product = 1;
  for (int64_t r : q.radices) {
    if (r < 2) return invalid_argument("radix_net: radix " + str(r) + " must be at least 2");
    if (r > kMaxPaddedWidth || product > kMaxPaddedWidth / r) {
      return invalid_argument("radix_net: the product of the radices exceeds " +
                              str(kMaxPaddedWidth));
    }
    product *= r;
  }
  if (product < size) {
    return invalid_argument("radix_net: the product of the radices, " + str(product) +
                            ", must be at least max(n_in, n_out) = " + str(size));
  }
  return q;
}

Cascade build_radix_net(const FabricParams& p, int32_t n_in, int32_t n_out) {
  int64_t width = 1;
  for (int64_t r : p.radices) width *= r;
  Cascade c{n_in, n_out, {}};
  int64_t place = 1;
  const auto depth = static_cast<int64_t>(p.radices.size());
  for (int64_t s = 0; s < depth; ++s) {
    const int64_t radix = p.radices[static_cast<size_t>(s)];
    // i -> (i + t*place) mod width, so row j reads (j - t*place) mod width.
    std::vector<std::vector<int32_t>> row_cols(static_cast<size_t>(width));
    for (int64_t j = 0; j < width; ++j) {
      for (int64_t t = 0; t < radix; ++t) {
        const int64_t i = ((j - t * place) % width + width) % width;
        row_cols[static_cast<size_t>(j)].push_back(static_cast<int32_t>(i));
      }
    }
    const auto rows = static_cast<int32_t>(s == depth - 1 ? n_out : width);
    const auto cols = static_cast<int32_t>(s == 0 ? n_in : width);
    c.sublayers.push_back(unstructured_sublayer(rows, cols, std::move(row_cols)));
    place *= radix;
  }
  return c;
}

// ---------------------------------------------------------------- random fan-in

Result<FabricParams> resolve_random_fan_in(const FabricParams& p, int32_t n_in, int32_t) {
  FabricParams q = p;
  if (q.fan_in == 0) q.fan_in = int_sqrt_ceil(n_in);
  if (q.fan_in < 1) {
    return invalid_argument("random_fan_in: fan_in=" + str(q.fan_in) + " must be at least 1");
  }
  if (q.depth == 0) {
    // The fewest stages that could connect every pair: fan_in^depth >= n_in.
    int64_t reach = q.fan_in, depth = 1;
    while (reach < n_in && q.fan_in > 1 && depth < 1024) {
      reach *= q.fan_in;
      ++depth;
    }
    q.depth = depth;
  }
  NF_RETURN_IF_ERROR(check_depth("random_fan_in", q.depth));
  return q;
}

Cascade build_random_fan_in(const FabricParams& p, uint64_t seed, int32_t n_in, int32_t n_out) {
  const int64_t hidden = random_hidden_width(n_in, n_out);
  Cascade c{n_in, n_out, {}};
  for (int64_t s = 0; s < p.depth; ++s) {
    const int64_t rows = s == p.depth - 1 ? n_out : hidden;
    const int64_t cols = s == 0 ? n_in : hidden;
    Rng rng(seed, static_cast<uint64_t>(s));
    std::vector<std::vector<int32_t>> row_cols(static_cast<size_t>(rows));
    if (rows <= cols) {
      for (auto& in : row_cols) {
        for (int64_t i : rng.sample_sorted(cols, std::min(p.fan_in, cols))) {
          in.push_back(static_cast<int32_t>(i));
        }
      }
    } else {
      // A widening stage (X-Net): each input picks fan_in outputs instead,
      // so that no input is left unconnected.
      for (int64_t i = 0; i < cols; ++i) {
        for (int64_t j : rng.sample_sorted(rows, std::min(p.fan_in, rows))) {
          row_cols[static_cast<size_t>(j)].push_back(static_cast<int32_t>(i));
        }
      }
    }
    c.sublayers.push_back(unstructured_sublayer(static_cast<int32_t>(rows),
                                                static_cast<int32_t>(cols), std::move(row_cols)));
  }
  return c;
}

// ---------------------------------------------------------------- Erdos-Renyi

Result<FabricParams> resolve_erdos_renyi(const FabricParams& p, int32_t, int32_t) {
  FabricParams q = p;
  if (q.epsilon_milli == 0) q.epsilon_milli = 20000;  // SET's epsilon = 20
  if (q.epsilon_milli < 1) {
    return invalid_argument("erdos_renyi: epsilon_milli=" + str(q.epsilon_milli) +
                            " must be at least 1");
  }
  if (q.epsilon_milli > kMaxPaddedWidth * 1000) {
    return invalid_argument("erdos_renyi: epsilon_milli=" + str(q.epsilon_milli) + " is too large");
  }
  if (q.depth == 0) q.depth = 1;
  NF_RETURN_IF_ERROR(check_depth("erdos_renyi", q.depth));
  return q;
}

// SET's rule gives each entry probability eps (rows + cols) / (rows cols);
// we draw exactly the expected count, round(eps (rows + cols)), uniformly
// (the G(n, M) form), so the parameter count is a function of the spec.
Cascade build_erdos_renyi(const FabricParams& p, uint64_t seed, int32_t n_in, int32_t n_out) {
  const int64_t hidden = random_hidden_width(n_in, n_out);
  Cascade c{n_in, n_out, {}};
  for (int64_t s = 0; s < p.depth; ++s) {
    const int64_t rows = s == p.depth - 1 ? n_out : hidden;
    const int64_t cols = s == 0 ? n_in : hidden;
    const int64_t count = std::min(rows * cols, (p.epsilon_milli * (rows + cols) + 500) / 1000);
    Rng rng(seed, static_cast<uint64_t>(s));
    std::vector<std::vector<int32_t>> row_cols(static_cast<size_t>(rows));
    for (int64_t e : rng.sample_sorted(rows * cols, count)) {
      row_cols[static_cast<size_t>(e / cols)].push_back(static_cast<int32_t>(e % cols));
    }
    c.sublayers.push_back(unstructured_sublayer(static_cast<int32_t>(rows),
                                                static_cast<int32_t>(cols), std::move(row_cols)));
  }
  return c;
}

}  // namespace nf::fabric_internal
