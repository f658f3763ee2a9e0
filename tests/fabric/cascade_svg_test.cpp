#include <doctest/doctest.h>

#include <string>

#include "core/fabric/cascade_svg.h"
#include "core/fabric/fabric_spec.h"

namespace nf {
namespace {

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

Cascade build(const std::string& text, int32_t n_in, int32_t n_out) {
  auto spec = parse_fabric_spec(text);
  REQUIRE(spec.is_ok());
  auto c = build_cascade(*spec, n_in, n_out);
  REQUIRE(c.is_ok());
  return std::move(c).value();
}

TEST_CASE("SVG draws one mask image per sublayer, and a graph when small") {
  const Cascade big = build("clos:m=12,r=28", 784, 300);
  const std::string svg = cascade_svg(big, "clos <784 -> 300>");
  CHECK(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0) == 0);
  CHECK(svg.find("</svg>") != std::string::npos);
  CHECK(count(svg, "data:image/png;base64,iVBORw0KGgo") == 3);  // PNG signature
  CHECK(svg.find("clos &lt;784 -&gt; 300&gt;") != std::string::npos);
  CHECK(count(svg, "<line ") == 0);  // too wide for a graph

  const Cascade small = build("butterfly", 16, 12);
  const std::string g = cascade_svg(small, "butterfly");
  CHECK(count(g, "data:image/png") == 4);
  CHECK(count(g, "<line ") == static_cast<size_t>(small.nnz()));
  CHECK(count(g, "<circle ") == 16 * 4 + 12);
}

}  // namespace
}  // namespace nf
