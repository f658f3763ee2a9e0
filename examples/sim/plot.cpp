#include "examples/sim/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "core/util/file.h"
#include "core/util/text_escape.h"

namespace nf::sim {
namespace {

constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                   "#9467bd", "#8c564b", "#e377c2", "#17becf"};

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// A "nice" tick step (1, 2 or 5 times a power of ten) for about `target` ticks.
double nice_step(double range, int target) {
  const double raw = range / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * mag >= raw) return m * mag;
  }
  return 10 * mag;
}

}  // namespace

std::string render_accuracy_svg(const std::vector<Series>& series, const std::string& title) {
  const double width = 720, height = 440, left = 64, right = 180, top = 40, bottom = 52;
  const double pw = width - left - right, ph = height - top - bottom;
  double x_max = 1, y_min = 100, y_max = 0;
  for (const Series& s : series) {
    for (const auto& [x, y] : s.points) {
      x_max = std::max(x_max, x);
      y_min = std::min(y_min, 100 * y);
      y_max = std::max(y_max, 100 * y);
    }
  }
  if (y_min > y_max) y_min = 0, y_max = 100;
  const double y_step = nice_step(std::max(1.0, y_max - y_min), 6);
  y_min = std::max(0.0, std::floor(y_min / y_step) * y_step);
  y_max = std::min(100.0, std::ceil(y_max / y_step) * y_step);
  if (y_max <= y_min) y_max = y_min + y_step;
  const double x_step = nice_step(x_max, 8);
  auto px = [&](double x) { return left + pw * x / x_max; };
  auto py = [&](double y) { return top + ph * (1 - (100 * y - y_min) / (y_max - y_min)); };

  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
    << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    << "<text x=\"" << left + pw / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">"
    << xml_escape(title) << "</text>\n";
  for (double y = y_min; y <= y_max + 1e-9; y += y_step) {
    const double yy = top + ph * (1 - (y - y_min) / (y_max - y_min));
    o << "<line x1=\"" << left << "\" y1=\"" << yy << "\" x2=\"" << left + pw << "\" y2=\"" << yy
      << "\" stroke=\"#ddd\"/>\n<text x=\"" << left - 6 << "\" y=\"" << yy + 4
      << "\" text-anchor=\"end\">" << fmt(y) << "</text>\n";
  }
  for (double x = 0; x <= x_max + 1e-9; x += x_step) {
    o << "<line x1=\"" << px(x) << "\" y1=\"" << top + ph << "\" x2=\"" << px(x) << "\" y2=\""
      << top + ph + 4 << "\" stroke=\"black\"/>\n<text x=\"" << px(x) << "\" y=\"" << top + ph + 18
      << "\" text-anchor=\"middle\">" << x << "</text>\n";
  }
  o << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << pw << "\" height=\"" << ph
    << "\" fill=\"none\" stroke=\"black\"/>\n"
    << "<text x=\"" << left + pw / 2 << "\" y=\"" << height - 12
    << "\" text-anchor=\"middle\">round</text>\n"
    << "<text transform=\"translate(16," << top + ph / 2
    << ") rotate(-90)\" text-anchor=\"middle\">test accuracy (%)</text>\n";
  for (size_t i = 0; i < series.size(); ++i) {
    const char* color = kColors[i % (sizeof kColors / sizeof kColors[0])];
    o << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"1.8\" points=\"";
    for (const auto& [x, y] : series[i].points) o << px(x) << "," << py(y) << " ";
    o << "\"/>\n";
    const double ly = top + 16 + 18.0 * static_cast<double>(i);
    o << "<line x1=\"" << left + pw + 12 << "\" y1=\"" << ly - 4 << "\" x2=\"" << left + pw + 32
      << "\" y2=\"" << ly - 4 << "\" stroke=\"" << color << "\" stroke-width=\"2\"/>\n"
      << "<text x=\"" << left + pw + 38 << "\" y=\"" << ly << "\">" << xml_escape(series[i].name)
      << "</text>\n";
  }
  o << "</svg>\n";
  return o.str();
}

bool find_json_number(const std::string& line, const std::string& key, double& out) {
  const std::string quoted = "\"" + key + "\":";
  const size_t at = line.find(quoted);
  if (at == std::string::npos) return false;
  const char* begin = line.c_str() + at + quoted.size();
  while (*begin == ' ') ++begin;
  char* end = nullptr;
  const double v = std::strtod(begin, &end);
  if (end == begin) return false;
  out = v;
  return true;
}

Result<Series> read_metrics_series(const std::string& path) {
  NF_ASSIGN_OR_RETURN(std::string text, read_text_file(path));
  Series s;
  const size_t slash = path.find_last_of('/');
  s.name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (s.name.size() > 6 && s.name.ends_with(".jsonl")) s.name.resize(s.name.size() - 6);
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    // nf-sim's own records say "accuracy"; the aggregator's metrics lines "eval_accuracy",
    // negative when the round was not evaluated.
    double round = 0, acc = -1;
    if (find_json_number(line, "round", round) &&
        (find_json_number(line, "accuracy", acc) || find_json_number(line, "eval_accuracy", acc)) &&
        acc >= 0) {
      s.points.emplace_back(round, acc);
    }
  }
  if (s.points.empty()) {
    return invalid_argument("metrics file '" + path +
                            "' has no line with \"round\" and \"accuracy\"");
  }
  return s;
}

}  // namespace nf::sim
