#include "cli/stop_signals.h"

#include <signal.h>

#include <atomic>

namespace graphene {
namespace {

std::atomic<void (*)(int)> stop_function{nullptr};
std::atomic<int> signals_received{0};

void OnStopSignal(int) {
  const int count = signals_received.fetch_add(1) + 1;
  if (auto stop = stop_function.load()) stop(count);
}

}  // namespace

void InstallStopHandler(void (*stop)(int count)) {
  stop_function.store(stop);
  struct sigaction action = {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
}

}  // namespace graphene
