#include "prov/metrics.h"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <sstream>

namespace prov {

namespace {
constexpr std::array<double, 14> kBuckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                          1,     2.5,  5,     10,   20,  30,  60};

std::string key_of(const Labels& labels) {
  std::string s;
  for (const auto& [k, v] : labels) {
    if (!s.empty()) s += ',';
    s += k + "=\"";
    for (char c : v) {
      if (c == '"' || c == '\\') s += '\\';
      if (c == '\n') {
        s += "\\n";
        continue;
      }
      s += c;
    }
    s += '"';
  }
  return s;
}

// Shortest text that reads back as the same double ("0.025", not "0.025000000000000001").
std::string num(double v) {
  char buf[32];
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

struct Histogram {
  std::array<std::uint64_t, kBuckets.size()> counts{};
  std::uint64_t count = 0;
  double sum = 0;
};

struct Family {
  std::string type, help;
  std::map<std::string, double> values;         // counters and gauges
  std::map<std::string, Histogram> histograms;  // by label key
};
}  // namespace

struct Metrics::Impl {
  std::mutex mu;
  std::map<std::string, Family, std::less<>> families;
};

Metrics& Metrics::global() {
  static Metrics m;
  return m;
}

Metrics::Impl& Metrics::impl() const {
  static Impl i;
  return i;
}

void Metrics::describe(std::string_view name, std::string_view type, std::string_view help) {
  std::lock_guard l(impl().mu);
  auto& f = impl().families[std::string(name)];
  f.type = type;
  f.help = help;
}

void Metrics::inc(std::string_view name, const Labels& labels, double by) {
  std::lock_guard l(impl().mu);
  auto& f = impl().families[std::string(name)];
  if (f.type.empty()) f.type = "counter";
  f.values[key_of(labels)] += by;
}

void Metrics::set(std::string_view name, const Labels& labels, double value) {
  std::lock_guard l(impl().mu);
  auto& f = impl().families[std::string(name)];
  if (f.type.empty()) f.type = "gauge";
  f.values[key_of(labels)] = value;
}

void Metrics::observe(std::string_view name, const Labels& labels, double seconds) {
  std::lock_guard l(impl().mu);
  auto& f = impl().families[std::string(name)];
  f.type = "histogram";
  auto& h = f.histograms[key_of(labels)];
  for (size_t i = 0; i < kBuckets.size(); ++i)
    if (seconds <= kBuckets[i]) ++h.counts[i];
  ++h.count;
  h.sum += seconds;
}

double Metrics::value(std::string_view name, const Labels& labels) const {
  std::lock_guard l(impl().mu);
  auto it = impl().families.find(name);
  if (it == impl().families.end()) return 0;
  const auto key = key_of(labels);
  if (auto h = it->second.histograms.find(key); h != it->second.histograms.end())
    return static_cast<double>(h->second.count);
  auto v = it->second.values.find(key);
  return v == it->second.values.end() ? 0 : v->second;
}

std::string Metrics::render() const {
  std::lock_guard l(impl().mu);
  std::ostringstream out;
  for (const auto& [name, f] : impl().families) {
    if (!f.help.empty()) out << "# HELP " << name << ' ' << f.help << '\n';
    out << "# TYPE " << name << ' ' << (f.type.empty() ? "untyped" : f.type) << '\n';
    for (const auto& [key, v] : f.values)
      out << name << (key.empty() ? "" : "{" + key + "}") << ' ' << num(v) << '\n';
    for (const auto& [key, h] : f.histograms) {
      std::string sep = key.empty() ? "" : key + ",";
      for (size_t i = 0; i < kBuckets.size(); ++i)
        out << name << "_bucket{" << sep << "le=\"" << num(kBuckets[i]) << "\"} " << h.counts[i]
            << '\n';
      out << name << "_bucket{" << sep << "le=\"+Inf\"} " << h.count << '\n';
      out << name << "_sum" << (key.empty() ? "" : "{" + key + "}") << ' ' << num(h.sum) << '\n';
      out << name << "_count" << (key.empty() ? "" : "{" + key + "}") << ' ' << h.count << '\n';
    }
  }
  return out.str();
}

void Metrics::reset() {
  std::lock_guard l(impl().mu);
  impl().families.clear();
}

}  // namespace prov
