#include <atomic>
#include <cstdlib>
#include <cstring>

#include "core/engine/kernels.h"

namespace nf::engine {

// Tables of instruction sets this build does not compile.
#if !defined(NF_ENGINE_HAVE_X86_KERNELS)
const KernelTable* avx2_kernel_table() { return nullptr; }
const KernelTable* avx512_kernel_table() { return nullptr; }
#endif
#if !defined(NF_ENGINE_HAVE_NEON_KERNELS)
const KernelTable* neon_kernel_table() { return nullptr; }
#endif

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
    case Isa::kNeon: return "neon";
  }
  return "unknown";
}

const KernelTable* kernels_for(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return scalar_kernel_table();
    case Isa::kAvx2:
#if defined(NF_ENGINE_HAVE_X86_KERNELS)
      if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return avx2_kernel_table();
#endif
      return nullptr;
    case Isa::kAvx512:
#if defined(NF_ENGINE_HAVE_X86_KERNELS)
      if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma")) {
        return avx512_kernel_table();
      }
#endif
      return nullptr;
    case Isa::kNeon: return neon_kernel_table();
  }
  return nullptr;
}

namespace {

std::atomic<int> g_forced{-1};  // -1: not decided yet, 0: no, 1: scalar forced

const KernelTable& best_kernels() {
  static const KernelTable* best = [] {
    for (Isa isa : {Isa::kAvx512, Isa::kAvx2, Isa::kNeon}) {
      if (const KernelTable* t = kernels_for(isa)) return t;
    }
    return scalar_kernel_table();
  }();
  return *best;
}

bool scalar_forced() {
  int f = g_forced.load(std::memory_order_acquire);
  if (f < 0) {
    const char* env = std::getenv("NF_FORCE_SCALAR");
    int from_env = (env != nullptr && std::strcmp(env, "") != 0 && std::strcmp(env, "0") != 0);
    int expected = -1;
    g_forced.compare_exchange_strong(expected, from_env, std::memory_order_acq_rel);
    f = g_forced.load(std::memory_order_acquire);
  }
  return f == 1;
}

}  // namespace

const KernelTable& active_kernels() {
  return scalar_forced() ? *scalar_kernel_table() : best_kernels();
}

void force_scalar(bool on) { g_forced.store(on ? 1 : 0, std::memory_order_release); }

}  // namespace nf::engine
