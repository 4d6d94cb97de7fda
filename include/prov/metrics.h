#pragma once
// Process-wide Prometheus metrics. Cheap to update from any thread; render() produces the text
// exposition format served at /metrics.
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace prov {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Metrics {
 public:
  static Metrics& global();
  // Declares help text and type once (optional; undeclared names are rendered as untyped).
  void describe(std::string_view name, std::string_view type, std::string_view help);
  void inc(std::string_view name, const Labels& labels = {}, double by = 1);
  void set(std::string_view name, const Labels& labels, double value);  // gauge
  // Histogram in seconds, fixed buckets 5ms .. 60s.
  void observe(std::string_view name, const Labels& labels, double seconds);
  double value(std::string_view name, const Labels& labels = {}) const;  // tests
  std::string render() const;
  void reset();  // tests

 private:
  Metrics() = default;
  struct Impl;
  Impl& impl() const;
};

}  // namespace prov
