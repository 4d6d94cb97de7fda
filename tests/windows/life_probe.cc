// A small service built on the same service host and ProcessLife as provisiond.exe, so the
// service life can be tested under wine's service control manager:
//   life_probe install NAME LOG   create the service (its command line: life_probe serve NAME LOG)
//   life_probe start|stop|uninstall|query NAME
//   life_probe control NAME CODE  send a user-defined control (200: the PRESHUTDOWN path)
//   life_probe serve NAME LOG     what the SCM runs; in a console it runs until Ctrl+C
// The body logs each step of the daemon's life to LOG, one line each: "starting", "ready",
// "stop: <cause>", "stopped".
#include <windows.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "platform/windows/service_host.h"

namespace {

using namespace std::chrono_literals;
namespace win = prov::windows;

std::wstring wide(const std::string& s) { return std::filesystem::path(s).wstring(); }

int report(const prov::Status& s) {
  if (s.ok()) return 0;
  std::cerr << "life_probe: " << s.error().message << "\n";
  return 1;
}

void log_line(const std::string& log, const std::string& line) {
  // Binary: "\n" line ends, as the test reads them on Linux.
  std::ofstream(log, std::ios::app | std::ios::binary) << line << "\n" << std::flush;
}

int body(const std::string& log, prov::ProcessLife& life) {
  log_line(log, "starting");
  // Logged before RUNNING is reported, so a test that saw RUNNING finds the line.
  log_line(log, "ready");
  life.ready();
  for (;;) {
    const prov::LifeRequest r = life.wait(1s);
    if (r.kind == prov::LifeRequest::Kind::Stop) {
      log_line(log, "stop: " + r.cause);
      break;
    }
    if (r.kind == prov::LifeRequest::Kind::Reload) log_line(log, "reload: " + r.cause);
  }
  life.stopping();
  log_line(log, "stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string cmd = argc > 1 ? argv[1] : "";
  if (argc < 3) {
    std::cerr << "usage: life_probe install|start|stop|uninstall|control|serve NAME [...]\n";
    return 2;
  }
  const std::wstring name = wide(argv[2]);
  if (cmd == "install" && argc == 4) {
    wchar_t self[MAX_PATH];
    GetModuleFileNameW(nullptr, self, MAX_PATH);
    const std::wstring log = std::filesystem::absolute(argv[3]).wstring();
    win::ServiceSpec spec{name, name + L" (provisiond life probe)", L"Tests the service host",
                          L"\"" + std::wstring(self) + L"\" serve " + name + L" \"" + log + L"\""};
    return report(win::install_service(spec));
  }
  if (cmd == "start") return report(win::start_service(name, 30s));
  if (cmd == "stop") return report(win::stop_service(name, 30s));
  if (cmd == "uninstall") return report(win::uninstall_service(name, 30s));
  if (cmd == "query") {
    auto state = win::service_state(name);
    if (!state.ok()) return report(state.error());
    std::cout << *state << "\n";
    return 0;
  }
  if (cmd == "control" && argc == 4)
    return report(win::control_service(name, static_cast<DWORD>(std::stoul(argv[3]))));
  if (cmd == "serve" && argc == 4) {
    const std::string log = argv[3];
    const auto run = [&log](prov::ProcessLife& life) { return body(log, life); };
    if (auto code = win::run_as_service(name, run)) return *code;
    return run(*prov::console_life());
  }
  std::cerr << "life_probe: unknown command " << cmd << "\n";
  return 2;
}
