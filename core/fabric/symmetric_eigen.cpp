#include "core/fabric/symmetric_eigen.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <functional>

#include "core/util/rng.h"

namespace nf {

std::vector<double> symmetric_eigenvalues(std::span<const double> a_in, int n) {
  assert(a_in.size() == static_cast<size_t>(n) * static_cast<size_t>(n));
  std::vector<double> a(a_in.begin(), a_in.end());
  auto at = [&a, n](int i, int j) -> double& {
    return a[static_cast<size_t>(i) * static_cast<size_t>(n) + static_cast<size_t>(j)];
  };
  double total = 0;
  for (double v : a) total += v * v;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (int i = 0; i < n; ++i) {
      for (int j = i + 1; j < n; ++j) off += at(i, j) * at(i, j);
    }
    if (off <= 1e-30 * total || off == 0) break;
    for (int p = 0; p < n; ++p) {
      for (int q = p + 1; q < n; ++q) {
        const double apq = at(p, q);
        if (apq == 0) continue;
        // Rotation that zeroes a[p][q] (Golub and Van Loan, Alg. 8.4.1).
        const double theta = (at(q, q) - at(p, p)) / (2 * apq);
        const double t =
            (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int k = 0; k < n; ++k) {
          const double akp = at(k, p), akq = at(k, q);
          at(k, p) = c * akp - s * akq;
          at(k, q) = s * akp + c * akq;
        }
        for (int k = 0; k < n; ++k) {
          const double apk = at(p, k), aqk = at(q, k);
          at(p, k) = c * apk - s * aqk;
          at(q, k) = s * apk + c * aqk;
        }
      }
    }
  }
  std::vector<double> eig(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) eig[static_cast<size_t>(i)] = at(i, i);
  std::sort(eig.begin(), eig.end(), std::greater<>());
  return eig;
}

std::vector<double> top_eigenvalues_psd(std::span<const double> a, int n, int k, int iterations) {
  assert(a.size() == static_cast<size_t>(n) * static_cast<size_t>(n));
  k = std::min(k, n);
  if (n <= k + 2) {
    std::vector<double> all = symmetric_eigenvalues(a, n);
    all.resize(static_cast<size_t>(k));
    return all;
  }
  // Two extra vectors speed up convergence of the k wanted ones.
  const int b = k + 2;
  const auto un = static_cast<size_t>(n);
  std::vector<double> v(un * static_cast<size_t>(b)), w(v.size());  // column j at [j * n]
  Rng rng(0x5eed, 0xe16e);
  for (double& x : v) x = static_cast<double>(rng.uniform01()) - 0.5;
  auto multiply = [&] {
    for (int j = 0; j < b; ++j) {
      const double* x = &v[static_cast<size_t>(j) * un];
      double* y = &w[static_cast<size_t>(j) * un];
      for (size_t r = 0; r < un; ++r) {
        const double* row = &a[r * un];
        double s = 0;
        for (size_t c = 0; c < un; ++c) s += row[c] * x[c];
        y[r] = s;
      }
    }
  };
  auto orthonormalize = [&](std::vector<double>& m) {
    for (int j = 0; j < b; ++j) {
      double* x = &m[static_cast<size_t>(j) * un];
      double before = 0;
      for (size_t r = 0; r < un; ++r) before += x[r] * x[r];
      for (int twice = 0; twice < 2; ++twice) {  // re-orthogonalize for stability
        for (int i = 0; i < j; ++i) {
          const double* y = &m[static_cast<size_t>(i) * un];
          double d = 0;
          for (size_t r = 0; r < un; ++r) d += x[r] * y[r];
          for (size_t r = 0; r < un; ++r) x[r] -= d * y[r];
        }
      }
      double norm = 0;
      for (size_t r = 0; r < un; ++r) norm += x[r] * x[r];
      norm = std::sqrt(norm);
      // A column that (nearly) vanishes lies in the span of the earlier ones:
      // the range is exhausted. Normalizing its rounding noise would make it
      // a spurious copy of them, so it is set to zero.
      const bool keep = norm > 1e-9 * std::sqrt(before) && norm > 1e-300;
      for (size_t r = 0; r < un; ++r) x[r] = keep ? x[r] / norm : 0;
    }
  };
  orthonormalize(v);
  for (int it = 0; it < iterations; ++it) {
    multiply();
    v.swap(w);
    orthonormalize(v);
  }
  multiply();
  std::vector<double> t(static_cast<size_t>(b) * static_cast<size_t>(b));
  for (int i = 0; i < b; ++i) {
    for (int j = 0; j < b; ++j) {
      double d = 0;
      for (size_t r = 0; r < un; ++r) {
        d += v[static_cast<size_t>(i) * un + r] * w[static_cast<size_t>(j) * un + r];
      }
      t[static_cast<size_t>(i) * static_cast<size_t>(b) + static_cast<size_t>(j)] = d;
    }
  }
  for (int i = 0; i < b; ++i) {  // symmetrize rounding
    for (int j = i + 1; j < b; ++j) {
      const double m =
          0.5 * (t[static_cast<size_t>(i * b + j)] + t[static_cast<size_t>(j * b + i)]);
      t[static_cast<size_t>(i * b + j)] = t[static_cast<size_t>(j * b + i)] = m;
    }
  }
  std::vector<double> eig = symmetric_eigenvalues(t, b);
  eig.resize(static_cast<size_t>(k));
  return eig;
}

}  // namespace nf
