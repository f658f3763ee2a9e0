#include "core/fabric/cascade_svg.h"
#include "core/util/text_escape.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

namespace nf {

namespace {

constexpr double kPanelSize = 360;  // display size of the widest layer

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

void put_u32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}

void png_chunk(std::string& out, const char* type, const std::string& data) {
  put_u32(out, static_cast<uint32_t>(data.size()));
  const std::string body = std::string(type, 4) + data;
  out += body;
  const uLong crc =
      crc32(0L, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()));
  put_u32(out, static_cast<uint32_t>(crc));
}

// 8-bit greyscale PNG.
std::string encode_png(const std::vector<uint8_t>& pixels, int width, int height) {
  std::string raw;
  raw.reserve(static_cast<size_t>(height) * (static_cast<size_t>(width) + 1));
  for (int y = 0; y < height; ++y) {
    raw += '\0';  // filter: none
    raw.append(
        reinterpret_cast<const char*>(&pixels[static_cast<size_t>(y) * static_cast<size_t>(width)]),
        static_cast<size_t>(width));
  }
  uLongf packed_size = compressBound(static_cast<uLong>(raw.size()));
  std::string packed(packed_size, '\0');
  compress2(reinterpret_cast<Bytef*>(packed.data()), &packed_size,
            reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()), 9);
  packed.resize(packed_size);

  std::string png = "\x89PNG\r\n\x1a\n";
  std::string header;
  put_u32(header, static_cast<uint32_t>(width));
  put_u32(header, static_cast<uint32_t>(height));
  header += std::string("\x08\x00\x00\x00\x00", 5);  // depth 8, greyscale, deflate, no interlace
  png_chunk(png, "IHDR", header);
  png_chunk(png, "IDAT", packed);
  png_chunk(png, "IEND", "");
  return png;
}

