// Footprint: what the agent costs its device, for reports and limits.
#pragma once

#include <cstdint>

namespace nf {

// Peak resident set size of this process in bytes (VmHWM of
// /proc/self/status; getrusage's ru_maxrss where /proc is missing), 0 when
// neither is available.
int64_t peak_rss_bytes();
// Current resident set size in bytes (VmRSS), 0 when unavailable.
int64_t current_rss_bytes();

}  // namespace nf
