#include <gtest/gtest.h>

#include "prov/metrics.h"

namespace prov {
namespace {

TEST(Metrics, RendersCountersGaugesAndHistogramsInPrometheusFormat) {
  auto& m = Metrics::global();
  m.reset();
  m.describe("t_events_total", "counter", "events");
  m.inc("t_events_total", {{"type", "HIRE"}});
  m.inc("t_events_total", {{"type", "HIRE"}});
  m.set("t_depth", {}, 7);
  m.observe("t_latency_seconds", {{"kind", "create"}}, 0.02);
  m.observe("t_latency_seconds", {{"kind", "create"}}, 3);
  auto text = m.render();
  EXPECT_NE(text.find("# TYPE t_events_total counter\n"), std::string::npos) << text;
  EXPECT_NE(text.find("t_events_total{type=\"HIRE\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("t_depth 7\n"), std::string::npos) << text;
  EXPECT_NE(text.find("t_latency_seconds_bucket{kind=\"create\",le=\"0.025\"} 1\n"),
            std::string::npos) << text;
  EXPECT_NE(text.find("t_latency_seconds_bucket{kind=\"create\",le=\"+Inf\"} 2\n"),
            std::string::npos) << text;
  EXPECT_NE(text.find("t_latency_seconds_count{kind=\"create\"} 2\n"), std::string::npos);
  EXPECT_EQ(m.value("t_events_total", {{"type", "HIRE"}}), 2);
}

TEST(Metrics, EscapesLabelValues) {
  auto& m = Metrics::global();
  m.reset();
  m.inc("t_x", {{"reason", "a\"b\\c\nd"}});
  EXPECT_NE(m.render().find("t_x{reason=\"a\\\"b\\\\c\\nd\"} 1"), std::string::npos) << m.render();
}

}  // namespace
}  // namespace prov