std::string base64(const std::string& bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (static_cast<uint8_t>(bytes[i]) << 16) |
                       (static_cast<uint8_t>(bytes[i + 1]) << 8) |
                       static_cast<uint8_t>(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (i < bytes.size()) {
    uint32_t v = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// The mask as a PNG of ceil(rows / f) x ceil(cols / f) pixels, each pixel
// the share of its f x f entries that are set: white none, black all; any
// set entry gives at least a light grey so isolated edges stay visible.
std::string mask_png(const Mask& m, int f, int* width, int* height) {
  *width = std::max(1, (m.cols + f - 1) / f);
  *height = std::max(1, (m.rows + f - 1) / f);
  std::vector<int32_t> count(static_cast<size_t>(*width) * static_cast<size_t>(*height), 0);
  for (int32_t r = 0; r < m.rows; ++r) {
    for (int32_t e = m.row_ptr[static_cast<size_t>(r)]; e < m.row_ptr[static_cast<size_t>(r) + 1];
         ++e) {
      const int32_t c = m.col_idx[static_cast<size_t>(e)];
      ++count[static_cast<size_t>(r / f) * static_cast<size_t>(*width) +
              static_cast<size_t>(c / f)];
    }
  }
  std::vector<uint8_t> pixels(count.size());
  for (size_t i = 0; i < count.size(); ++i) {
    const double share = static_cast<double>(count[i]) / (f * f);
    pixels[i] = count[i] == 0 ? 255 : static_cast<uint8_t>(std::lround(200.0 * (1.0 - share)));
  }
  return encode_png(pixels, *width, *height);
}

// One column of nodes per layer, one line per edge.
std::string graph_view(const Cascade& c, double top, double* bottom) {
  const std::vector<int32_t> widths = c.widths();
  const int32_t tallest = *std::max_element(widths.begin(), widths.end());
  const double gap_y = 12, gap_x = 140, left = 40;
  auto x_of = [&](size_t layer) { return left + gap_x * static_cast<double>(layer); };
  auto y_of = [&](size_t layer, int32_t node) {
    const double offset = (tallest - widths[layer]) * gap_y / 2;
    return top + 20 + offset + gap_y * node;
  };
  std::string svg = "<g stroke=\"#1f4e79\" stroke-opacity=\"0.35\" stroke-width=\"0.7\">\n";
  for (size_t l = 0; l < c.sublayers.size(); ++l) {
    const Mask& m = c.sublayers[l].mask;
    for (int32_t r = 0; r < m.rows; ++r) {
      for (int32_t e = m.row_ptr[static_cast<size_t>(r)]; e < m.row_ptr[static_cast<size_t>(r) + 1];
           ++e) {
        svg += "<line x1=\"" + fmt(x_of(l)) + "\" y1=\"" +
               fmt(y_of(l, m.col_idx[static_cast<size_t>(e)])) + "\" x2=\"" + fmt(x_of(l + 1)) +
               "\" y2=\"" + fmt(y_of(l + 1, r)) + "\"/>\n";
      }
    }
  }
  svg += "</g>\n<g fill=\"#c0392b\">\n";
  for (size_t l = 0; l < widths.size(); ++l) {
    for (int32_t n = 0; n < widths[l]; ++n) {
      svg += "<circle cx=\"" + fmt(x_of(l)) + "\" cy=\"" + fmt(y_of(l, n)) + "\" r=\"2.5\"/>\n";
    }
    svg += "<text x=\"" + fmt(x_of(l)) + "\" y=\"" + fmt(top + 12) +
           "\" font-size=\"11\" text-anchor=\"middle\" fill=\"#333\">" +
           (l == 0                   ? std::string("in ")
            : l + 1 == widths.size() ? "out "
                                     : "h ") +
           std::to_string(widths[l]) + "</text>\n";
  }
  svg += "</g>\n";
  *bottom = top + 30 + gap_y * tallest;
  return svg;
}

}  // namespace

std::string cascade_svg(const Cascade& cascade, const std::string& title) {
  const std::vector<int32_t> widths = cascade.widths();
  const int32_t widest = *std::max_element(widths.begin(), widths.end());
  const double scale = kPanelSize / widest;  // display pixels per node
  // Nodes per image pixel: at most one image pixel per display pixel, so a
  // viewer never downscales (which would alias thin lines away) and each
  // pixel shows the share of its entries that are set.
  const int pixel_nodes = std::max(1, static_cast<int>(std::ceil(widest / kPanelSize)));
  const double margin = 20, gap = 40, top = 64;

  std::string body;
  double x = margin, panel_bottom = top;
  for (size_t l = 0; l < cascade.sublayers.size(); ++l) {
    const Mask& m = cascade.sublayers[l].mask;
    int w = 0, h = 0;
    const std::string png = mask_png(m, pixel_nodes, &w, &h);
    const double dw = std::max(2.0, m.cols * scale), dh = std::max(2.0, m.rows * scale);
    body += "<text x=\"" + fmt(x) + "\" y=\"" + fmt(top - 22) + "\" font-size=\"12\">M" +
            std::to_string(l + 1) + ": " + std::to_string(m.rows) + " x " + std::to_string(m.cols) +
            "</text>\n";
    body += "<text x=\"" + fmt(x) + "\" y=\"" + fmt(top - 8) +
            "\" font-size=\"11\" fill=\"#555\">" + std::to_string(m.nnz()) + " weights" +
            (cascade.sublayers[l].structure
                 ? ", " + std::to_string(cascade.sublayers[l].structure->blocks.size()) + " blocks"
                 : std::string(", CSR")) +
            "</text>\n";
    body += "<rect x=\"" + fmt(x) + "\" y=\"" + fmt(top) + "\" width=\"" + fmt(dw) +
            "\" height=\"" + fmt(dh) + "\" fill=\"white\" stroke=\"#999\" stroke-width=\"0.5\"/>\n";
    body += "<image x=\"" + fmt(x) + "\" y=\"" + fmt(top) + "\" width=\"" + fmt(dw) +
            "\" height=\"" + fmt(dh) +
            "\" preserveAspectRatio=\"none\" style=\"image-rendering:pixelated\" href=\"data:image/"
            "png;base64," +
            base64(png) + "\"/>\n";
    x += std::max(dw, 160.0) + gap;
    panel_bottom = std::max(panel_bottom, top + dh);
  }
  double height = panel_bottom + margin + 16;
  body += "<text x=\"" + fmt(margin) + "\" y=\"" + fmt(panel_bottom + 18) +
          "\" font-size=\"11\" fill=\"#555\">Masks M1..M" + std::to_string(cascade.depth()) +
          " in cascade order: rows are a sublayer's outputs (top to bottom), columns its inputs "
          "(left to right).</text>\n";
  double width = x;
  if (widest <= kSvgGraphMaxWidth) {
    double bottom = 0;
    body += graph_view(cascade, height + 10, &bottom);
    height = bottom + margin;
    width = std::max(width, 40 + 140.0 * static_cast<double>(widths.size()));
  }
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + fmt(width) +
                    "\" height=\"" + fmt(height) + "\" viewBox=\"0 0 " + fmt(width) + " " +
                    fmt(height) + "\" font-family=\"sans-serif\">\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  svg += "<text x=\"" + fmt(margin) + "\" y=\"22\" font-size=\"15\">" + xml_escape(title) +
         "</text>\n";
  svg += body;
  svg += "</svg>\n";
  return svg;
}

}  // namespace nf
