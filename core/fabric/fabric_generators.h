// Internal to core/fabric: one resolver and one generator per fabric kind.
//
// resolve_* fills the automatic (zero) parameters for the given sizes and
// validates them, naming the parameter that does not fit. build_* takes
// resolved parameters (a contract: it asserts rather than re-validating) and
// derives the masks with integer arithmetic and nf::Rng only.
#pragma once

#include <cstdint>

#include "core/fabric/cascade.h"
#include "core/fabric/fabric_spec.h"
#include "core/util/status.h"

namespace nf::fabric_internal {

// Largest padded width a fabric may use: keeps every index in int32_t and
// the masks of a mistaken spec from exhausting memory.
inline constexpr int64_t kMaxPaddedWidth = int64_t{1} << 24;

Result<FabricParams> resolve_dense(const FabricParams& p, int32_t n_in, int32_t n_out);
Result<FabricParams> resolve_low_rank(const FabricParams& p, int32_t n_in, int32_t n_out);
Result<FabricParams> resolve_clos(const FabricParams& p, int32_t n_in, int32_t n_out);
Result<FabricParams> resolve_butterfly(FabricKind kind, const FabricParams& p, int32_t n_in,
                                       int32_t n_out);
Result<FabricParams> resolve_hypercube(const FabricParams& p, int32_t n_in, int32_t n_out);
Result<FabricParams> resolve_torus(const FabricParams& p, int32_t n_in, int32_t n_out);
Result<FabricParams> resolve_radix_net(const FabricParams& p, int32_t n_in, int32_t n_out);
Result<FabricParams> resolve_random_fan_in(const FabricParams& p, int32_t n_in, int32_t n_out);
Result<FabricParams> resolve_erdos_renyi(const FabricParams& p, int32_t n_in, int32_t n_out);

Cascade build_dense(int32_t n_in, int32_t n_out);
Cascade build_low_rank(const FabricParams& p, int32_t n_in, int32_t n_out);
Cascade build_clos(const FabricParams& p, int32_t n_in, int32_t n_out);
// kButterfly, kBenes and kParallelButterfly.
Cascade build_butterfly(FabricKind kind, const FabricParams& p, int32_t n_in, int32_t n_out);
Cascade build_hypercube(const FabricParams& p, int32_t n_in, int32_t n_out);
Cascade build_torus(const FabricParams& p, int32_t n_in, int32_t n_out);
Cascade build_radix_net(const FabricParams& p, int32_t n_in, int32_t n_out);
Cascade build_random_fan_in(const FabricParams& p, uint64_t seed, int32_t n_in, int32_t n_out);
Cascade build_erdos_renyi(const FabricParams& p, uint64_t seed, int32_t n_in, int32_t n_out);

// Butterfly geometry shared with the budget solver: the number of digit
// stages L = ceil(log_radix(max(n_in, n_out))) (at least 1) and N = radix^L.
struct ButterflyGeometry {
  int64_t stages = 0;
  int64_t width = 0;
};
ButterflyGeometry butterfly_geometry(int64_t radix, int32_t n_in, int32_t n_out);

// Clos egress side for n_out outputs and at most r egress switches:
// egress switch size and count (the last switch may be partly cropped, none
// is empty).
struct ClosEgress {
  int64_t size = 0;
  int64_t count = 0;
};
ClosEgress clos_egress(int64_t r, int32_t n_out);

}  // namespace nf::fabric_internal
