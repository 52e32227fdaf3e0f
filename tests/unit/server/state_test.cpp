#include <openssl/pem.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/config.h"
#include "server/reload.h"
#include "server/state.h"
#include "server/tls.h"

using namespace sigv4;
using namespace sigv4::server;

namespace {

CertBundle make_bundle(int days) {
  CertRequest request;
  request.common_name = "sigv4-injector";
  request.dns_names = {"localhost"};
  request.days = days;
  return generate_certificates(request);
}

// An identity built without parse_identity, which refuses expired certificates: what a server
// holds once the certificate it loaded has run out.
std::shared_ptr<const TlsIdentity> identity_unchecked(const CertBundle& bundle) {
  BIO* cert_bio = BIO_new_mem_buf(bundle.cert.data(), static_cast<int>(bundle.cert.size()));
  BIO* key_bio = BIO_new_mem_buf(bundle.key.data(), static_cast<int>(bundle.key.size()));
  X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  BIO_free(cert_bio);
  BIO_free(key_bio);
  REQUIRE(cert != nullptr);
  REQUIRE(key != nullptr);
  return std::make_shared<const TlsIdentity>(cert, key, sk_X509_new_null());
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "sigv4-state-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name, std::ios::binary | std::ios::trunc) << text;
    return (path / name).string();
  }
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The value of an unlabelled sample in a Prometheus exposition; -1 when absent.
double sample(const std::string& text, const std::string& name) {
  const auto at = text.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::stod(text.substr(at + name.size() + 2));
}

}  // namespace

TEST_CASE("readiness: a config and an unexpired certificate, and not stopping", "[server]") {
  ServerState state;
  CHECK_FALSE(state.ready());
  state.config.store(std::make_shared<const Config>(default_config()));
  CHECK_FALSE(state.ready());  // no certificate

  const CertBundle good = make_bundle(30);
  state.certs.set(parse_identity(good.cert, good.key));
  CHECK(state.ready());

  state.certs.set(identity_unchecked(make_bundle(-1)));  // notAfter a day ago
  CHECK_FALSE(serves_unexpired_cert(state.certs));
  CHECK_FALSE(state.ready());

  state.certs.set(parse_identity(good.cert, good.key));
  state.stopping.store(true);
  CHECK_FALSE(state.ready());
}

TEST_CASE("a certificate reload that fails keeps the previous one and readiness", "[server]") {
  TempDir dir;
  const CertBundle first = make_bundle(30);
  const std::string cert = dir.write("tls.crt", first.cert);
  const std::string key = dir.write("tls.key", first.key);
  ServerState state;
  Reloader reloader(state, ConfigSource{}, CertSource{cert, key}, std::chrono::seconds(1));
  reloader.load_initial();
  const auto served = state.certs.current();
  REQUIRE(state.ready());
  const std::string metrics = state.metrics.render(true);
  const auto now = static_cast<double>(std::time(nullptr));
  CHECK(sample(metrics, "sigv4_injector_cert_expiration_timestamp_seconds") ==
        Approx(now + 30 * 86400).margin(600));
  CHECK(sample(metrics, "sigv4_injector_cert_last_reload_success_timestamp_seconds") ==
        Approx(now).margin(600));

  dir.write("tls.crt", "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n");
  reloader.poll();
  CHECK(state.certs.current() == served);
  CHECK(state.ready());
  CHECK(contains(state.metrics.render(true),
                 "sigv4_injector_cert_reloads_total{result=\"failure\"} 1\n"));

  reloader.poll();  // nothing changed on disk: not counted again
  CHECK(contains(state.metrics.render(true),
                 "sigv4_injector_cert_reloads_total{result=\"failure\"} 1\n"));

  const CertBundle second = make_bundle(30);
  dir.write("tls.key", second.key);
  dir.write("tls.crt", second.cert);
  reloader.poll();
  CHECK(state.certs.current() != served);
  CHECK(state.ready());
  CHECK(contains(state.metrics.render(true),
                 "sigv4_injector_cert_reloads_total{result=\"success\"} 1\n"));
}
