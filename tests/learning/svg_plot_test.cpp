#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "examples/study/svg_plot.h"

namespace {

// A minimal well-formedness check: every tag closes in order, attributes are
// quoted, no bare '&' or '<' in text. Returns an empty string when fine.
std::string xml_problem(const std::string& s) {
  std::vector<std::string> stack;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '&') {
      const size_t semi = s.find(';', i);
      if (semi == std::string::npos || semi - i > 6) return "bare & at " + std::to_string(i);
      i = semi + 1;
      continue;
    }
    if (s[i] != '<') {
      ++i;
      continue;
    }
    const size_t end = s.find('>', i);
    if (end == std::string::npos) return "unclosed < at " + std::to_string(i);
    std::string tag = s.substr(i + 1, end - i - 1);
    i = end + 1;
    if (tag.empty()) return "empty tag";
    if (tag[0] == '?' || tag[0] == '!') continue;
    size_t quotes = 0;
    for (char c : tag) quotes += c == '"';
    if (quotes % 2 != 0) return "odd quotes in <" + tag + ">";
    if (tag.find('<') != std::string::npos) return "< inside a tag";
    if (tag[0] == '/') {
      const std::string name = tag.substr(1);
      if (stack.empty() || stack.back() != name) return "mismatched </" + name + ">";
      stack.pop_back();
      continue;
    }
    if (tag.back() == '/') continue;
    stack.push_back(tag.substr(0, tag.find(' ')));
  }
  return stack.empty() ? "" : "unclosed <" + stack.back() + ">";
}

}  // namespace

TEST_CASE("the SVG plot is well-formed, escaped and names its series") {
  nf::study::PlotOptions o;
  o.title = "accuracy <vs> weights & time";
  o.x_label = "weights (%)";
  o.y_label = "accuracy";
  o.log_x = true;
  std::vector<nf::study::Series> series = {
      {"clos \"C(n,m,r)\"",
       nf::study::SeriesStyle::kLine,
       {{2, 80, 0.5}, {10, 87, 0.3}, {50, 89, 0}}},
      {"random", nf::study::SeriesStyle::kScatter, {{5, 84, 0}, {NAN, 1, 0}, {-1, 3, 0}}},
  };
  const std::string svg = nf::study::render_svg_plot(o, series);
  CHECK(svg.rfind("<?xml", 0) == 0);
  CHECK(svg.find("<svg xmlns=\"http://www.w3.org/2000/svg\"") != std::string::npos);
  CHECK(xml_problem(svg) == "");
  CHECK(svg.find("accuracy &lt;vs&gt; weights &amp; time") != std::string::npos);
  CHECK(svg.find("clos &quot;C(n,m,r)&quot;") != std::string::npos);
  CHECK(svg.find("nan") ==
        std::string::npos);  // the NaN point and x <= 0 on a log axis are skipped
  CHECK(svg.find("inf") == std::string::npos);
  CHECK(svg.find("<polyline") != std::string::npos);
}

TEST_CASE("an empty or single-point plot still renders a valid document") {
  nf::study::PlotOptions o;
  CHECK(xml_problem(nf::study::render_svg_plot(o, {})) == "");
  std::vector<nf::study::Series> one = {{"p", nf::study::SeriesStyle::kLine, {{3, 3, 0}}}};
  const std::string svg = nf::study::render_svg_plot(o, one);
  CHECK(xml_problem(svg) == "");
  CHECK(svg.find("nan") == std::string::npos);
}

TEST_CASE("xml_escape covers the five special characters") {
  CHECK(nf::study::xml_escape("a<b>&\"'") == "a&lt;b&gt;&amp;&quot;&apos;");
}
