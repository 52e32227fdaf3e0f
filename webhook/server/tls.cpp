#include "server/tls.h"

#include <arpa/inet.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <climits>
#include <stdexcept>

namespace sigv4::server {
namespace {

template <auto F>
struct Deleter {
  template <class T>
  void operator()(T* pointer) const {
    F(pointer);
  }
};
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;

// Mozilla's "intermediate" TLS 1.2 suites (forward secret AEADs only); TLS 1.3 keeps OpenSSL's.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

[[noreturn]] void throw_openssl(const std::string& what) {
  std::string message = what;
  unsigned long code = ERR_get_error();
  if (code != 0) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof buffer);
    message += ": ";
    message += buffer;
  }
  ERR_clear_error();
  throw std::runtime_error(message);
}

void check(int ok, const char* what) {
  if (ok != 1) {
    throw_openssl(what);
  }
}

PkeyPtr generate_key() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) {
    throw_openssl("generating an EC P-256 key");
  }
  return key;
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext) {
    throw_openssl("certificate extension " + value);
  }
  check(X509_add_ext(cert, ext.get(), -1), "adding a certificate extension");
}

void set_serial(X509* cert) {
  BnPtr serial(BN_new());
  if (!serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert)) == nullptr) {
    throw_openssl("certificate serial number");
  }
}

X509Ptr new_certificate(EVP_PKEY* key, const std::string& common_name, int days) {
  X509Ptr cert(X509_new());
  if (!cert) {
    throw_openssl("allocating a certificate");
  }
  check(X509_set_version(cert.get(), 2), "certificate version");
  set_serial(cert.get());
  // Backdated a little so that a node with a slightly late clock accepts it at once.
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -300) == nullptr ||
      X509_time_adj_ex(X509_getm_notAfter(cert.get()), days, 0, nullptr) == nullptr) {
    throw_openssl("certificate validity");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  const auto* cn = reinterpret_cast<const unsigned char*>(common_name.c_str());
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, cn, -1, -1, 0), "certificate name");
  check(X509_set_pubkey(cert.get(), key), "certificate public key");
  return cert;
}

void sign(X509* cert, X509* issuer, EVP_PKEY* issuer_key) {
  check(X509_set_issuer_name(cert, X509_get_subject_name(issuer)), "certificate issuer");
  if (X509_sign(cert, issuer_key, EVP_sha256()) <= 0) {
    throw_openssl("signing a certificate");
  }
}

std::string subject_alt_names(const CertRequest& request) {
  std::string names;
  for (const auto& dns : request.dns_names) {
    names += (names.empty() ? "DNS:" : ",DNS:") + dns;
  }
  for (const auto& ip : request.ip_addresses) {
    unsigned char buffer[sizeof(in6_addr)];
    if (inet_pton(AF_INET, ip.c_str(), buffer) != 1 &&
        inet_pton(AF_INET6, ip.c_str(), buffer) != 1) {
      throw std::runtime_error("invalid IP address \"" + ip + "\"");
    }
    names += (names.empty() ? "IP:" : ",IP:") + ip;
  }
  return names;
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  return std::string(data, size > 0 ? static_cast<std::size_t>(size) : 0);
}

std::string cert_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
    throw_openssl("writing a certificate");
  }
  return bio_text(bio.get());
}

std::string key_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    throw_openssl("writing a private key");
  }
  return bio_text(bio.get());
}

BioPtr memory_bio(std::string_view text) {
  if (text.size() > static_cast<std::size_t>(INT_MAX)) {
    throw std::runtime_error("PEM data too large");
  }
  BioPtr bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio) {
    throw_openssl("reading PEM data");
  }
  return bio;
}

int serve_current_identity(SSL* ssl, void* arg) {
  auto identity = static_cast<CertStore*>(arg)->current();
  if (!identity) {
    return 0;
  }
  return SSL_use_cert_and_key(ssl, identity->cert(), identity->key(), identity->chain(), 1);
}

}  // namespace

CertBundle generate_certificates(const CertRequest& request) {
  const std::string alt_names = subject_alt_names(request);
  PkeyPtr ca_key = generate_key();
  X509Ptr ca = new_certificate(ca_key.get(), request.common_name + "-ca", request.days);
  add_extension(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
  add_extension(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
  add_extension(ca.get(), ca.get(), NID_subject_key_identifier, "hash");
  add_extension(ca.get(), ca.get(), NID_authority_key_identifier, "keyid:always");
  sign(ca.get(), ca.get(), ca_key.get());

  PkeyPtr key = generate_key();
  X509Ptr cert = new_certificate(key.get(), request.common_name, request.days);
  add_extension(cert.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), ca.get(), NID_key_usage, "critical,digitalSignature");
  add_extension(cert.get(), ca.get(), NID_ext_key_usage, "serverAuth");
  add_extension(cert.get(), ca.get(), NID_subject_key_identifier, "hash");
  add_extension(cert.get(), ca.get(), NID_authority_key_identifier, "keyid:always");
  if (!alt_names.empty()) {
    add_extension(cert.get(), ca.get(), NID_subject_alt_name, alt_names);
  }
  sign(cert.get(), ca.get(), ca_key.get());
  return CertBundle{cert_pem(ca.get()), cert_pem(cert.get()), key_pem(key.get())};
}

std::vector<std::string> service_dns_names(std::string_view service, std::string_view ns) {
  const std::string base = std::string(service) + "." + std::string(ns);
  return {std::string(service), base, base + ".svc", base + ".svc.cluster.local"};
}

TlsIdentity::TlsIdentity(X509* cert, EVP_PKEY* key, STACK_OF(X509) * chain)
    : cert_(cert), key_(key), chain_(chain) {}

TlsIdentity::~TlsIdentity() {
  X509_free(cert_);
  EVP_PKEY_free(key_);
  sk_X509_pop_free(chain_, X509_free);
}

std::shared_ptr<const TlsIdentity> parse_identity(std::string_view cert_text,
                                                  std::string_view key_text) {
  BioPtr cert_bio = memory_bio(cert_text);
  X509Ptr cert(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    throw_openssl("no PEM certificate");
  }
  auto chain = std::unique_ptr<STACK_OF(X509), void (*)(STACK_OF(X509)*)>(
      sk_X509_new_null(), [](STACK_OF(X509) * stack) { sk_X509_pop_free(stack, X509_free); });
  while (X509* extra = PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr)) {
    sk_X509_push(chain.get(), extra);
  }
  ERR_clear_error();  // the loop above ends on "no start line"
  BioPtr key_bio = memory_bio(key_text);
  PkeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    throw_openssl("no PEM private key");
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    throw_openssl("the private key does not match the certificate");
  }
  if (X509_cmp_current_time(X509_get0_notAfter(cert.get())) <= 0) {
    throw std::runtime_error("the certificate has expired");
  }
  return std::make_shared<const TlsIdentity>(cert.release(), key.release(), chain.release());
}

bool configure_server_context(SSL_CTX& ctx, CertStore& store) {
  if (SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(&ctx, kTls12Ciphers) != 1) {
    return false;
  }
  SSL_CTX_set_options(&ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_cert_cb(&ctx, serve_current_identity, &store);
  return true;
}

}  // namespace sigv4::server
