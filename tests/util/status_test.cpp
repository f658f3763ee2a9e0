#include <doctest/doctest.h>

#include "core/util/status.h"

namespace nf {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) return invalid_argument("value " + std::to_string(v) + " must be positive");
  return v;
}

Result<int> doubled(int v) {
  NF_ASSIGN_OR_RETURN(int x, parse_positive(v));
  return 2 * x;
}

Status check(int v) {
  NF_RETURN_IF_ERROR(parse_positive(v).status());
  return Status::ok();
}

TEST_CASE("Result carries a value or a named failure") {
  CHECK(doubled(4).value() == 8);
  const auto bad = doubled(-3);
  REQUIRE_FALSE(bad.is_ok());
  CHECK(bad.status().code() == StatusCode::kInvalidArgument);
  CHECK(bad.status().to_string() == "invalid_argument: value -3 must be positive");
  CHECK(check(1).is_ok());
  CHECK(check(0).with_context("reading config").message() ==
        "reading config: value 0 must be positive");
}

}  // namespace
}  // namespace nf
