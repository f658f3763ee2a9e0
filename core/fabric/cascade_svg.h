// Draws a cascade's connection pattern as a standalone SVG document.
//
// Every sublayer's mask is drawn as a pixel image (rows = outputs top to
// bottom, columns = inputs left to right; darker = more connections per
// pixel when a pixel covers several entries), side by side in cascade order,
// so a 784 -> 300 Clos stays legible. Cascades whose layers are all at most
// kSvgGraphMaxWidth wide are also drawn as a graph: one column of nodes per
// layer and a line per edge.
#pragma once

#include <string>

#include "core/fabric/cascade.h"

namespace nf {

inline constexpr int kSvgGraphMaxWidth = 64;

// `title` is printed at the top (e.g. the spec text and sizes).
std::string cascade_svg(const Cascade& cascade, const std::string& title);

}  // namespace nf
