#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "examples/study/rank_stats.h"

using nf::study::average_ranks;
using nf::study::spearman;

TEST_CASE("average ranks share tied positions") {
  const std::vector<double> v = {10, 20, 20, 30};
  CHECK(average_ranks(v) == std::vector<double>{1, 2.5, 2.5, 4});
  const std::vector<double> w = {3, 1, 3, 3};
  CHECK(average_ranks(w) == std::vector<double>{3, 1, 3, 3});
}

TEST_CASE("spearman matches the textbook formula without ties") {
  // 1 - 6 sum d^2 / (n (n^2 - 1)) = 1 - 6 * 4 / 120 = 0.8
  const std::vector<double> x = {1, 2, 3, 4, 5}, y = {2, 1, 4, 3, 5};
  CHECK(spearman(x, y) == doctest::Approx(0.8));
  // Monotone transforms do not matter.
  const std::vector<double> y_exp = {std::exp(2.0), std::exp(1.0), std::exp(4.0), std::exp(3.0),
                                     std::exp(5.0)};
  CHECK(spearman(x, y_exp) == doctest::Approx(0.8));
  const std::vector<double> rev = {50, 40, 30, 20, 10};
  CHECK(spearman(x, rev) == doctest::Approx(-1.0));
}

TEST_CASE("spearman with ties is the Pearson correlation of average ranks") {
  // y ranks {1, 2, 3.5, 5, 3.5}: sxy = 8, sxx = 10, syy = 9.5 -> 8 / sqrt(95).
  const std::vector<double> x = {1, 2, 3, 4, 5}, y = {5, 6, 7, 8, 7};
  CHECK(spearman(x, y) == doctest::Approx(8.0 / std::sqrt(95.0)));
}

TEST_CASE("spearman is undefined for constant, short or mismatched inputs") {
  const std::vector<double> c = {1, 1, 1}, x = {1, 2, 3}, one = {1}, two = {1, 2};
  CHECK(std::isnan(spearman(c, x)));
  CHECK(std::isnan(spearman(one, one)));
  CHECK(std::isnan(spearman(x, two)));
}

TEST_CASE("mean and sample standard deviation") {
  const std::vector<double> v = {2, 4, 4, 4, 5, 5, 7, 9};
  CHECK(nf::study::mean(v) == doctest::Approx(5.0));
  CHECK(nf::study::sample_stddev(v) == doctest::Approx(std::sqrt(32.0 / 7.0)));
  CHECK(nf::study::sample_stddev(std::vector<double>{3}) == 0.0);
}
