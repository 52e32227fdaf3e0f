#include "server/state.h"

#include <openssl/x509.h>

namespace sigv4::server {

bool serves_unexpired_cert(const CertStore& certs) {
  const std::shared_ptr<const TlsIdentity> identity = certs.current();
  // X509_cmp_current_time: 1 when the time is after now, -1 at or before it, 0 on a bad time.
  return identity != nullptr && X509_cmp_current_time(X509_get0_notAfter(identity->cert())) > 0;
}

bool ServerState::ready() const {
  return config.load() != nullptr && serves_unexpired_cert(certs) && !stopping.load();
}

}  // namespace sigv4::server
