#pragma once

#include <atomic>
#include <memory>

#include "core/config.h"
#include "server/metrics.h"
#include "server/tls.h"

namespace sigv4::server {

// What the request handlers share with the reloader: the current config and certificate
// (swapped whole, never edited), the metrics and the readiness flags.
struct ServerState {
  std::atomic<std::shared_ptr<const Config>> config;
  CertStore certs;
  Metrics metrics;
  std::atomic<bool> cert_ok{true};
  std::atomic<bool> stopping{false};

  // Ready to take reviews: a config and a valid certificate are loaded, and not shutting down.
  bool ready() const {
    return config.load() != nullptr && certs.current() != nullptr && cert_ok.load() &&
           !stopping.load();
  }
};

}  // namespace sigv4::server
