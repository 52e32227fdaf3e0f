#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/admission.h"
#include "server/address.h"
#include "server/http.h"
#include "server/state.h"

namespace sigv4::server {

// Limits and timeouts of the webhook's HTTPS front end.
struct FrontendOptions {
  std::size_t max_body_bytes = std::size_t{4} << 20;
  JsonLimits json_limits;
  std::size_t max_connections = 1024;
  std::chrono::seconds keep_alive{5};
  // The TLS handshake and a whole request (head and body) must arrive within this; a later
  // request on the same connection (and the client's taking of the previous answer) within
  // keep-alive + this of that answer.
  std::chrono::seconds request_timeout{10};
  unsigned threads = 0;  // event loops; 0: one per core
};

// The webhook's HTTPS/1.1 server: one epoll loop per core, each accepting connections from the
// shared listening socket and serving them with non-blocking OpenSSL. A review runs on its
// loop (tens of microseconds for a typical pod); a connection costs a few kilobytes, not a
// thread, and every deadline is a timer of its loop. Requests are answered by the same code as
// before (serve_review and the routes' statuses), written as one TLS record where they fit.
class Frontend {
 public:
  Frontend(ServerState& state, FrontendOptions options);
  ~Frontend();
  Frontend(const Frontend&) = delete;
  Frontend& operator=(const Frontend&) = delete;

  // The TLS context (configure_server_context on `state.certs`). False on failure.
  bool setup_tls();
  // Binds and listens; "" means every interface (dual-stack "::", else "0.0.0.0"), port 0 a free
  // port. Returns what was bound, port -1 on failure.
  ListenAddress bind(const ListenAddress& address);
  // Serves until stop() and every connection in flight is done.
  void run();
  // Stops accepting (the port refuses connections at once), closes idle connections and lets
  // requests in flight be answered (with Connection: close). Safe from any thread.
  void stop();
  bool running() const { return running_.load(); }

  struct Loop;

 private:
  ServerState& state_;
  FrontendOptions options_;
  struct TlsContext;
  std::unique_ptr<TlsContext> tls_;
  std::atomic<int> listener_{-1};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> running_{false};
  std::atomic<std::size_t> connections_{0};
  std::vector<std::unique_ptr<Loop>> loops_;
};

}  // namespace sigv4::server
