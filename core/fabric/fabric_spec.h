// FabricSpec: the small description from which a cascade's masks are derived.
//
// Every party derives bit-identical masks from the same spec through the
// project's own Rng and integer arithmetic (core/util/rng.h); the spec's
// canonical text plus the masks' hash is a layer's identity.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/fabric/cascade.h"
#include "core/util/status.h"

namespace nf {

enum class FabricKind {
  kDense,              // one dense sublayer
  kLowRank,            // W = U V: two dense sublayers through `rank` hidden units
  kClos,               // C(n, m, r): 3 stages
  kButterfly,          // radix-k butterfly, ceil(log_k N) stages, one path per pair
  kBenes,              // butterfly followed by its mirror, 2L - 1 stages
  kParallelButterfly,  // `copies` butterflies side by side, `copies` paths per pair
  kHypercube,          // i -> i XOR 2^b and i -> i (self-loop), `depth` stages
  kTorus,              // 2-D k x k torus with self-loops, `depth` stages
  kRadixNet,           // RadiX-Net mixed radix (`radices`)
  kRandomFanIn,        // each output picks `fan_in` distinct inputs, `depth` stages
  kErdosRenyi,         // each entry with probability eps (n_in+n_out)/(n_in n_out)
};

// Parameters; each kind reads only its own, 0 (or empty) means "choose
// automatically from the sizes". Meanings are documented in docs/fabrics.md.
struct FabricParams {
  int64_t n = 0;                 // Clos: ingress switch size (inputs per first-stage block)
  int64_t m = 0;                 // Clos: middle switches (paths per pair)
  int64_t r = 0;                 // Clos: ingress/egress switch count
  int64_t radix = 0;             // butterfly, Benes, parallel butterfly
  int64_t copies = 0;            // parallel butterfly
  int64_t depth = 0;             // hypercube, torus, random fan-in, Erdos-Renyi
  int64_t fan_in = 0;            // random fan-in
  int64_t rank = 0;              // low-rank
  int64_t epsilon_milli = 0;     // Erdos-Renyi epsilon x 1000 (integer, so masks stay portable)
  std::vector<int64_t> radices;  // RadiX-Net
  int64_t loopless = 0;          // hypercube: 1 drops the self-loops (a known-bad variant)

  bool operator==(const FabricParams&) const = default;
};

struct FabricSpec {
  FabricKind kind = FabricKind::kDense;
  FabricParams params;
  uint64_t seed = 0;  // used by the random fabrics only

  bool operator==(const FabricSpec&) const = default;
};

// "clos", "butterfly", ...; parse is the inverse.
std::string_view fabric_kind_name(FabricKind kind);
Result<FabricKind> parse_fabric_kind(std::string_view name);

// Canonical text form, e.g. "clos:n=28,m=24,r=28" or "random_fan_in:fan_in=16,depth=3,seed=7".
// Parameters appear in a fixed order and only when non-zero, so equal specs
// give equal text. parse_fabric_spec accepts that form (order-insensitive)
// and rejects unknown keys and bad values with a message naming them.
std::string format_fabric_spec(const FabricSpec& spec);
Result<FabricSpec> parse_fabric_spec(std::string_view text);

// The spec with every automatic (zero) parameter replaced by the value
// build_cascade uses for these sizes, or an error naming the parameter that
// does not fit. build_cascade(resolve_fabric_spec(s)) == build_cascade(s).
Result<FabricSpec> resolve_fabric_spec(const FabricSpec& spec, int32_t n_in, int32_t n_out);

// Whether the kind's masks depend on `seed` (random fan-in, Erdos-Renyi).
bool fabric_kind_is_random(FabricKind kind);

// Derives the cascade for a layer of n_in inputs and n_out outputs.
// Errors name the parameter that does not fit (e.g. a radix of 1).
Result<Cascade> build_cascade(const FabricSpec& spec, int32_t n_in, int32_t n_out);

// 64-bit hash of the masks (sizes, row pointers and column indices of every
// sublayer, in order). Portable across hosts: golden values live in tests.
uint64_t mask_hash(const Cascade& cascade);

}  // namespace nf
