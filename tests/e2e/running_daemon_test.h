#pragma once
// A gtest fixture with one provisiond started against the shared slapd for each test; on a
// failure the tail of the daemon's log is printed, and the daemon must stop cleanly.
#include <gtest/gtest.h>

#include <iostream>
#include <memory>
#include <string>

#include "e2e/daemon_fixture.h"

namespace prov::testing {

class RunningDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    daemon_ = std::make_unique<Daemon>(Slapd::shared());
    daemon_->start();
  }
  void TearDown() override {
    if (HasFailure()) {
      std::string out;
      run_command("tail -40 " + daemon_->log_path(), &out);
      std::cerr << "provisiond log:\n" << out;
    }
    if (daemon_->running()) EXPECT_EQ(daemon_->stop(), 0);
  }

  std::unique_ptr<Daemon> daemon_;
};

}  // namespace prov::testing
