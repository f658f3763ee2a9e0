#include "core/fabric/fabric_spec.h"

#include <array>
#include <charconv>
#include <string>

#include "core/fabric/fabric_generators.h"
#include "core/util/hash.h"

namespace nf {

namespace {

using fabric_internal::kMaxPaddedWidth;

struct KindInfo {
  FabricKind kind;
  std::string_view name;
  // Parameter keys the kind reads, in canonical order.
  std::vector<std::string_view> keys;
};

// Canonical key order (format_fabric_spec prints in this order).
constexpr std::array<std::string_view, 12> kKeyOrder = {
    "n",       "m",        "r",   "radix", "copies", "fan_in", "depth", "rank", "epsilon_milli",
    "radices", "loopless", "seed"};

const std::vector<KindInfo>& kinds() {
  static const std::vector<KindInfo> k = {
      {FabricKind::kDense, "dense", {}},
      {FabricKind::kLowRank, "low_rank", {"rank"}},
      {FabricKind::kClos, "clos", {"n", "m", "r"}},
      {FabricKind::kButterfly, "butterfly", {"radix"}},
      {FabricKind::kBenes, "benes", {"radix"}},
      {FabricKind::kParallelButterfly, "parallel_butterfly", {"radix", "copies"}},
      {FabricKind::kHypercube, "hypercube", {"depth", "loopless"}},
      {FabricKind::kTorus, "torus", {"depth"}},
      {FabricKind::kRadixNet, "radix_net", {"radices"}},
      {FabricKind::kRandomFanIn, "random_fan_in", {"fan_in", "depth", "seed"}},
      {FabricKind::kErdosRenyi, "erdos_renyi", {"epsilon_milli", "depth", "seed"}},
  };
  return k;
}

const KindInfo& info(FabricKind kind) {
  for (const KindInfo& k : kinds()) {
    if (k.kind == kind) return k;
  }
  assert(false && "FabricKind missing from kinds()");
  return kinds().front();
}

bool takes(const KindInfo& k, std::string_view key) {
  for (std::string_view x : k.keys) {
    if (x == key) return true;
  }
  return false;
}

std::string join_keys(const KindInfo& k) {
  if (k.keys.empty()) return "no parameters";
  std::string s;
  for (std::string_view x : k.keys) {
    if (!s.empty()) s += ", ";
    s += x;
  }
  return s;
}

int64_t* int_field(FabricParams& p, std::string_view key) {
  if (key == "n") return &p.n;
  if (key == "m") return &p.m;
  if (key == "r") return &p.r;
  if (key == "radix") return &p.radix;
  if (key == "copies") return &p.copies;
  if (key == "fan_in") return &p.fan_in;
  if (key == "depth") return &p.depth;
  if (key == "rank") return &p.rank;
  if (key == "epsilon_milli") return &p.epsilon_milli;
  if (key == "loopless") return &p.loopless;
  return nullptr;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Result<uint64_t> parse_u64(std::string_view kind, std::string_view key, std::string_view text) {
  uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    return invalid_argument(std::string(kind) + ": " + std::string(key) + "='" + std::string(text) +
                            "' is not a non-negative integer");
  }
  return v;
}

Result<int64_t> parse_param(std::string_view kind, std::string_view key, std::string_view text) {
  NF_ASSIGN_OR_RETURN(const uint64_t v, parse_u64(kind, key, text));
  if (v > static_cast<uint64_t>(kMaxPaddedWidth) * 1000) {
    return invalid_argument(std::string(kind) + ": " + std::string(key) + "=" + std::string(text) +
                            " is too large");
  }
  return static_cast<int64_t>(v);
}

Result<FabricParams> resolve_params(const FabricSpec& spec, int32_t n_in, int32_t n_out) {
  using namespace fabric_internal;
  const FabricParams& p = spec.params;
  switch (spec.kind) {
    case FabricKind::kDense:
      return resolve_dense(p, n_in, n_out);
    case FabricKind::kLowRank:
      return resolve_low_rank(p, n_in, n_out);
    case FabricKind::kClos:
      return resolve_clos(p, n_in, n_out);
    case FabricKind::kButterfly:
    case FabricKind::kBenes:
    case FabricKind::kParallelButterfly:
      return resolve_butterfly(spec.kind, p, n_in, n_out);
    case FabricKind::kHypercube:
      return resolve_hypercube(p, n_in, n_out);
    case FabricKind::kTorus:
      return resolve_torus(p, n_in, n_out);
    case FabricKind::kRadixNet:
      return resolve_radix_net(p, n_in, n_out);
    case FabricKind::kRandomFanIn:
      return resolve_random_fan_in(p, n_in, n_out);
    case FabricKind::kErdosRenyi:
      return resolve_erdos_renyi(p, n_in, n_out);
  }
  return internal_error("unknown fabric kind");
}

// Parameters a kind does not read must be zero: a spec carrying them would
// format differently from the masks it derives.
Status check_unused_params(const FabricSpec& spec) {
  const KindInfo& k = info(spec.kind);
  FabricParams p = spec.params;
  for (std::string_view key : kKeyOrder) {
    if (takes(k, key)) continue;
    if (key == "radices" && !p.radices.empty()) {
      return invalid_argument(std::string(k.name) + " does not take radices (it takes " +
                              join_keys(k) + ")");
    }
    if (key == "seed" && spec.seed != 0) {
      return invalid_argument(std::string(k.name) + " is not random and takes no seed");
    }
    if (int64_t* f = int_field(p, key); f != nullptr && *f != 0) {
      return invalid_argument(std::string(k.name) + " does not take " + std::string(key) +
                              " (it takes " + join_keys(k) + ")");
    }
  }
  return Status::ok();
}

}  // namespace

std::string_view fabric_kind_name(FabricKind kind) {
  return info(kind).name;
}

Result<FabricKind> parse_fabric_kind(std::string_view name) {
  std::string all;
  for (const KindInfo& k : kinds()) {
    if (k.name == name) return k.kind;
    if (!all.empty()) all += ", ";
    all += k.name;
  }
  return invalid_argument("unknown fabric kind '" + std::string(name) +
                          "' (expected one of: " + all + ")");
}

bool fabric_kind_is_random(FabricKind kind) {
  return kind == FabricKind::kRandomFanIn || kind == FabricKind::kErdosRenyi;
}

std::string format_fabric_spec(const FabricSpec& spec) {
  const KindInfo& k = info(spec.kind);
  std::string out(k.name);
  char sep = ':';
  FabricParams p = spec.params;
  for (std::string_view key : kKeyOrder) {
    std::string value;
    if (key == "radices") {
      for (int64_t r : p.radices) {
        if (!value.empty()) value.push_back('x');
        value.append(std::to_string(r));
      }
    } else if (key == "seed") {
      if (spec.seed != 0) value = std::to_string(spec.seed);
    } else if (int64_t v = *int_field(p, key); v != 0) {
      value = std::to_string(v);
    }
    if (value.empty()) continue;
    out += sep;
    out += key;
    out += '=';
    out += value;
    sep = ',';
  }
  return out;
}

Result<FabricSpec> parse_fabric_spec(std::string_view text) {
  text = trim(text);
  if (text.empty())
    return invalid_argument("empty fabric spec (expected e.g. 'clos:n=28,m=24,r=28')");
  const size_t colon = text.find(':');
  const std::string_view kind_name = trim(text.substr(0, colon));
  NF_ASSIGN_OR_RETURN(const FabricKind kind, parse_fabric_kind(kind_name));
  const KindInfo& k = info(kind);
  FabricSpec spec;
  spec.kind = kind;
  if (colon == std::string_view::npos) return spec;

  std::string_view rest = text.substr(colon + 1);
  std::vector<std::string_view> seen;
  while (true) {
    const size_t comma = rest.find(',');
    const std::string_view item = trim(rest.substr(0, comma));
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return invalid_argument(std::string(k.name) + ": '" + std::string(item) +
                              "' is not key=value");
    }
    const std::string_view key = trim(item.substr(0, eq));
    const std::string_view value = trim(item.substr(eq + 1));
    if (!takes(k, key)) {
      return invalid_argument(std::string(k.name) + ": unknown parameter '" + std::string(key) +
                              "' (" + std::string(k.name) + " takes " + join_keys(k) + ")");
    }
    for (std::string_view s : seen) {
      if (s == key) {
        return invalid_argument(std::string(k.name) + ": parameter '" + std::string(key) +
                                "' given twice");
      }
    }
    seen.push_back(key);
    if (key == "seed") {
      NF_ASSIGN_OR_RETURN(spec.seed, parse_u64(k.name, key, value));
    } else if (key == "radices") {
      std::string_view list = value;
      while (true) {
        const size_t x = list.find('x');
        NF_ASSIGN_OR_RETURN(const int64_t r, parse_param(k.name, key, list.substr(0, x)));
        spec.params.radices.push_back(r);
        if (x == std::string_view::npos) break;
        list = list.substr(x + 1);
      }
    } else {
      NF_ASSIGN_OR_RETURN(*int_field(spec.params, key), parse_param(k.name, key, value));
    }
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return spec;
}

Result<FabricSpec> resolve_fabric_spec(const FabricSpec& spec, int32_t n_in, int32_t n_out) {
  if (n_in < 1 || n_out < 1) {
    return invalid_argument("layer sizes must be positive (n_in=" + std::to_string(n_in) +
                            ", n_out=" + std::to_string(n_out) + ")");
  }
  if (n_in > kMaxPaddedWidth || n_out > kMaxPaddedWidth) {
    return invalid_argument("layer sizes must be at most " + std::to_string(kMaxPaddedWidth) +
                            " (n_in=" + std::to_string(n_in) + ", n_out=" + std::to_string(n_out) +
                            ")");
  }
  NF_RETURN_IF_ERROR(check_unused_params(spec));
  NF_ASSIGN_OR_RETURN(FabricParams params, resolve_params(spec, n_in, n_out));
  FabricSpec out = spec;
  out.params = std::move(params);
  return out;
}

Result<Cascade> build_cascade(const FabricSpec& spec, int32_t n_in, int32_t n_out) {
  using namespace fabric_internal;
  NF_ASSIGN_OR_RETURN(const FabricSpec resolved, resolve_fabric_spec(spec, n_in, n_out));
  const FabricParams& p = resolved.params;
  switch (spec.kind) {
    case FabricKind::kDense:
      return build_dense(n_in, n_out);
    case FabricKind::kLowRank:
      return build_low_rank(p, n_in, n_out);
    case FabricKind::kClos:
      return build_clos(p, n_in, n_out);
    case FabricKind::kButterfly:
    case FabricKind::kBenes:
    case FabricKind::kParallelButterfly:
      return build_butterfly(spec.kind, p, n_in, n_out);
    case FabricKind::kHypercube:
      return build_hypercube(p, n_in, n_out);
    case FabricKind::kTorus:
      return build_torus(p, n_in, n_out);
    case FabricKind::kRadixNet:
      return build_radix_net(p, n_in, n_out);
    case FabricKind::kRandomFanIn:
      return build_random_fan_in(p, spec.seed, n_in, n_out);
    case FabricKind::kErdosRenyi:
      return build_erdos_renyi(p, spec.seed, n_in, n_out);
  }
  return internal_error("unknown fabric kind");
}

uint64_t mask_hash(const Cascade& cascade) {
  Hasher h;
  h.str("nf.cascade.v1").i32(cascade.n_in).i32(cascade.n_out).u64(cascade.sublayers.size());
  for (const Sublayer& s : cascade.sublayers) {
    h.i32(s.mask.rows).i32(s.mask.cols).i32s(s.mask.row_ptr).i32s(s.mask.col_idx);
  }
  return h.digest();
}

}  // namespace nf
