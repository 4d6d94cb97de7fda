#pragma once
// A gtest fixture with one provisiond started against the shared slapd for each test; on a
// failure the tail of the daemon's log is printed, and the daemon must stop cleanly.
#include <gtest/gtest.h>
#include <signal.h>

#include <iostream>
#include <memory>
#include <string>

#include "e2e/daemon_fixture.h"

namespace prov::testing {

// Prints the tail of the daemon's log when the test failed, then expects a clean stop.
inline void finish_daemon(Daemon& daemon, bool failed) {
  if (failed) {
    std::string out;
    run_command("tail -40 " + daemon.log_path(), &out);
    std::cerr << "provisiond log:\n" << out;
  }
  if (daemon.running()) {
    EXPECT_EQ(daemon.stop(), 0);
  }
}

class RunningDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<Daemon>(Slapd::shared());
    daemon_->start();
  }
  void TearDown() override { finish_daemon(*daemon_, HasFailure()); }

  std::unique_ptr<Daemon> daemon_;
};

// One provisiond against a slapd of the test's own, which the test may freeze (SIGSTOP: the
// server accepts connections and answers nothing) and thaw; it is thawed before the daemon stops.
class OwnSlapdDaemonTest : public ::testing::Test {
 protected:
  virtual DaemonOptions options() const { return {}; }
  void SetUp() override {
    slapd_ = Slapd::start();
    daemon_ = std::make_unique<Daemon>(*slapd_, options());
    daemon_->start();
  }
  void TearDown() override {
    thaw();
    finish_daemon(*daemon_, HasFailure());
  }
  void freeze() { ASSERT_EQ(::kill(slapd_->info().pid, SIGSTOP), 0); }
  void thaw() { ::kill(slapd_->info().pid, SIGCONT); }

  std::unique_ptr<Slapd> slapd_;
  std::unique_ptr<Daemon> daemon_;
};

}  // namespace prov::testing
