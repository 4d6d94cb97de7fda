#include "prov/process_life.h"

#include <signal.h>

#include <ctime>

#include "platform/posix/notify.h"

namespace prov {
namespace {

class SignalLife : public ProcessLife {
 public:
  SignalLife() {
    // Signals are taken synchronously by wait(); every other thread inherits the block.
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGTERM);
    sigaddset(&signals_, SIGINT);
    sigaddset(&signals_, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
    signal(SIGPIPE, SIG_IGN);
  }

  LifeRequest wait(std::chrono::milliseconds tick) override {
    timespec ts{static_cast<time_t>(tick.count() / 1000),
                static_cast<long>((tick.count() % 1000) * 1000000)};
    const int sig = sigtimedwait(&signals_, nullptr, &ts);
    if (sig == SIGTERM) return {LifeRequest::Kind::Stop, "SIGTERM"};
    if (sig == SIGINT) return {LifeRequest::Kind::Stop, "SIGINT"};
    if (sig == SIGHUP) return {LifeRequest::Kind::Reload, "SIGHUP"};
    return {};
  }

  void ready() override { sd_notify_state("READY=1"); }
  void stopping() override { sd_notify_state("STOPPING=1"); }

 private:
  sigset_t signals_;
};

}  // namespace

std::unique_ptr<ProcessLife> console_life() { return std::make_unique<SignalLife>(); }

}  // namespace prov
