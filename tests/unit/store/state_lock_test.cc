// The daemon's exclusive lock on its state database.
#include "store/state_lock.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "store_fixture.h"

namespace prov {
namespace {

TEST(StateLock, SecondHolderIsRefusedWithThePidOfTheFirst) {
  testing::TempDir dir;
  const auto state = dir.path() / "state.db";
  auto first = StateLock::acquire(state);
  try {
    StateLock::acquire(state);  // a second open file: flock refuses it even in one process
    FAIL() << "the lock was taken twice";
  } catch (const StateInUse& e) {
    EXPECT_EQ(e.holder(), getpid());
    const std::string what = e.what();
    EXPECT_NE(what.find("PID " + std::to_string(getpid())), std::string::npos) << what;
    EXPECT_NE(what.find(state.string()), std::string::npos) << what;
  }
}

TEST(StateLock, ReleasedWhenTheHolderEnds) {
  testing::TempDir dir;
  const auto state = dir.path() / "state.db";
  { auto first = StateLock::acquire(state); }
  EXPECT_NO_THROW(StateLock::acquire(state));
}

TEST(StateLock, ReleasedWhenTheHoldingProcessIsKilled) {
  testing::TempDir dir;
  const auto state = dir.path() / "state.db";
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto lock = StateLock::acquire(state);
    [[maybe_unused]] auto n = write(ready[1], "x", 1);
    pause();
    _exit(0);
  }
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  EXPECT_THROW(StateLock::acquire(state), StateInUse);
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  EXPECT_NO_THROW(StateLock::acquire(state));
  close(ready[0]);
  close(ready[1]);
}

}  // namespace
}  // namespace prov
