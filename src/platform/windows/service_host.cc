#include "platform/windows/service_host.h"

#include <thread>

#include "platform/windows/life_queue.h"
#include "platform/windows/win_error.h"

namespace prov::windows {
namespace {

// SCM handles closed on every path.
struct ScHandle {
  SC_HANDLE h = nullptr;
  explicit ScHandle(SC_HANDLE handle) : h(handle) {}
  ~ScHandle() {
    if (h) CloseServiceHandle(h);
  }
  ScHandle(const ScHandle&) = delete;
  ScHandle& operator=(const ScHandle&) = delete;
  explicit operator bool() const { return h != nullptr; }
};

std::string narrow(const std::wstring& w) {
  if (w.empty()) return {};
  const int n = WideCharToMultiByte(CP_UTF8, 0, w.data(), static_cast<int>(w.size()), nullptr, 0,
                                    nullptr, nullptr);
  std::string out(static_cast<std::size_t>(n), '\0');
  WideCharToMultiByte(CP_UTF8, 0, w.data(), static_cast<int>(w.size()), out.data(), n, nullptr,
                      nullptr);
  return out;
}

Status failed(const std::string& what, DWORD err = GetLastError()) {
  return Error{what + ": " + win_error(err), false};
}

Status open_service(const std::wstring& name, DWORD access, SC_HANDLE* out, ScHandle& scm) {
  scm.h = OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT);
  if (!scm) return failed("cannot open the service control manager");
  *out = OpenServiceW(scm.h, name.c_str(), access);
  if (*out == nullptr) return failed("cannot open the service " + narrow(name));
  return Status::Ok();
}

// Polls the service's state until it is `target` (Ok), STOPPED while waiting for another state
// (an error with its exit code), or `wait` has passed.
Status wait_for_state(SC_HANDLE service, const std::wstring& name, DWORD target,
                      std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    SERVICE_STATUS_PROCESS st{};
    DWORD needed = 0;
    if (!QueryServiceStatusEx(service, SC_STATUS_PROCESS_INFO, reinterpret_cast<LPBYTE>(&st),
                              sizeof st, &needed))
      return failed("cannot query the service " + narrow(name));
    if (st.dwCurrentState == target) return Status::Ok();
    if (st.dwCurrentState == SERVICE_STOPPED)
      return Error{"the service " + narrow(name) + " stopped (exit code " +
                       std::to_string(st.dwWin32ExitCode == ERROR_SERVICE_SPECIFIC_ERROR
                                          ? st.dwServiceSpecificExitCode
                                          : st.dwWin32ExitCode) +
                       "); see its log",
                   false};
    if (std::chrono::steady_clock::now() >= deadline)
      return Error{"the service " + narrow(name) + " did not reach the expected state in " +
                       std::to_string(wait.count()) + " ms",
                   true};
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the SCM has no change event
  }
}

// ---------------------------------------------------------------------------------------------
// Running under the SCM. The SCM calls service_main on a thread of its own and the control
// handler on the dispatcher thread; both reach the one running service through g_running.

class ServiceLife : public ProcessLife {
 public:
  explicit ServiceLife(SERVICE_STATUS_HANDLE handle) : handle_(handle) {}

  LifeRequest wait(std::chrono::milliseconds tick) override { return queue_.wait(tick); }
  void ready() override {
    report(SERVICE_RUNNING,
           SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN | SERVICE_ACCEPT_PRESHUTDOWN |
               SERVICE_ACCEPT_PARAMCHANGE,
           0);
  }
  void stopping() override { report(SERVICE_STOP_PENDING, 0, 60000); }

  void starting() { report(SERVICE_START_PENDING, 0, 120000); }
  void stopped(int exit_code) {
    std::lock_guard l(mu_);
    SERVICE_STATUS st = status_locked(SERVICE_STOPPED, 0, 0);
    if (exit_code != 0) {
      st.dwWin32ExitCode = ERROR_SERVICE_SPECIFIC_ERROR;
      st.dwServiceSpecificExitCode = static_cast<DWORD>(exit_code);
    }
    SetServiceStatus(handle_, &st);
  }

  DWORD control(DWORD code) {
    if (code == SERVICE_CONTROL_INTERROGATE) return NO_ERROR;
    const std::optional<LifeRequest> request = request_for_control(code);
    if (!request) return ERROR_CALL_NOT_IMPLEMENTED;
    // A stop reports STOP_PENDING at once, so the SCM and Windows' shutdown wait for it.
    if (request->kind == LifeRequest::Kind::Stop) stopping();
    queue_.push(*request);
    return NO_ERROR;
  }

