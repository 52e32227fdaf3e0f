#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <atomic>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sigv4::server {

// What a generated serving certificate covers.
struct CertRequest {
  std::string common_name;
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  int days = 365;
};

// A CA certificate and a serving certificate and key it signed, all PEM.
struct CertBundle {
  std::string ca_cert;
  std::string cert;
  std::string key;
};

// Generates an ECDSA P-256 CA and a serving certificate for `request` signed by it. Throws
// std::runtime_error when OpenSSL fails or an IP address does not parse.
CertBundle generate_certificates(const CertRequest& request);

// The DNS names of a Kubernetes Service: S, S.N, S.N.svc and S.N.svc.cluster.local.
std::vector<std::string> service_dns_names(std::string_view service, std::string_view ns);

// A parsed certificate chain and the private key matching its first certificate.
class TlsIdentity {
 public:
  TlsIdentity(X509* cert, EVP_PKEY* key, STACK_OF(X509) * chain);
  ~TlsIdentity();
  TlsIdentity(const TlsIdentity&) = delete;
  TlsIdentity& operator=(const TlsIdentity&) = delete;

  X509* cert() const { return cert_; }
  EVP_PKEY* key() const { return key_; }
  STACK_OF(X509) * chain() const { return chain_; }

 private:
  X509* cert_;
  EVP_PKEY* key_;
  STACK_OF(X509) * chain_;
};

// Parses a PEM certificate chain and key. Throws std::runtime_error when either does not parse
// or the key does not match the certificate.
std::shared_ptr<const TlsIdentity> parse_identity(std::string_view cert_pem,
                                                  std::string_view key_pem);

// The identity served to new handshakes; replaced when the files rotate.
class CertStore {
 public:
  std::shared_ptr<const TlsIdentity> current() const { return identity_.load(); }
  void set(std::shared_ptr<const TlsIdentity> identity) { identity_.store(std::move(identity)); }

 private:
  std::atomic<std::shared_ptr<const TlsIdentity>> identity_;
};

// Configures a server context: TLS >= 1.2, modern ciphers, no renegotiation, and a certificate
// callback serving `store`'s current identity at each handshake. Returns false on failure.
bool configure_server_context(SSL_CTX& ctx, CertStore& store);

}  // namespace sigv4::server
