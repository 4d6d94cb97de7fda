// In a console (provisiond.exe --config FILE): Ctrl+C, Ctrl+Break, closing the window, logoff
// and shutdown all take the orderly stop path, like SIGINT/SIGTERM on POSIX. There is no reload
// signal; the policy file is still watched.
#include <windows.h>

#include "platform/windows/life_queue.h"

namespace prov {
namespace {

LifeQueue* g_console_queue = nullptr;

BOOL WINAPI on_console_control(DWORD type) {
  if (g_console_queue == nullptr) return FALSE;
  switch (type) {
    case CTRL_C_EVENT:
      g_console_queue->push({LifeRequest::Kind::Stop, "Ctrl+C"});
      return TRUE;
    case CTRL_BREAK_EVENT:
      g_console_queue->push({LifeRequest::Kind::Stop, "Ctrl+Break"});
      return TRUE;
    case CTRL_CLOSE_EVENT:
    case CTRL_LOGOFF_EVENT:
    case CTRL_SHUTDOWN_EVENT:
      g_console_queue->push({LifeRequest::Kind::Stop, "console closed"});
      // Windows ends the process when this returns; give the orderly stop its time first.
      Sleep(INFINITE);
      return TRUE;
  }
  return FALSE;
}

class ConsoleLife : public ProcessLife {
 public:
  ConsoleLife() {
    g_console_queue = &queue_;
    SetConsoleCtrlHandler(&on_console_control, TRUE);
  }
  ~ConsoleLife() override {
    SetConsoleCtrlHandler(&on_console_control, FALSE);
    g_console_queue = nullptr;
  }
  LifeRequest wait(std::chrono::milliseconds tick) override { return queue_.wait(tick); }
  void ready() override {}
  void stopping() override {}

 private:
  LifeQueue queue_;
};

}  // namespace

std::unique_ptr<ProcessLife> console_life() { return std::make_unique<ConsoleLife>(); }

}  // namespace prov
