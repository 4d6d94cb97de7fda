// Policy loading: arbitrary YAML given to Policy::load(), which reads a path, so each input is
// written to a file of its own first. Properties: loading either succeeds or throws
// PolicyLoadError (never another exception, never a crash); every diagnostic names the file and
// a line and column >= 1 inside the text and says what is wrong. A policy that loads evaluates
// a fixed worker without crashing, grants only groups it declares as managed, and either picks
// a username or says why it holds.
#include <unistd.h>

#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "fuzz_input.h"
#include "prov/clock.h"
#include "prov/model.h"
#include "prov/policy.h"

namespace {

using prov::fuzz::printable;

const std::filesystem::path& policy_path() {
  static const std::filesystem::path path =
      std::filesystem::temp_directory_path() /
      ("provisiond-policy-fuzz-" + std::to_string(::getpid()) + ".yaml");
  return path;
}

prov::Worker fixed_worker() {
  prov::Worker w;
  w.worker_id = "100234";
  w.record = prov::Json::parse(R"({
    "workerId": "100234", "firstName": "José", "lastName": "Núñez", "preferredFirstName": "Pepe",
    "department": "Finance", "jobTitle": "Senior Accountant", "jobCode": "FIN-ACC-2",
    "location": "Berlin", "country": "DE", "costCenter": "CC-4100", "managerId": "100001",
    "workerType": "Employee", "hireDate": "2024-03-01", "terminationDate": null, "level": 7
  })");
  return w;
}

void evaluate(const prov::Policy& policy) {
  static const prov::Worker worker = fixed_worker();
  prov::EvalContext ctx;
  ctx.now = prov::from_unix_ms(1764547200000);
  // The first candidates are taken, so the ladder has to climb.
  ctx.username_free = [](const std::string& u) { return u != "jnunez" && u != "jose.nunez"; };
  ctx.is_manager = [](const std::string&) { return true; };
  const prov::Evaluation e = policy.evaluate(worker, ctx);
  for (const auto& g : e.account.groups) {
    PROV_FUZZ_CHECK(policy.managed_groups().count(g) == 1,
                    "granted group '" + printable(g) + "' is not managed");
  }
  PROV_FUZZ_CHECK(e.hold_reason.has_value() || !e.account.username.empty(),
                  "no username and no hold reason");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  {
    std::ofstream out(policy_path(), std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!out) prov::fuzz::fail(__FILE__, __LINE__, "write the policy file", policy_path().string());
  }
  const int lines = static_cast<int>(prov::fuzz::count_of(text, "\n")) + 1;

  std::shared_ptr<const prov::Policy> policy;
  try {
    policy = prov::Policy::load(policy_path());
  } catch (const prov::PolicyLoadError& e) {
    PROV_FUZZ_CHECK(!e.diagnostics().empty(), "PolicyLoadError without diagnostics");
    for (const auto& d : e.diagnostics()) {
      const std::string where = d.to_string();
      PROV_FUZZ_CHECK(d.file == policy_path().string(), where);
      PROV_FUZZ_CHECK(d.line >= 1 && d.line <= lines, where);
      PROV_FUZZ_CHECK(d.column >= 1, where);
      PROV_FUZZ_CHECK(!d.message.empty(), where);
    }
    return 0;
  } catch (const std::exception& e) {
    prov::fuzz::fail(__FILE__, __LINE__, "only PolicyLoadError escapes Policy::load", e.what());
  }
  PROV_FUZZ_CHECK(policy != nullptr, "load returned no policy");
  // See template_fuzz.cc: replace() and attributes built from attributes can multiply a value's
  // length; bound how much of that one input may ask for.
  if (prov::fuzz::count_of(text, "replace") == 0 && prov::fuzz::count_of(text, "{{") <= 24) {
    evaluate(*policy);
  }
  return 0;
}
