// Test helper: checks a cascade against every promise of cascade.h.
#pragma once

#include <string>

#include "core/fabric/cascade.h"

namespace nf::test {

// Returns "" when the widths chain, every mask is well-formed CSR (sorted,
// unique, in range) and every BlockStructure matches its mask exactly (each
// entry in exactly one dense block, each row in exactly one block, each column
// in at most one); otherwise a description of the first problem.
std::string check_cascade(const Cascade& c);

}  // namespace nf::test
