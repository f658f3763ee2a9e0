// Minimal JSON text pieces for the programs' --json output.
#pragma once

#include <cmath>
#include <cstdio>
#include <string>

#include "core/util/text_escape.h"

namespace nf::study {

using nf::json_quote;  // core/util/text_escape.h

// A JSON number (null when not finite), up to 6 significant digits.
inline std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

}  // namespace nf::study
