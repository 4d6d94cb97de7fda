// Runs a policy's own tests through the library, the way `provisionctl policy test` does:
//   run_policy_cases POLICY_PATH [--tests DIR]
#include <iostream>
#include <string>
#include <vector>

#include "cli/policy_commands.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return prov::cmd_policy_test(args, std::cout, std::cerr);
}
