// ThreadChoice: whether the steps of a training loop split their sections
// between the pool's threads, decided by measuring them.
//
// Which is faster depends on the model and on the machine: a dense layer's
// sections are long enough to pay for handing half of them to another core,
// the sections of a sparse cascade at batch 64 take a few microseconds, and
// on a VM whose cores sit far apart even the dense step can be slower on two
// threads (docs/benchmarks.md). Every `period` steps the loop runs a probe:
// 2 x `probe` steps alternating one thread and all threads; then the faster
// (median step time) until the next probe, so a change of load is followed.
// A Model keeps one across train() calls (ModelImpl::thread_choice).
// Results never depend on the choice: every section computes the same bits
// for any split (ModelImpl).
#pragma once

#include <algorithm>
#include <array>
#include <cassert>

namespace nf::engine {

class ThreadChoice {
 public:
  static constexpr int kMaxProbe = 16;

  explicit ThreadChoice(int period = 256, int probe = 6) : period_(period), probe_(probe) {
    assert(probe >= 1 && probe <= kMaxProbe && period >= 2 * probe);
  }

  // Whether the next step splits its sections.
  bool split() const { return in_probe() ? pos_ % 2 == 1 : split_; }

  // Records the wall time of the step just run, as split() said it would
  // run. `representative` is false for a step that is not like the others
  // (a short last batch): it counts but is not compared.
  void record(double seconds, bool representative = true) {
    if (in_probe() && representative) {
      auto& side = pos_ % 2 == 1 ? split_times_ : single_times_;
      int& count = pos_ % 2 == 1 ? split_count_ : single_count_;
      side[static_cast<size_t>(count++)] = seconds;
    }
    if (++pos_ == 2 * probe_) decide();
    if (pos_ == period_) pos_ = 0;
  }

 private:
  bool in_probe() const { return pos_ < 2 * probe_; }

  void decide() {
    if (single_count_ > 0 && split_count_ > 0) {
      split_ = median(split_times_, split_count_) < median(single_times_, single_count_);
    }
    single_count_ = 0;
    split_count_ = 0;
  }

  static double median(std::array<double, kMaxProbe>& v, int n) {
    std::nth_element(v.begin(), v.begin() + n / 2, v.begin() + n);
    return v[static_cast<size_t>(n / 2)];
  }

  int period_;
  int probe_;
  int pos_ = 0;
  bool split_ = false;
  std::array<double, kMaxProbe> single_times_{}, split_times_{};
  int single_count_ = 0, split_count_ = 0;
};

}  // namespace nf::engine
