#pragma once
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>

// The timing rules of the search cache, as pure functions (unit-tested on their own).
namespace tracker::app::search_policy {

// Jittered time to live: base * (1 + jitter * u), u uniform in [-1, 1], never below 1 ms.
// Entries written together then expire at different moments instead of all at once.
inline std::chrono::milliseconds jittered_ttl(std::chrono::milliseconds base, double jitter, double u) {
  double ms = static_cast<double>(base.count()) * (1.0 + jitter * std::clamp(u, -1.0, 1.0));
  return std::chrono::milliseconds(std::max<std::int64_t>(1, std::llround(ms)));
}

// Probabilistic early refresh ("XFetch", Vattani et al., Optimal Probabilistic Cache
// Stampede Prevention): refresh a still-fresh entry when
//     now - rebuild_ms * beta * ln(r) >= fresh_until,   r uniform in (0, 1].
// -ln(r) is exponentially distributed, so the chance grows as the expiry nears, and
// faster for entries that are slow to rebuild; one request usually refreshes the entry
// before it expires, and the others keep being served from it.
inline bool refresh_early(std::int64_t now_ms, std::int64_t fresh_until_ms, std::int64_t rebuild_ms,
                          double beta, double r) {
  if (now_ms >= fresh_until_ms) return true;
  r = std::clamp(r, 1e-300, 1.0);
  double gap = -static_cast<double>(std::max<std::int64_t>(rebuild_ms, 1)) * beta * std::log(r);
  return static_cast<double>(now_ms) + gap >= static_cast<double>(fresh_until_ms);
}

}  // namespace tracker::app::search_policy
