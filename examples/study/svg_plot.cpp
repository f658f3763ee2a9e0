#include "examples/study/svg_plot.h"
#include "core/util/text_escape.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

namespace nf::study {

namespace {

// Okabe-Ito colours (without its yellow, unreadable on white) then a few
// more, cycled per series.
constexpr const char* kColours[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                    "#E69F00", "#56B4E9", "#000000", "#6A3D9A",
                                    "#999999", "#8C564B", "#B15928", "#17BECF"};
constexpr int kNumColours = sizeof(kColours) / sizeof(kColours[0]);

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", v);
  return buf;
}

// A tick label without trailing zeros: 0.5, 2, 1e+05 for very large values.
std::string tick_label(double v) {
  if (std::fabs(v) < 1e-12) return "0";
  char buf[32];
  if (std::fabs(v) >= 1e5 || std::fabs(v) < 1e-3) {
    std::snprintf(buf, sizeof(buf), "%.0e", v);
  } else {
    std::snprintf(buf, sizeof(buf), "%.6g", v);
  }
  return buf;
}

// Step of about `range / target` rounded to 1, 2 or 5 x 10^k.
double nice_step(double range, int target) {
  const double raw = range / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double r = raw / mag;
  const double nice = r < 1.5 ? 1 : (r < 3.5 ? 2 : (r < 7.5 ? 5 : 10));
  return nice * mag;
}

struct Axis {
  double lo = 0, hi = 1;  // in plotted units (log10 of x on a log axis)
  bool log = false;
  std::vector<double> ticks;  // plotted units
};

Axis make_axis(double lo, double hi, bool log) {
  Axis a;
  a.log = log;
  if (log) {
    lo = std::log10(lo);
    hi = std::log10(hi);
  }
  if (!(hi > lo)) {
    const double pad = lo == 0 ? 1.0 : std::fabs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const double margin = (hi - lo) * 0.05;
  a.lo = lo - margin;
  a.hi = hi + margin;
  if (log) {
    const double span = a.hi - a.lo;
    if (span >= 1.0) {
      for (double d = std::ceil(a.lo); d <= a.hi; d += 1) a.ticks.push_back(d);
      // Within few decades add 2x and 5x ticks too.
      if (span < 3.0) {
        for (double d = std::floor(a.lo); d <= a.hi; d += 1) {
          for (double m : {2.0, 5.0}) {
            const double t = d + std::log10(m);
            if (t >= a.lo && t <= a.hi) a.ticks.push_back(t);
          }
        }
      }
    }
    if (a.ticks.size() < 3) {
      // Less than a decade: nice steps in linear units, placed on the log axis.
      const double vlo = std::pow(10.0, a.lo), vhi = std::pow(10.0, a.hi);
      const double step = nice_step(vhi - vlo, 5);
      a.ticks.clear();
      for (double v = std::ceil(vlo / step) * step; v <= vhi; v += step) {
        if (v > 0) a.ticks.push_back(std::log10(v));
      }
    }
    std::sort(a.ticks.begin(), a.ticks.end());
  } else {
    const double step = nice_step(a.hi - a.lo, 6);
    for (double v = std::ceil(a.lo / step) * step; v <= a.hi + step * 1e-9; v += step) {
      a.ticks.push_back(std::fabs(v) < step * 1e-9 ? 0.0 : v);
    }
  }
  return a;
}

}  // namespace

std::string render_svg_plot(const PlotOptions& options, const std::vector<Series>& series) {
  const double inf = std::numeric_limits<double>::infinity();
  double x_lo = inf, x_hi = -inf, y_lo = inf, y_hi = -inf;
  auto usable = [&](const SeriesPoint& p) {
    return std::isfinite(p.x) && std::isfinite(p.y) && std::isfinite(p.y_err) &&
           (!options.log_x || p.x > 0);
  };
  for (const Series& s : series) {
    for (const SeriesPoint& p : s.points) {
      if (!usable(p)) continue;
      x_lo = std::min(x_lo, p.x);
      x_hi = std::max(x_hi, p.x);
      y_lo = std::min(y_lo, p.y - std::fabs(p.y_err));
      y_hi = std::max(y_hi, p.y + std::fabs(p.y_err));
    }
  }
  if (!std::isfinite(x_lo)) {
    x_lo = options.log_x ? 1 : 0;
    x_hi = options.log_x ? 10 : 1;
    y_lo = 0;
    y_hi = 1;
  }
  const Axis ax = make_axis(x_lo, x_hi, options.log_x);
  const Axis ay = make_axis(y_lo, y_hi, false);

  const int w = options.width, h = options.height;
  // The legend sits right of the plot: room for its longest label (about 7
  // pixels a character at 12 px).
  size_t longest = 0;
  for (const Series& se : series) longest = std::max(longest, se.label.size());
  const double left = 72, top = 40, bottom = 58;
  const double right = longest == 0 ? 24.0 : 48.0 + 7.0 * static_cast<double>(longest);
  const double pw = w - left - right, ph = h - top - bottom;
  auto px = [&](double x) {
    const double u = options.log_x ? std::log10(x) : x;
    return left + (u - ax.lo) / (ax.hi - ax.lo) * pw;
  };
  auto px_u = [&](double u) { return left + (u - ax.lo) / (ax.hi - ax.lo) * pw; };
  auto py = [&](double y) { return top + ph - (y - ay.lo) / (ay.hi - ay.lo) * ph; };

  std::string s;
  s += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" + std::to_string(w) +
       "\" height=\"" + std::to_string(h) + "\" viewBox=\"0 0 " + std::to_string(w) + " " +
       std::to_string(h) + "\" font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"12\">\n";
  s += "<rect x=\"0\" y=\"0\" width=\"" + std::to_string(w) + "\" height=\"" + std::to_string(h) +
       "\" fill=\"white\"/>\n";
  s += "<text x=\"" + fmt(left + pw / 2) +
       "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">" +
       xml_escape(options.title) + "</text>\n";

  // Grid and ticks.
  s += "<g stroke=\"#e0e0e0\" stroke-width=\"1\">\n";
  for (double t : ax.ticks) {
    s += "<line x1=\"" + fmt(px_u(t)) + "\" y1=\"" + fmt(top) + "\" x2=\"" + fmt(px_u(t)) +
         "\" y2=\"" + fmt(top + ph) + "\"/>\n";
  }
  for (double t : ay.ticks) {
    s += "<line x1=\"" + fmt(left) + "\" y1=\"" + fmt(py(t)) + "\" x2=\"" + fmt(left + pw) +
         "\" y2=\"" + fmt(py(t)) + "\"/>\n";
  }
  s += "</g>\n";
  s += "<rect x=\"" + fmt(left) + "\" y=\"" + fmt(top) + "\" width=\"" + fmt(pw) + "\" height=\"" +
       fmt(ph) + "\" fill=\"none\" stroke=\"black\" stroke-width=\"1\"/>\n";
  s += "<g font-size=\"11\">\n";
  for (double t : ax.ticks) {
    const double v = options.log_x ? std::pow(10.0, t) : t;
    s += "<line x1=\"" + fmt(px_u(t)) + "\" y1=\"" + fmt(top + ph) + "\" x2=\"" + fmt(px_u(t)) +
         "\" y2=\"" + fmt(top + ph + 5) + "\" stroke=\"black\"/>\n";
    s += "<text x=\"" + fmt(px_u(t)) + "\" y=\"" + fmt(top + ph + 18) +
         "\" text-anchor=\"middle\">" + xml_escape(tick_label(v)) + "</text>\n";
  }
  for (double t : ay.ticks) {
    s += "<line x1=\"" + fmt(left - 5) + "\" y1=\"" + fmt(py(t)) + "\" x2=\"" + fmt(left) +
         "\" y2=\"" + fmt(py(t)) + "\" stroke=\"black\"/>\n";
    s += "<text x=\"" + fmt(left - 8) + "\" y=\"" + fmt(py(t) + 4) + "\" text-anchor=\"end\">" +
         xml_escape(tick_label(t)) + "</text>\n";
  }
  s += "</g>\n";
  s += "<text x=\"" + fmt(left + pw / 2) + "\" y=\"" + fmt(h - 14.0) +
       "\" text-anchor=\"middle\">" + xml_escape(options.x_label) + "</text>\n";
  s += "<text x=\"18\" y=\"" + fmt(top + ph / 2) +
       "\" text-anchor=\"middle\" transform=\"rotate(-90 18 " + fmt(top + ph / 2) + ")\">" +
       xml_escape(options.y_label) + "</text>\n";

  // Data.
  for (size_t i = 0; i < series.size(); ++i) {
    const Series& se = series[i];
    const std::string colour = kColours[i % kNumColours];
    std::vector<SeriesPoint> pts;
    for (const SeriesPoint& p : se.points) {
      if (usable(p)) pts.push_back(p);
    }
    s += "<g stroke=\"" + colour + "\" fill=\"" + colour + "\">\n";
    if (se.style == SeriesStyle::kLine && pts.size() > 1) {
      s += "<polyline fill=\"none\" stroke-width=\"1.8\" points=\"";
      for (const SeriesPoint& p : pts) s += fmt(px(p.x)) + "," + fmt(py(p.y)) + " ";
      s += "\"/>\n";
    }
    for (const SeriesPoint& p : pts) {
      if (p.y_err != 0) {
        const double e = std::fabs(p.y_err);
        s += "<line stroke-width=\"1\" x1=\"" + fmt(px(p.x)) + "\" y1=\"" + fmt(py(p.y - e)) +
             "\" x2=\"" + fmt(px(p.x)) + "\" y2=\"" + fmt(py(p.y + e)) + "\"/>\n";
        for (double yy : {p.y - e, p.y + e}) {
          s += "<line stroke-width=\"1\" x1=\"" + fmt(px(p.x) - 3) + "\" y1=\"" + fmt(py(yy)) +
               "\" x2=\"" + fmt(px(p.x) + 3) + "\" y2=\"" + fmt(py(yy)) + "\"/>\n";
        }
      }
      const double r = se.style == SeriesStyle::kScatter ? 3.5 : 2.8;
      s += "<circle cx=\"" + fmt(px(p.x)) + "\" cy=\"" + fmt(py(p.y)) + "\" r=\"" + fmt(r) +
           "\" fill-opacity=\"" + (se.style == SeriesStyle::kScatter ? "0.7" : "1") + "\"/>\n";
    }
    s += "</g>\n";
  }

  // Legend, right of the plot area.
  double ly = top + 8;
  for (size_t i = 0; i < series.size(); ++i) {
    if (series[i].label.empty()) continue;
    const std::string colour = kColours[i % kNumColours];
    const double lx = left + pw + 14;
    if (series[i].style == SeriesStyle::kLine) {
      s += "<line x1=\"" + fmt(lx) + "\" y1=\"" + fmt(ly) + "\" x2=\"" + fmt(lx + 22) + "\" y2=\"" +
           fmt(ly) + "\" stroke=\"" + colour + "\" stroke-width=\"2\"/>\n";
    }
    s += "<circle cx=\"" + fmt(lx + 11) + "\" cy=\"" + fmt(ly) + "\" r=\"3.5\" fill=\"" + colour +
         "\"/>\n";
    s += "<text x=\"" + fmt(lx + 28) + "\" y=\"" + fmt(ly + 4) + "\">" +
         xml_escape(series[i].label) + "</text>\n";
    ly += 18;
  }
  s += "</svg>\n";
  return s;
}

}  // namespace nf::study
