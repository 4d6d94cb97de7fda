#pragma once
// Small helpers the end-to-end benchmarks share: elapsed time, the current time as an HR system
// writes it, and the raw floor (`ldapadd` / `ldapmodify` of an LDIF file, timed).
#include <atomic>
#include <chrono>
#include <functional>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "harness/slapd_fixture.h"
#include "prov/clock.h"

namespace prov::testing {

using SteadyClock = std::chrono::steady_clock;

inline double seconds_since(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

inline double ms_since(SteadyClock::time_point t) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - t).count();
}

inline std::string now_rfc3339() {
  return format_time(
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now()));
}

// An LDAP client tool (ldapadd, ldapmodify, ldapsearch) bound as the service account of `info`.
inline std::string ldap_tool(const SlapdInfo& info, const std::string& tool) {
  return tool + " -x -H " + shell_quote(info.url) + " -D " + shell_quote(info.bind_dn) + " -w " +
         shell_quote(info.bind_pw);
}

// `command` (an LDAP tool with its connection arguments) run over `ldif`, one connection; returns
// the wall time in seconds, or -1 (the tool's output is printed).
inline double timed_ldap(const std::string& command, const std::string& ldif) {
  std::string out;
  const auto t = SteadyClock::now();
  if (const int rc = run_command(command + " -f " + shell_quote(ldif) + " >/dev/null", &out);
      rc != 0) {
    std::cerr << command.substr(0, command.find(' ')) << " -f " << ldif << " failed (exit " << rc
              << "): " << out << "\n";
    return -1;
  }
  return seconds_since(t);
}

inline double timed_ldap(const SlapdInfo& info, const std::string& tool, const std::string& ldif) {
  return timed_ldap(ldap_tool(info, tool), ldif);
}

// An offered load: calls `send(i)` for every i in [0, total) from `threads` threads, call i at
// `start` + i / rate (pacing, so a slow answer never slows the load); returns when all returned.
inline void paced(int rate, int total, int threads, SteadyClock::time_point start,
                  const std::function<void(int)>& send) {
  const auto period = std::chrono::duration<double>(1.0 / rate);
  std::atomic<int> next{0};
  std::vector<std::jthread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < total; i = next++) {
        std::this_thread::sleep_until(
            start + std::chrono::duration_cast<SteadyClock::duration>(period * i));
        send(i);
      }
    });
  }
}

}  // namespace prov::testing
