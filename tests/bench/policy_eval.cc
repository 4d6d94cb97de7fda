// Policy evaluation throughput: a generated 50-role policy over synthetic workers.
// Reports workers/s (items_per_second). Goal: >= 200,000 workers/s on one core.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "prov/policy.h"

namespace {

const char* const kDepartments[] = {"Finance", "Accounting", "Sales", "Engineering", "Support",
                                    "Legal",   "Marketing",  "HR",    "Operations",  "IT"};
const char* const kLocations[] = {"Berlin", "Hamburg", "Munich", "London", "Paris", "Madrid"};
const char* const kFirst[] = {"José", "Anna", "Łukasz", "Chloé", "John", "Maria", "Søren", "Zoë"};
const char* const kLast[] = {"Núñez",  "Smith", "Weiß", "Müller",
                             "García", "Øster", "Lee",  "Kowalski"};

// 50 roles mixing every kind of condition the language has.
std::filesystem::path write_policy() {
  const auto path = std::filesystem::temp_directory_path() / "prov_bench_policy.yaml";
  std::ofstream out(path);
  out << "version: 1\n"
         "attributes:\n"
         "  givenName: \"{{ worker.preferredFirstName | default(worker.firstName) }}\"\n"
         "  sn: \"{{ worker.lastName }}\"\n"
         "  cn: \"{{ givenName }} {{ sn }}\"\n"
         "  displayName: \"{{ givenName }} {{ sn }}\"\n"
         "  title: \"{{ worker.jobTitle }}\"\n"
         "  mail: \"{{ username }}@example.com\"\n"
         "username:\n"
         "  candidates:\n"
         "    - \"{{ worker.firstName | first(1) }}{{ worker.lastName }}\"\n"
         "    - \"{{ worker.firstName }}.{{ worker.lastName }}\"\n"
         "    - \"{{ worker.firstName | first(1) }}{{ worker.lastName }}{{ n }}\"\n"
         "  transform: [ascii, lower, alnum]\n"
         "  max_length: 20\n"
         "ou: ou=people\n"
         "roles:\n";
  for (int i = 0; i < 50; ++i) {
    out << "  - name: role" << i << "\n";
    const auto dept = kDepartments[i % 10];
    const auto loc = kLocations[i % 6];
    switch (i % 5) {
      case 0:
        out << "    when: { department: " << dept << " }\n";
        break;
      case 1:
        out << "    when: { department: [" << dept << ", " << kDepartments[(i + 3) % 10] << "] }\n";
        break;
      case 2:
        out << "    when: { all: [ { location: " << loc
            << " }, { not: { jobCode: { prefix: \"INT-\" } } } ] }\n";
        break;
      case 3:
        out << "    when: { tenureDays: { gte: " << (i * 20) << " }, workerType: Employee }\n";
        break;
      case 4:
        out << "    when: { any: [ { costCenter: { suffix: \"" << i % 10
            << "\" } }, { isManager: true } ] }\n";
        break;
    }
    out << "    groups: [group" << i << ", shared" << i % 7 << "]\n";
    if (i % 10 == 0) out << "    entitlements: [license:app" << i << "]\n";
  }
  return path;
}

std::vector<prov::Worker> make_workers(std::size_t n) {
  std::mt19937 rng(42);
  std::vector<prov::Worker> workers;
  workers.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    prov::Worker w;
    w.worker_id = std::to_string(100000 + i);
    w.record = {{"workerId", w.worker_id},
                {"firstName", kFirst[rng() % 8]},
                {"lastName", kLast[rng() % 8]},
                {"department", kDepartments[rng() % 10]},
                {"location", kLocations[rng() % 6]},
                {"jobCode", (rng() % 5 == 0 ? "INT-" : "FIN-") + std::to_string(rng() % 100)},
                {"jobTitle", "Specialist"},
                {"costCenter", "CC-" + std::to_string(rng() % 10000)},
                {"workerType", rng() % 4 == 0 ? "Contractor" : "Employee"},
                {"hireDate", "20" + std::to_string(10 + rng() % 16) + "-0" +
                                 std::to_string(1 + rng() % 9) + "-1" + std::to_string(rng() % 10)},
                {"managerId", "100001"}};
    if (rng() % 3 == 0) w.record["preferredFirstName"] = "Pat";
    workers.push_back(std::move(w));
  }
  return workers;
}

// state.range(0): 1 = with the explanation (previews, `explain`), 0 = account only (bulk
// planning).
void BM_PolicyEvaluate(benchmark::State& state) {
  const auto policy = prov::Policy::load(write_policy());
  const auto workers = make_workers(4096);
  prov::EvalContext ctx;
  ctx.now = *prov::parse_time("2026-12-01");
  ctx.is_manager = [](const std::string& id) { return id.back() == '7'; };
  ctx.username_free = [](const std::string& u) { return u.size() % 3 != 0; };
  ctx.explain = state.range(0) != 0;
  std::size_t i = 0;
  for (auto _ : state) {
    auto ev = policy->evaluate(workers[i++ % workers.size()], ctx);
    benchmark::DoNotOptimize(ev);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["workers/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PolicyEvaluate)->ArgName("explain")->Arg(1)->Arg(0);

}  // namespace

BENCHMARK_MAIN();
