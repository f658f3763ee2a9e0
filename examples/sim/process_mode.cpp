#include "examples/sim/process_mode.h"

#include <cstdio>

namespace nf::sim {

int run_process_mode(const SimOptions&, const char*) {
  std::fprintf(stderr, "nf-sim: --processes is not available in this build yet\n");
  return 2;
}

}  // namespace nf::sim
