#pragma once
// provisiond as a Windows service: installing it with the service control manager (SCM),
// starting and stopping it, and running the daemon's body under the SCM with a ProcessLife
// whose ready()/stopping() report SERVICE_RUNNING / SERVICE_STOP_PENDING.
//
// STOP, SHUTDOWN and PRESHUTDOWN all become LifeRequest::Kind::Stop, the same orderly path as
// SIGTERM on Linux; PARAMCHANGE (sc control NAME paramchange) becomes a reload.
#include <windows.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "prov/process_life.h"
#include "prov/result.h"

namespace prov::windows {

struct ServiceSpec {
  std::wstring name;          // the service's key name, e.g. L"provisiond"
  std::wstring display_name;  // shown in services.msc
  std::wstring description;
  std::wstring command_line;  // full command line the SCM starts, executable quoted
  // Time the daemon gets for its orderly stop before Windows shuts down (PRESHUTDOWN).
  std::chrono::milliseconds preshutdown_timeout{60000};
};

// Creates the service: own process, delayed automatic start (plain automatic start where the
// SCM lacks it), restart on failure (after 5 s, 30 s, 60 s; the count resets after a day), the
// preshutdown timeout and the description.
Status install_service(const ServiceSpec& spec);
// Stops the service if it runs (waiting up to `wait`), then deletes it.
Status uninstall_service(const std::wstring& name, std::chrono::milliseconds wait);
// Starts the service and waits until it reports RUNNING (Ok) or STOPPED (the error names its
// exit code), up to `wait`.
Status start_service(const std::wstring& name, std::chrono::milliseconds wait);
// Sends STOP and waits until the service reports STOPPED, up to `wait`.
Status stop_service(const std::wstring& name, std::chrono::milliseconds wait);
// Sends a user-defined control (128..255).
Status control_service(const std::wstring& name, DWORD control);

// The service's state: "stopped", "start pending", "running", "stop pending", ..., or "absent"
// when no such service is installed.
Result<std::string> service_state(const std::wstring& name);

// A user-defined control that takes the PRESHUTDOWN path. Windows delivers PRESHUTDOWN only
// when it shuts down, so tests (and wine, which never delivers it) use this code instead.
inline constexpr DWORD kPreshutdownProbeControl = 200;

// What a service control asks of the daemon: STOP, SHUTDOWN, PRESHUTDOWN and the probe control
// a Stop, PARAMCHANGE a Reload; nullopt for controls the service does not take.
std::optional<LifeRequest> request_for_control(DWORD control);

// Runs `body` as the service `name`: blocks until it has returned and STOPPED has been
// reported, then returns its exit code. Returns nullopt at once when this process was not
// started by the SCM (run it in the console then).
std::optional<int> run_as_service(const std::wstring& name,
                                  const std::function<int(ProcessLife&)>& body);

}  // namespace prov::windows