 private:
  void report(DWORD state, DWORD accepted, DWORD wait_hint) {
    std::lock_guard l(mu_);
    SERVICE_STATUS st = status_locked(state, accepted, wait_hint);
    SetServiceStatus(handle_, &st);
  }
  SERVICE_STATUS status_locked(DWORD state, DWORD accepted, DWORD wait_hint) {
    SERVICE_STATUS st{};
    st.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    st.dwCurrentState = state;
    st.dwControlsAccepted = accepted;
    st.dwWaitHint = wait_hint;
    st.dwCheckPoint = (state == SERVICE_RUNNING || state == SERVICE_STOPPED) ? 0 : ++checkpoint_;
    return st;
  }

  SERVICE_STATUS_HANDLE handle_;
  std::mutex mu_;
  DWORD checkpoint_ = 0;
  LifeQueue queue_;
};

struct Running {
  std::wstring name;
  const std::function<int(ProcessLife&)>* body = nullptr;
  ServiceLife* life = nullptr;
  int exit_code = 0;
};
Running* g_running = nullptr;

DWORD WINAPI on_control(DWORD code, DWORD, LPVOID, LPVOID) {
  return g_running && g_running->life ? g_running->life->control(code) : ERROR_CALL_NOT_IMPLEMENTED;
}

void WINAPI service_main(DWORD, LPWSTR*) {
  SERVICE_STATUS_HANDLE handle =
      RegisterServiceCtrlHandlerExW(g_running->name.c_str(), &on_control, nullptr);
  if (handle == nullptr) return;
  ServiceLife life(handle);
  life.starting();
  g_running->life = &life;
  int code = 1;
  try {
    code = (*g_running->body)(life);
  } catch (...) {
    code = 1;  // the body logs what it knows; the SCM sees a service-specific failure
  }
  g_running->exit_code = code;
  g_running->life = nullptr;
  life.stopped(code);
}

}  // namespace

std::optional<LifeRequest> request_for_control(DWORD control) {
  switch (control) {
    case SERVICE_CONTROL_STOP:
      return LifeRequest{LifeRequest::Kind::Stop, "service stop"};
    case SERVICE_CONTROL_SHUTDOWN:
      return LifeRequest{LifeRequest::Kind::Stop, "system shutdown"};
    case SERVICE_CONTROL_PRESHUTDOWN:
      return LifeRequest{LifeRequest::Kind::Stop, "system preshutdown"};
    case kPreshutdownProbeControl:
      return LifeRequest{LifeRequest::Kind::Stop, "system preshutdown (probe control)"};
    case SERVICE_CONTROL_PARAMCHANGE:
      return LifeRequest{LifeRequest::Kind::Reload, "service paramchange"};
  }
  return std::nullopt;
}

Status install_service(const ServiceSpec& spec) {
  ScHandle scm(OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CREATE_SERVICE));
  if (!scm) return failed("cannot open the service control manager (run as an administrator)");
  ScHandle service(CreateServiceW(scm.h, spec.name.c_str(), spec.display_name.c_str(),
                                  SERVICE_ALL_ACCESS, SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START,
                                  SERVICE_ERROR_NORMAL, spec.command_line.c_str(), nullptr, nullptr,
                                  nullptr, nullptr, nullptr));
  if (!service) return failed("cannot create the service " + narrow(spec.name));
  std::wstring description = spec.description;
  SERVICE_DESCRIPTIONW desc{description.data()};
  SERVICE_DELAYED_AUTO_START_INFO delayed{TRUE};
  SC_ACTION actions[] = {
      {SC_ACTION_RESTART, 5000}, {SC_ACTION_RESTART, 30000}, {SC_ACTION_RESTART, 60000}};
  SERVICE_FAILURE_ACTIONSW failure{};
  failure.dwResetPeriod = 24 * 60 * 60;
  failure.cActions = 3;
  failure.lpsaActions = actions;
  SERVICE_PRESHUTDOWN_INFO preshutdown{static_cast<DWORD>(spec.preshutdown_timeout.count())};
  const struct {
    DWORD level;
    void* info;
    const char* what;
  } settings[] = {
      {SERVICE_CONFIG_DESCRIPTION, &desc, "description"},
      {SERVICE_CONFIG_FAILURE_ACTIONS, &failure, "restart on failure"},
      {SERVICE_CONFIG_PRESHUTDOWN_INFO, &preshutdown, "preshutdown timeout"},
  };
  for (const auto& s : settings) {
    if (!ChangeServiceConfig2W(service.h, s.level, s.info)) {
      const Status err = failed(std::string("cannot set the service's ") + s.what);
      DeleteService(service.h);
      return err;
    }
  }
  // Delayed start keeps provisiond out of the boot rush. An SCM without it (wine's) leaves the
  // service on plain automatic start, which is still correct.
  if (!ChangeServiceConfig2W(service.h, SERVICE_CONFIG_DELAYED_AUTO_START_INFO, &delayed) &&
      GetLastError() != ERROR_INVALID_LEVEL) {
    const Status err = failed("cannot set the service's delayed automatic start");
    DeleteService(service.h);
    return err;
  }
  return Status::Ok();
}

