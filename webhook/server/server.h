#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "codec/json_parse.h"
#include "core/admission.h"
#include "server/address.h"
#include "server/reload.h"

namespace sigv4::server {

// Everything `sigv4-injector serve` is told on its command line.
struct ServeOptions {
  ListenAddress listen{"", 8443};
  ListenAddress metrics_listen{"", 9090};
  std::string tls_cert_file;
  std::string tls_key_file;
  bool self_signed = false;
  ConfigSource config;
  std::size_t max_body_bytes = std::size_t{4} << 20;
  JsonLimits json_limits;
  std::chrono::milliseconds reload_interval{1000};
  std::chrono::milliseconds shutdown_timeout{20000};
  // After SIGTERM/SIGINT, how long to keep serving (with /readyz 503) before closing the
  // listeners: the apiserver routes to the endpoints it last saw, so a replica that stops
  // accepting at once fails the reviews sent to it until the endpoint removal reaches it.
  std::chrono::milliseconds shutdown_delay{0};
  std::size_t max_connections = 1024;
  int keep_alive_timeout_seconds = 5;
  // A connection's TLS handshake and request (headers and body) must arrive within this, and
  // every later request within keep-alive + this; also the timeout of each read and write.
  int request_timeout_seconds = 10;
};

// Runs the HTTPS webhook and the metrics endpoint until SIGTERM or SIGINT, then stops accepting,
// finishes the reviews in flight and returns 0. Returns 1 when the config or certificate do not
// load at start or a port cannot be bound (after logging why).
int serve(const ServeOptions& options);

}  // namespace sigv4::server
