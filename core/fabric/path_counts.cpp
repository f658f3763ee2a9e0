#include "core/fabric/path_counts.h"

#include <cassert>

namespace nf {

namespace {

uint64_t saturating_add(uint64_t a, uint64_t b) {
  const uint64_t s = a + b;
  return s < a ? kPathCountMax : s;
}

}  // namespace

PathCounts path_counts(const Cascade& cascade) {
  const auto n_in = static_cast<size_t>(cascade.n_in);
  // current: width x n_in, starting from the identity.
  size_t width = n_in;
  std::vector<uint64_t> current(width * n_in, 0);
  for (size_t i = 0; i < n_in; ++i) current[i * n_in + i] = 1;
  std::vector<uint64_t> next;
  for (const Sublayer& s : cascade.sublayers) {
    const Mask& m = s.mask;
    assert(static_cast<size_t>(m.cols) == width);
    next.assign(static_cast<size_t>(m.rows) * n_in, 0);
    for (int32_t r = 0; r < m.rows; ++r) {
      uint64_t* out = &next[static_cast<size_t>(r) * n_in];
      for (int32_t e = m.row_ptr[static_cast<size_t>(r)]; e < m.row_ptr[static_cast<size_t>(r) + 1];
           ++e) {
        const uint64_t* in =
            &current[static_cast<size_t>(m.col_idx[static_cast<size_t>(e)]) * n_in];
        for (size_t i = 0; i < n_in; ++i) out[i] = saturating_add(out[i], in[i]);
      }
    }
    current.swap(next);
    width = static_cast<size_t>(m.rows);
  }
  assert(width == static_cast<size_t>(cascade.n_out));
  return PathCounts{cascade.n_out, cascade.n_in, std::move(current)};
}

}  // namespace nf
