// Escaping for the text formats the programs write by hand: JSON (--json
// output, metrics lines) and XML (SVG figures, the live page).
#pragma once

#include <string>
#include <string_view>

namespace nf {

// A JSON string literal, quotes included: '"' and '\\' escaped, \n \r \t by
// name, other control characters as \u00XX. Bytes >= 0x80 pass through (UTF-8).
std::string json_quote(std::string_view s);

// Text safe inside XML elements and double- or single-quoted attributes.
std::string xml_escape(std::string_view s);

}  // namespace nf
