#include "e2e/slapd_restart.h"

#include <chrono>
#include <fstream>
#include <stdexcept>
#include <string>

#include "e2e/daemon_fixture.h"

namespace prov::testing {

void restart_slapd(const SlapdInfo& info) {
  // The pid file is removed by slapd on a clean exit; a stale one would make us wait on nothing.
  std::remove((info.dir + "/slapd.pid").c_str());
  std::string out;
  const std::string cmd = "/usr/sbin/slapd -f '" + info.dir + "/slapd.conf' -h '" + info.url +
                          "/ " + info.ldaps_url + "/' >>'" + info.dir + "/slapd.log' 2>&1";
  if (run_command(cmd, &out) != 0) throw std::runtime_error("slapd did not restart: " + out);
  const bool up = eventually(
      [&] {
        return run_command("ldapsearch -x -LLL -H '" + info.url +
                               "/' -b '' -s base -o nettimeout=2 namingContexts",
                           &out) == 0;
      },
      std::chrono::seconds(15));
  if (!up) throw std::runtime_error("restarted slapd does not answer on " + info.url);
  // slapd.sh stop reads DIR/pid: keep it pointing at the running server.
  std::ifstream pid_in(info.dir + "/slapd.pid");
  std::string pid;
  std::getline(pid_in, pid);
  std::ofstream(info.dir + "/pid") << pid << "\n";
}

void stop_restarted_slapd(const SlapdInfo& info) {
  std::string out;
  run_command("'" + slapd_script() + "' stop '" + info.dir + "'", &out);
}

}  // namespace prov::testing