Status uninstall_service(const std::wstring& name, std::chrono::milliseconds wait) {
  ScHandle scm(nullptr);
  SC_HANDLE raw = nullptr;
  if (Status s = open_service(name, SERVICE_STOP | SERVICE_QUERY_STATUS | DELETE, &raw, scm);
      !s.ok())
    return s;
  ScHandle service(raw);
  SERVICE_STATUS st{};
  if (ControlService(service.h, SERVICE_CONTROL_STOP, &st)) {
    if (Status s = wait_for_state(service.h, name, SERVICE_STOPPED, wait); !s.ok()) return s;
  }
  if (!DeleteService(service.h)) return failed("cannot delete the service " + narrow(name));
  return Status::Ok();
}

Status start_service(const std::wstring& name, std::chrono::milliseconds wait) {
  ScHandle scm(nullptr);
  SC_HANDLE raw = nullptr;
  if (Status s = open_service(name, SERVICE_START | SERVICE_QUERY_STATUS, &raw, scm); !s.ok())
    return s;
  ScHandle service(raw);
  if (!StartServiceW(service.h, 0, nullptr))
    return failed("cannot start the service " + narrow(name));
  return wait_for_state(service.h, name, SERVICE_RUNNING, wait);
}

Status stop_service(const std::wstring& name, std::chrono::milliseconds wait) {
  ScHandle scm(nullptr);
  SC_HANDLE raw = nullptr;
  if (Status s = open_service(name, SERVICE_STOP | SERVICE_QUERY_STATUS, &raw, scm); !s.ok())
    return s;
  ScHandle service(raw);
  SERVICE_STATUS st{};
  if (!ControlService(service.h, SERVICE_CONTROL_STOP, &st))
    return failed("cannot stop the service " + narrow(name));
  return wait_for_state(service.h, name, SERVICE_STOPPED, wait);
}

Status control_service(const std::wstring& name, DWORD control) {
  ScHandle scm(nullptr);
  SC_HANDLE raw = nullptr;
  if (Status s = open_service(name, SERVICE_USER_DEFINED_CONTROL, &raw, scm); !s.ok()) return s;
  ScHandle service(raw);
  SERVICE_STATUS st{};
  if (!ControlService(service.h, control, &st))
    return failed("cannot send control " + std::to_string(control) + " to " + narrow(name));
  return Status::Ok();
}

Result<std::string> service_state(const std::wstring& name) {
  ScHandle scm(OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT));
  if (!scm) return failed("cannot open the service control manager").error();
  ScHandle service(OpenServiceW(scm.h, name.c_str(), SERVICE_QUERY_STATUS));
  if (!service) {
    if (GetLastError() == ERROR_SERVICE_DOES_NOT_EXIST) return std::string("absent");
    return failed("cannot open the service " + narrow(name)).error();
  }
  SERVICE_STATUS_PROCESS st{};
  DWORD needed = 0;
  if (!QueryServiceStatusEx(service.h, SC_STATUS_PROCESS_INFO, reinterpret_cast<LPBYTE>(&st),
                            sizeof st, &needed))
    return failed("cannot query the service " + narrow(name)).error();
  switch (st.dwCurrentState) {
    case SERVICE_STOPPED:
      return std::string("stopped");
    case SERVICE_START_PENDING:
      return std::string("start pending");
    case SERVICE_STOP_PENDING:
      return std::string("stop pending");
    case SERVICE_RUNNING:
      return std::string("running");
    case SERVICE_CONTINUE_PENDING:
      return std::string("continue pending");
    case SERVICE_PAUSE_PENDING:
      return std::string("pause pending");
    case SERVICE_PAUSED:
      return std::string("paused");
  }
  return std::string("unknown");
}

std::optional<int> run_as_service(const std::wstring& name,
                                  const std::function<int(ProcessLife&)>& body) {
  Running running{name, &body, nullptr, 0};
  g_running = &running;
  std::wstring table_name = name;
  SERVICE_TABLE_ENTRYW table[] = {{table_name.data(), &service_main}, {nullptr, nullptr}};
  const BOOL dispatched = StartServiceCtrlDispatcherW(table);
  const DWORD err = dispatched ? NO_ERROR : GetLastError();
  g_running = nullptr;
  if (!dispatched && err == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) return std::nullopt;
  if (!dispatched) return 1;
  return running.exit_code;
}

}  // namespace prov::windows
