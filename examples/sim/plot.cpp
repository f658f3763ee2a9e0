#include "examples/sim/plot.h"

#include <cstdlib>
#include <sstream>

#include "core/util/file.h"
#include "examples/study/svg_plot.h"

namespace nf::sim {
std::string render_accuracy_svg(const std::vector<Series>& series, const std::string& title) {
  study::PlotOptions options;
  options.title = title;
  options.x_label = "round";
  options.y_label = "test accuracy (%)";
  std::vector<study::Series> lines;
  for (const Series& s : series) {
    study::Series line;
    line.label = s.name;
    for (const auto& [round, accuracy] : s.points) line.points.push_back({round, 100 * accuracy});
    lines.push_back(std::move(line));
  }
  return study::render_svg_plot(options, lines);
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
