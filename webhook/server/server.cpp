#include "server/server.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <optional>
#include <thread>

#include "server/fdlimit.h"
#include "server/frontend.h"
#include "server/logging.h"
#include "server/routes.h"
#include "server/tls.h"

namespace sigv4::server {
namespace {

using spdlog::level::err;
using spdlog::level::info;

// The metrics port's own connection cap: a flood of connections to it can never take the
// descriptors the webhook needs (cpp-httplib, which served it until issue 16, queued every
// connection it accepted).
constexpr std::size_t kMetricsMaxConnections = 64;
// Descriptors the process needs besides connections: stdio, listeners, epoll and eventfds,
// certificate and config reads.
constexpr std::uint64_t kReservedDescriptors = 64;

// Counts listener threads that have returned, so the main thread can wait with a deadline.
struct Finished {
  std::mutex mutex;
  std::condition_variable changed;
  int count = 0;

  void add() {
    {
      std::lock_guard lock(mutex);
      ++count;
    }
    changed.notify_all();
  }
  bool wait_for_all(int expected, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, timeout, [&] { return count >= expected; });
  }
  int get() {
    std::lock_guard lock(mutex);
    return count;
  }
};

sigset_t shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

void use_self_signed(ServerState& state) {
  CertRequest request;
  request.common_name = "sigv4-injector";
  request.dns_names = {"localhost"};
  request.ip_addresses = {"127.0.0.1", "::1"};
  request.days = 30;
  CertBundle bundle = generate_certificates(request);
  state.certs.set(parse_identity(bundle.cert, bundle.key));
  log_event(spdlog::level::warn, "serving a self-signed certificate (local use only)");
}

FrontendOptions frontend_options(const ServeOptions& options) {
  FrontendOptions f;
  f.max_body_bytes = options.max_body_bytes;
  f.max_connections = std::max<std::size_t>(options.max_connections, 1);
  f.keep_alive = std::chrono::seconds(options.keep_alive_timeout_seconds);
  f.request_timeout = std::chrono::seconds(options.request_timeout_seconds);
  return f;
}

// The metrics port: plain HTTP (no setup_tls()) on one loop, the webhook's timeouts and head
// limits, its own cap.
FrontendOptions metrics_options(const ServeOptions& options) {
  FrontendOptions f = frontend_options(options);
  f.listener = Listener::kMetrics;
  f.max_body_bytes = 0;  // bodies are refused before they are read
  f.max_connections = kMetricsMaxConnections;
  f.threads = 1;
  return f;
}

// Raises the soft descriptor limit to the hard one and logs both; warns when the limit is below
// what the connection caps need (the webhook then pauses accepting at the limit, before its
// cap, and idle connections do not give way).
void raise_descriptor_limit(const ServeOptions& options) {
  const FdLimit limit = raise_fd_limit();
  log_event(info, "file descriptor limit",
            {{"soft", limit.soft}, {"hard", limit.hard}, {"raised_from", limit.before}});
  const std::uint64_t needed =
      options.max_connections + kMetricsMaxConnections + kReservedDescriptors;
  if (limit.soft < needed) {
    log_event(spdlog::level::warn,
              "the file descriptor limit is below what --max-connections needs; raise the hard "
              "limit or lower --max-connections",
              {{"limit", limit.soft}, {"needed", needed}});
  }
}

// Waits for SIGTERM/SIGINT, or for a listener to stop on its own. Returns true for a signal.
bool wait_for_signal(Finished& finished) {
  const sigset_t signals = shutdown_signals();
  const timespec tick{0, 100'000'000};
  for (;;) {
    int signal = sigtimedwait(&signals, nullptr, &tick);
    if (signal == SIGTERM || signal == SIGINT) {
      log_event(info, "shutting down", {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});
      return true;
    }
    if (finished.get() > 0) {
      log_event(err, "a listener stopped unexpectedly");
      return false;
    }
  }
}

// Keeps serving for `delay` after the shutdown signal (readiness already 503), so the endpoint
// removal reaches every apiserver before the listeners close; a second signal ends it early.
void drain(std::chrono::milliseconds delay) {
  if (delay.count() <= 0) {
    return;
  }
  log_event(info, "draining: /readyz is 503, still serving until endpoints drop this replica",
            {{"seconds", static_cast<double>(delay.count()) / 1000.0}});
  const sigset_t signals = shutdown_signals();
  const auto deadline = std::chrono::steady_clock::now() + delay;
  for (auto now = std::chrono::steady_clock::now(); now < deadline;
       now = std::chrono::steady_clock::now()) {
    const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - now);
    const timespec wait{static_cast<time_t>(left.count() / 1'000'000'000),
                        static_cast<long>(left.count() % 1'000'000'000)};
    const int signal = sigtimedwait(&signals, nullptr, &wait);
    if (signal == SIGTERM || signal == SIGINT) {
      log_event(info, "second signal: draining cut short");
      return;
    }
  }
}

bool load_state(Reloader& reloader, ServerState& state, const ServeOptions& options) {
  try {
    reloader.load_initial();
    if (options.self_signed) {
      use_self_signed(state);
    }
    return true;
  } catch (const std::exception& error) {
    log_event(err, "cannot start", {{"error", error.what()}});
    return false;
  }
}

std::optional<CertSource> cert_source(const ServeOptions& options) {
  if (options.self_signed) {
    return std::nullopt;
  }
  return CertSource{options.tls_cert_file, options.tls_key_file};
}

// Runs both listeners until a signal; returns the exit code.
int run_listeners(Frontend& webhook, Frontend& metrics, ServerState& state, Reloader& reloader,
                  const ServeOptions& options) {
  Finished finished;
  std::thread webhook_thread([&] {
    webhook.run();
    finished.add();
  });
  std::thread metrics_thread([&] {
    metrics.run();
    finished.add();
  });
  // stop() is a no-op until a listener runs, so a signal must not be taken before that.
  while ((!webhook.running() || !metrics.running()) && finished.get() == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  reloader.start();
  const bool signalled = wait_for_signal(finished);
  state.stopping.store(true);
  if (signalled) {
    drain(options.shutdown_delay);
  }
  webhook.stop();
  metrics.stop();
  log_event(info, "stopped accepting connections; finishing requests in flight");
  reloader.stop();
  if (!finished.wait_for_all(2, options.shutdown_timeout)) {
    log_event(spdlog::level::warn, "shutdown timeout: exiting with connections still open");
    flush_logs();
    std::_Exit(signalled ? EXIT_SUCCESS : EXIT_FAILURE);
  }
  webhook_thread.join();
  metrics_thread.join();
  log_event(info, "stopped");
  return signalled ? EXIT_SUCCESS : EXIT_FAILURE;
}

}  // namespace

int serve(const ServeOptions& options) {
  // Signals are taken by sigtimedwait only: block them before any thread starts.
  const sigset_t signals = shutdown_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  raise_descriptor_limit(options);

  ServerState state;
  Reloader reloader(state, options.config, cert_source(options), options.reload_interval);
  if (!load_state(reloader, state, options)) {
    return EXIT_FAILURE;
  }
  const WebhookRoutes webhook_routes(state, options.json_limits, options.max_body_bytes);
  const MetricsRoutes metrics_routes(state);
  Frontend webhook(state, webhook_routes, frontend_options(options));
  Frontend metrics(state, metrics_routes, metrics_options(options));
  if (!webhook.setup_tls()) {
    log_event(err, "cannot set up TLS");
    return EXIT_FAILURE;
  }

  const ListenAddress bound = webhook.bind(options.listen);
  const ListenAddress metrics_bound = metrics.bind(options.metrics_listen);
  if (bound.port < 0 || metrics_bound.port < 0) {
    log_event(err, "cannot bind",
              {{"listen", to_string(options.listen)},
               {"metrics_listen", to_string(options.metrics_listen)}});
    return EXIT_FAILURE;
  }
  log_event(info, "webhook listening on " + to_string(bound), {{"port", bound.port}});
  log_event(info, "metrics listening on " + to_string(metrics_bound),
            {{"port", metrics_bound.port}});
  return run_listeners(webhook, metrics, state, reloader, options);
}

}  // namespace sigv4::server
