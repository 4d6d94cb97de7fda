#pragma once
// How the daemon hears that it should stop or reload, and how it tells its supervisor that it is
// ready or stopping. POSIX: SIGTERM/SIGINT/SIGHUP and systemd's notification socket
// (src/platform/posix/process_life.cc). Windows: the service control manager or console control
// events (src/platform/windows/process_life.cc, service_host.h). The daemon's start-up and
// orderly stop are the same code on both; only this face differs.
#include <chrono>
#include <memory>
#include <string>

namespace prov {

struct LifeRequest {
  enum class Kind { None, Stop, Reload };
  Kind kind = Kind::None;
  // What asked, for the log: "SIGTERM", "SIGINT", "SIGHUP", "service stop", "shutdown", ...
  std::string cause;
};

class ProcessLife {
 public:
  virtual ~ProcessLife() = default;
  // The next stop or reload request, or Kind::None once `tick` has passed without one.
  virtual LifeRequest wait(std::chrono::milliseconds tick) = 0;
  // The listeners are up and the state is open (systemd READY=1, SERVICE_RUNNING).
  virtual void ready() = 0;
  // The orderly stop has begun (systemd STOPPING=1, SERVICE_STOP_PENDING).
  virtual void stopping() = 0;
};

// For a process started from a shell, by systemd, or in a Windows console. Call it before any
// thread is started: on POSIX it blocks the stop and reload signals for this thread and every
// thread started after it, so that only wait() takes them.
std::unique_ptr<ProcessLife> console_life();

}  // namespace prov
