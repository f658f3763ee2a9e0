// Accuracy-per-round figures (SVG) for nf-sim runs, alone or side by side.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/util/status.h"

namespace nf::sim {

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (round, accuracy in [0, 1])
};

// A self-contained SVG line chart (examples/study/svg_plot.h, the plotter the
// study's figures use): one line per series, a legend, axes with ticks.
// Accuracy is drawn in percent; the y range fits the data.
std::string render_accuracy_svg(const std::vector<Series>& series, const std::string& title);

// Reads a --metrics file (one JSON object per line) into a series named
// after the file: every line with "round" and a non-negative "accuracy" or
// "eval_accuracy" becomes a point. Other lines (failure records, rounds not
// evaluated) are skipped.
Result<Series> read_metrics_series(const std::string& path);

// The number after "key": in a one-line JSON object, if present. Enough for
// the flat objects nf-sim writes; not a JSON parser.
bool find_json_number(const std::string& line, const std::string& key, double& out);

}  // namespace nf::sim
