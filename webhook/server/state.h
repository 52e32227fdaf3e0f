#pragma once

#include <atomic>
#include <memory>

#include "core/config.h"
#include "server/metrics.h"
#include "server/tls.h"

namespace sigv4::server {

// What the request handlers share with the reloader: the current config and certificate
// (swapped whole, never edited), the metrics and the shutdown flag.
struct ServerState {
  std::atomic<std::shared_ptr<const Config>> config;
  CertStore certs;
  Metrics metrics;
  std::atomic<bool> stopping{false};

  // Ready to take reviews: a config is loaded, the certificate being served has not expired, and
  // not shutting down. A failed rotation that leaves the previous, still valid certificate
  // serving is ready: every replica reads the same Secret, so flipping readiness on a bad file
  // would empty the Service of every endpoint at once.
  bool ready() const;
};

// True when `certs` holds an identity whose certificate has not expired (notAfter after now).
// notBefore is not checked: a certificate issued seconds ago on a node whose clock is slightly
// behind is still the one to serve.
bool serves_unexpired_cert(const CertStore& certs);

}  // namespace sigv4::server
