// provisiond: wires the pieces together and owns process concerns (arguments, stop and reload
// requests and readiness through ProcessLife, orderly shutdown). All provisioning logic lives in
// the engine.
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <iostream>
#include <optional>
#include <thread>

#include "admin/admin.h"
#include "common/private_dir.h"
#include "daemon/missing_secrets.h"
#include "daemon/policy_watch.h"
#include "hr/webhook.h"
#include "prov/config.h"
#include "prov/connector.h"
#include "prov/engine.h"
#include "prov/log.h"
#include "prov/notify.h"
#include "prov/policy.h"
#include "prov/process_life.h"
#include "prov/store.h"
#include "prov/thread_name.h"
#include "sources/source_runner.h"
#include "store/state_lock.h"

namespace {

void usage(std::ostream& out) {
  out << "usage: provisiond --config FILE [--check-config] [--now RFC3339]\n"
         "       provisiond --version\n"
         "  --config FILE    configuration (see docs/configuration.md)\n"
         "  --check-config   validate config and policy, print a summary, exit 0 or 1\n"
         "  --now TIME       start the clock at TIME (testing effective dates only)\n";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace prov;
  // Everything the daemon creates (state database, its WAL and lock, one-time passwords) is for
  // its own user only, whatever umask it was started with.
  umask(077);
  std::string config_path;
  bool check_only = false;
  std::optional<TimePoint> start_at;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--version") {
      std::cout << "provisiond " << PROV_VERSION << "\n";
      return 0;
    } else if (a == "--help" || a == "-h") {
      usage(std::cout);
      return 0;
    } else if (a == "--config" && i + 1 < argc) {
      config_path = argv[++i];
    } else if (a == "--check-config") {
      check_only = true;
    } else if (a == "--now" && i + 1 < argc) {
      start_at = parse_time(argv[++i]);
      if (!start_at) {
        std::cerr << "provisiond: --now: not an RFC 3339 time: " << argv[i] << "\n";
        return 2;
      }
    } else {
      std::cerr << "provisiond: unknown argument: " << a << "\n";
      usage(std::cerr);
      return 2;
    }
  }
  if (config_path.empty()) {
    usage(std::cerr);
    return 2;
  }

  Config config;
  std::shared_ptr<const Policy> policy;
  // Made before the policy is first read: an edit that lands between that read and the main
  // loop is then seen as a change and loaded, not taken for the policy already in force.
  std::optional<PolicyWatch> watch;
  ConnectorRegistry registry;
  register_builtin_connectors(registry);
  // Per target: the planner's look-ups have a connection of their own; each target's executor
  // makes its own for its lock lane and write lanes, so planning the next events overlaps with
  // the directories applying the last ones. `connectors` validate the targets' config at
  // start-up.
  std::vector<std::unique_ptr<DirectoryConnector>> connectors, lookup_connectors;
  std::vector<std::string> target_names;
  // Every unreadable secret file is reported, not just the first (a fresh install has none).
  std::optional<MissingSecrets> missing_secrets(std::in_place);
  try {
    config = load_config(config_path);
    if (!missing_secrets->list().empty()) {
      print_missing_secrets(missing_secrets->list(), std::cerr);
      return 1;
    }
    missing_secrets.reset();
    for (const auto& t : config.targets) target_names.push_back(t.name);
    watch.emplace(config.policy_path, target_names,
                  targets_without_password_folder(config.targets), config.notifications);
    policy = Policy::load(config.policy_path);
    if (auto unknown = unknown_targets(*policy, target_names); !unknown.empty())
      throw PolicyLoadError(std::move(unknown));
    if (auto d = undeliverable_passwords(*policy, targets_without_password_folder(config.targets));
        !d.empty())
      throw PolicyLoadError(std::move(d));
    if (auto unknown = undeliverable_rules(*policy, config.notifications); !unknown.empty())
      throw PolicyLoadError(std::move(unknown));
    for (const auto& t : config.targets) {
      // The folder must be the service user's own. An admin checks the config as root (only
      // root reads the secret files) while the folder already belongs to the service's user:
      // that check is left to the service's start, as that user.
      const bool owner_checked_at_start =
          check_only && geteuid() == 0 && std::filesystem::is_directory(t.password_dir);
      if (!t.password_dir.empty() && !owner_checked_at_start)
        require_private_dir(t.key + ".password_dir", t.password_dir);
      connectors.push_back(registry.create(t));
      lookup_connectors.push_back(registry.create(t));
    }
  } catch (const ConfigError& e) {
    if (missing_secrets) print_missing_secrets(missing_secrets->list(), std::cerr);
    std::cerr << "provisiond: config error: " << e.what() << "\n";
    return 1;
  } catch (const PolicyLoadError& e) {
    for (const auto& d : e.diagnostics()) std::cerr << d.to_string() << "\n";
    std::cerr << "provisiond: policy " << config.policy_path.string() << " is invalid ("
              << e.diagnostics().size() << " problem(s))\n";
    return 1;
  }
  if (check_only) {
    std::cout << "config ok: " << config.file.string() << "\n"
              << "  state:     " << config.state_path.string() << "\n"
              << "  webhook:   " << config.webhook.listen << "\n";
    for (const auto& t : config.targets)
      std::cout << "  " << (t.name == "directory" ? "directory: " : "target:    " + t.name + " ")
                << t.type << " " << t.url << " (tls " << t.tls.mode
                << (t.tls.verify ? ", verified" : ", NOT verified") << ")\n";
    std::cout << "  policy:    " << config.policy_path.string() << " ("
              << policy->managed_groups().size() << " managed groups)\n";
    if (!policy->notification_rules().empty() || !config.notifications.smtp.url.empty())
      std::cout << "  notify:    " << policy->notification_rules().size() << " rule(s); mail "
                << (config.notifications.smtp.url.empty()
                        ? std::string("not configured")
                        : config.notifications.smtp.url + " (tls " +
                              config.notifications.smtp.tls + ")")
                << "; " << config.notifications.webhooks.size() << " webhook(s)\n";
    return 0;
  }

  log::init(config.log_level, config.log_format);
  for (const auto& warning : startup_warnings(config)) log::warn(warning);

  // Before any thread starts: stop and reload requests are taken by this thread alone.
  const std::unique_ptr<ProcessLife> life = console_life();

  std::unique_ptr<Clock> clock;
  if (start_at) {
    clock = std::make_unique<OffsetClock>(*start_at);
    log::warn("clock overridden with --now", {{"now", format_time(clock->now())}});
  } else {
    clock = std::make_unique<SystemClock>();
  }

  std::optional<StateLock> state_lock;  // held until exit: one daemon per state database
  std::unique_ptr<Store> store;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<InboxWriter> inbox;
  std::unique_ptr<HttpServer> webhook, admin, admin_socket;
  std::unique_ptr<SnapshotSources> snapshots;
  std::unique_ptr<RetentionRunner> retention;
  std::unique_ptr<NotifyRunner> notifications;
  std::jthread engine_thread;
  try {
    std::filesystem::create_directories(config.state_path.parent_path());
    state_lock.emplace(StateLock::acquire(config.state_path));
    // Before any connector writes: what a crash left half-delivered is a password nobody has.
    for (const auto& t : config.targets) {
      auto stale = remove_stale_password_files(t);
      if (!stale.ok()) throw ConfigError(t.key + ".password_dir: " + stale.error().message);
      if (*stale > 0)
        log::warn("removed temporary password files left by an earlier crash",
                  {{"count", std::to_string(*stale)}, {"dir", t.password_dir}, {"target", t.name}});
    }
    // The engine's commits are made durable by the ingest writer's syncs and its own when idle
    // (CommitSync::OnRequest): replaying from the inbox covers what a power cut takes back.
    store = Store::open(config.state_path, CommitSync::OnRequest);
    std::vector<DirectoryConnector*> writers;
    for (const auto& c : connectors) writers.push_back(c.get());
    engine = std::make_unique<Engine>(*store, writers, *clock, config, policy);
    for (std::size_t i = 0; i < lookup_connectors.size(); ++i)
      engine->set_lookup_connector(lookup_connectors[i].get(), i);
    engine->start_executor([&registry](const DirectoryConfig& t) { return registry.create(t); });
    Engine* eng = engine.get();
    InboxLimits inbox_limits;
    inbox_limits.high_water = config.webhook.inbox_high_water;
    inbox_limits.commit_max_events = config.state.commit_max_events;
    inbox_limits.commit_max_bytes = config.state.commit_max_bytes;
    inbox = InboxWriter::start(config.state_path, inbox_limits, [eng] { eng->wake(); });
    std::shared_ptr<const SourceMapping> mapping;
    if (!config.mapping_file.empty()) {
      auto m = SourceMapping::load(config.mapping_file);
      if (!m.ok()) throw ConfigError("hr.mapping_file: " + m.error().message);
      mapping = std::make_shared<const SourceMapping>(std::move(m.value()));
    }
    webhook = HttpServer::start(webhook_server_options(config.webhook),
                                make_webhook_handler(config.webhook, *inbox, *clock, mapping,
                                                     zone_or_utc(config.timezone)));
    HttpServerOptions admin_opts;
    admin_opts.listen = config.admin_listen;
    admin_opts.thread_name = "prov-admin";
    // A second serving thread: a long read or reconcile (seconds on a large directory) must not
    // keep /healthz, /readyz and the console waiting.
    admin_opts.threads = 2;
    admin_opts.tls_cert_file = config.admin.tls_cert_file;
    admin_opts.tls_key_file = config.admin.tls_key_file;
    // Loopback operators and metrics scrapers all come from one address: only the total counts.
    admin_opts.max_connections_per_source = admin_opts.max_connections;
    AdminContext admin_ctx;
    admin_ctx.health = [eng] { return eng->health(); };
    admin_ctx.state_path = config.state_path;
    admin_ctx.config = config;
    admin_ctx.policy = [eng] { return eng->policy(); };
    admin_ctx.wake = [eng] { eng->wake(); };
    admin_ctx.auth = std::make_shared<AdminAuth>(config.admin, geteuid());
    admin_ctx.connector = [&registry](const DirectoryConfig& t) { return registry.create(t); };
    const HttpHandler admin_handler = make_admin_handler(std::move(admin_ctx));
    admin = HttpServer::start(admin_opts, admin_handler);
    if (!config.admin.socket.empty()) {
      HttpServerOptions socket_opts = admin_opts;
      socket_opts.listen = "unix:" + config.admin.socket.string();
      socket_opts.tls_cert_file.clear();
      socket_opts.tls_key_file.clear();
      socket_opts.thread_name = "prov-admin-sock";
      admin_socket = HttpServer::start(socket_opts, admin_handler);
    }
    if (!config.sources.empty())
      snapshots = SnapshotSources::start(config.sources, config.state_path, *inbox, *clock);
    engine_thread = std::jthread([eng](std::stop_token st) {
      name_this_thread("prov-engine");
      eng->run(st);
    });
    retention = RetentionRunner::start(config.state_path, config.state.retention, {});
    // Reads what the engine audited; the engine never waits for a mail server.
    notifications = NotifyRunner::start(config.state_path, config.notifications,
                                        [eng] { return eng->policy(); }, *clock);
  } catch (const StateInUse& e) {
    log::error("start-up failed", {{"error", e.what()}});
    std::cerr << "provisiond: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    log::error("start-up failed", {{"error", e.what()}});
    return 1;
  }
  log::info("provisiond started", {{"webhook", config.webhook.listen},
                                   {"webhook_port", std::to_string(webhook->port())},
                                   {"admin", config.admin_listen},
                                   {"admin_port", std::to_string(admin->port())},
                                   {"admin_socket", config.admin.socket.string()},
                                   {"directory", config.default_target().url},
                                   {"targets", std::to_string(config.targets.size())},
                                   {"state", config.state_path.string()}});
  life->ready();

  for (;;) {
    const LifeRequest request = life->wait(std::chrono::seconds(1));
    if (request.kind == LifeRequest::Kind::Stop) {
      log::info("shutting down", {{"signal", request.cause}});
      break;
    }
    const bool reload = request.kind == LifeRequest::Kind::Reload;
    if (reload || watch->changed()) {
      if (auto p = watch->reload(reload ? request.cause : "file changed")) engine->set_policy(p);
    }
  }
  life->stopping();
  // Stop taking events first, then commit what was accepted, then let the engine finish its
  // current transaction.
  webhook->stop();
  if (snapshots) snapshots->stop();
  if (retention) retention->stop();
  if (notifications) notifications->stop();
  inbox->stop();
  engine_thread.request_stop();
  engine_thread.join();
  admin->stop();
  if (admin_socket) admin_socket->stop();
  log::info("provisiond stopped");
  return 0;
}
