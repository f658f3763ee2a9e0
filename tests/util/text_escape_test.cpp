#include <doctest/doctest.h>

#include "core/util/text_escape.h"

namespace nf {
namespace {

TEST_CASE("json_quote escapes quotes, backslashes and control characters") {
  CHECK(json_quote("plain") == "\"plain\"");
  CHECK(json_quote("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(json_quote("a\nb\t\r\x01") == "\"a\\nb\\t\\r\\u0001\"");
  CHECK(json_quote("\xc3\xa9") == "\"\xc3\xa9\"");  // UTF-8 passes through
}

TEST_CASE("xml_escape makes text safe in elements and attributes") {
  CHECK(xml_escape("a<b & c>\"d'") == "a&lt;b &amp; c&gt;&quot;d&apos;");
  CHECK(xml_escape("") == "");
}

}  // namespace
}  // namespace nf
