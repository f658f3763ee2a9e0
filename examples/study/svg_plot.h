// A small SVG plotter for the study's figures: one plot per file, with axes,
// ticks, labels, lines with error bars, scatter points and a legend.
//
// The output is self-contained SVG 1.1 (no scripts, no external fonts), so
// any browser or rsvg-convert renders it. Text is XML-escaped.
#pragma once

#include <string>
#include <vector>

#include "core/util/text_escape.h"

namespace nf::study {

struct SeriesPoint {
  double x = 0;
  double y = 0;
  double y_err = 0;  // half-height of the error bar; 0 draws none
};

enum class SeriesStyle { kLine, kScatter };

struct Series {
  std::string label;  // shown in the legend; empty: not listed
  SeriesStyle style = SeriesStyle::kLine;
  std::vector<SeriesPoint> points;  // lines are drawn in the given order
};

struct PlotOptions {
  std::string title;
  std::string x_label;
  std::string y_label;
  bool log_x = false;  // base-10 axis; every x must then be > 0
  int width = 760;
  int height = 480;
};

// Renders `series` as an SVG document. Axis ranges cover every point and
// error bar with a small margin; ticks are "nice" numbers (1, 2, 5 x 10^k, or
// decades on a log axis). Points with a non-finite coordinate are skipped.
std::string render_svg_plot(const PlotOptions& options, const std::vector<Series>& series);

// XML escaping: nf::xml_escape (core/util/text_escape.h).
using nf::xml_escape;

}  // namespace nf::study
