#include "device_agent/footprint.h"

#include <sys/resource.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <cstdio>
#include <cstring>

namespace nf {
namespace {

// Reads "<key>:   1234 kB" from /proc/self/status.
int64_t proc_status_kib(const char* key) {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return -1;
  char line[256];
  int64_t kib = -1;
  const size_t key_len = std::strlen(key);
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, key, key_len) == 0 && line[key_len] == ':') {
      long long v = 0;
      if (std::sscanf(line + key_len + 1, "%lld", &v) == 1) kib = v;
      break;
    }
  }
  std::fclose(f);
  return kib;
}

}  // namespace

int64_t peak_rss_bytes() {
  const int64_t kib = proc_status_kib("VmHWM");
  if (kib >= 0) return kib * 1024;
  struct rusage usage {};
  if (::getrusage(RUSAGE_SELF, &usage) == 0) return static_cast<int64_t>(usage.ru_maxrss) * 1024;
  return 0;
}

int64_t current_rss_bytes() {
  const int64_t kib = proc_status_kib("VmRSS");
  return kib >= 0 ? kib * 1024 : 0;
}

void return_large_blocks_to_system() {
#if defined(__GLIBC__)
  // Below glibc's default (128 KiB, growing with frees): a fixed threshold
  // also stops it from adapting upwards and keeping freed 114 kB arrays.
  mallopt(M_MMAP_THRESHOLD, 64 * 1024);
#endif
}

}  // namespace nf
