#pragma once
// Percentiles and rates for the benchmark reports.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace prov::testing {

struct Percentiles {
  std::size_t n = 0;
  double p50 = 0, p95 = 0, p99 = 0, max = 0;
};

inline Percentiles percentiles(std::vector<double> v) {
  Percentiles p;
  p.n = v.size();
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    auto i = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
  };
  p.p50 = at(0.50);
  p.p95 = at(0.95);
  p.p99 = at(0.99);
  p.max = v.back();
  return p;
}

inline std::string describe_ms(const Percentiles& p) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "n=%zu  p50 %.1f ms  p95 %.1f ms  p99 %.1f ms  max %.1f ms", p.n,
                p.p50, p.p95, p.p99, p.max);
  return buf;
}

}  // namespace prov::testing
