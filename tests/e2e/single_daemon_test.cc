// One daemon per state database: a second provisiond started on the state of a running one
// exits 1 at once, naming the first one's PID, and the first keeps working.
#include <gtest/gtest.h>

#include "e2e/daemon_fixture.h"

namespace prov::testing {
namespace {

TEST(SingleDaemon, SecondDaemonOnTheSameStateExitsNamingTheHolder) {
  Daemon first(Slapd::shared());
  first.start();
  DaemonOptions o;
  o.state_path = first.state_path();
  Daemon second(Slapd::shared(), o);
  second.spawn();
  const int status = second.wait_exit(std::chrono::seconds(10));
  const std::string log = read_file(second.log_path());
  EXPECT_EQ(status, 1) << "second daemon log:\n" << log;
  EXPECT_NE(log.find("PID " + std::to_string(first.pid())), std::string::npos) << log;
  EXPECT_NE(log.find(first.state_path()), std::string::npos) << log;

  // The first one is untouched and still applies events.
  EXPECT_EQ(first.send_event("evt-single-1", "HIRE", make_worker("700001", "Ada", "Lovelace"))
                .status,
            202);
  EXPECT_TRUE(eventually([&] { return first.person("700001").has_value(); }));
  EXPECT_EQ(first.stop(), 0);

  // Once the first has stopped, the state is free again.
  Daemon third(Slapd::shared(), o);
  third.start();
  EXPECT_EQ(third.stop(), 0);
}

}  // namespace
}  // namespace prov::testing
