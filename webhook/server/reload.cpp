#include "server/reload.h"

#include <openssl/asn1.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "codec/errors.h"
#include "server/logging.h"

namespace sigv4::server {
namespace {

// An ASN.1 time as Unix seconds; 0 when it does not convert.
std::int64_t unix_seconds(const ASN1_TIME* time) {
  std::tm parts{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &parts) != 1) {
    return 0;
  }
  return static_cast<std::int64_t>(timegm(&parts));
}

std::int64_t now_unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

FileStamp stamp_file(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    return {};
  }
  FileStamp stamp;
  stamp.exists = true;
  stamp.device = info.st_dev;
  stamp.inode = info.st_ino;
  stamp.size = info.st_size;
  stamp.mtime_ns = std::int64_t{info.st_mtim.tv_sec} * 1'000'000'000 + info.st_mtim.tv_nsec;
  return stamp;
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw std::runtime_error(path + ": " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    throw std::runtime_error(path + ": read error");
  }
  return std::move(text).str();
}

std::shared_ptr<const Config> ConfigSource::load() const {
  Config config = path.empty() ? default_config() : load_config(read_text_file(path));
  if (region) {
    config.region = *region;
  }
  if (sidecar_mode) {
    config.sidecar_mode = *sidecar_mode;
  }
  validate_config(config);
  return std::make_shared<const Config>(std::move(config));
}

std::shared_ptr<const TlsIdentity> CertSource::load() const {
  try {
    return parse_identity(read_text_file(cert_path), read_text_file(key_path));
  } catch (const std::exception& error) {
    throw std::runtime_error(cert_path + ", " + key_path + ": " + error.what());
  }
}

Reloader::Reloader(ServerState& state, ConfigSource config, std::optional<CertSource> certs,
                   std::chrono::milliseconds interval)
    : state_(state),
      config_source_(std::move(config)),
      cert_source_(std::move(certs)),
      interval_(interval) {}

Reloader::~Reloader() { stop(); }

void Reloader::load_initial() {
  // Stamps first: a change racing the read is then seen again by the next poll.
  if (!config_source_.path.empty()) {
    config_stamp_ = stamp_file(config_source_.path);
  }
  auto config = config_source_.load();
  log_event(spdlog::level::info, "config loaded",
            {{"file", config_source_.path.empty() ? "(defaults)" : config_source_.path},
             {"region", config->region},
             {"sidecar_mode", std::string(to_string(config->sidecar_mode))}});
  state_.config.store(std::move(config));
  if (cert_source_) {
    cert_stamp_ = stamp_file(cert_source_->cert_path);
    key_stamp_ = stamp_file(cert_source_->key_path);
    serve_certs(cert_source_->load());
  }
}

void Reloader::start() {
  thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, interval_, [this] { return stop_; })) {
      lock.unlock();
      poll();
      lock.lock();
    }
  });
}

void Reloader::stop() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void Reloader::serve_certs(std::shared_ptr<const TlsIdentity> identity) {
  state_.metrics.set_cert_loaded(now_unix_seconds(),
                                 unix_seconds(X509_get0_notAfter(identity->cert())));
  state_.certs.set(std::move(identity));
  expiry_logged_ = false;
}

void Reloader::check_expiry() {
  if (state_.certs.current() == nullptr || serves_unexpired_cert(state_.certs)) {
    return;
  }
  if (!expiry_logged_) {
    expiry_logged_ = true;
    log_event(spdlog::level::err,
              "the serving certificate has expired; not ready until a valid one is loaded",
              {{"file", cert_source_ ? cert_source_->cert_path : std::string("(self-signed)")}});
  }
}

void Reloader::poll() {
  if (!config_source_.path.empty()) {
    FileStamp stamp = stamp_file(config_source_.path);
    if (stamp != config_stamp_) {
      config_stamp_ = stamp;
      reload_config();
    }
  }
  if (cert_source_) {
    FileStamp cert = stamp_file(cert_source_->cert_path);
    FileStamp key = stamp_file(cert_source_->key_path);
    if (cert != cert_stamp_ || key != key_stamp_) {
      cert_stamp_ = cert;
      key_stamp_ = key;
      reload_certs();
    }
  }
  check_expiry();
}

void Reloader::reload_config() {
  try {
    state_.config.store(config_source_.load());
    state_.metrics.count_config_reload(true);
    log_event(spdlog::level::info, "config reloaded", {{"file", config_source_.path}});
  } catch (const std::exception& error) {
    state_.metrics.count_config_reload(false);
    log_event(spdlog::level::err, "config reload failed, keeping the previous config",
              {{"file", config_source_.path}, {"error", error.what()}});
  }
}

void Reloader::reload_certs() {
  std::shared_ptr<const TlsIdentity> identity;
  try {
    identity = cert_source_->load();
  } catch (const std::exception& error) {
    // Readiness is left alone: the previous certificate serves, and is what /readyz judges.
    state_.metrics.count_cert_reload(false);
    const bool valid = serves_unexpired_cert(state_.certs);
    expiry_logged_ = expiry_logged_ || !valid;  // this line says it already
    log_event(spdlog::level::err,
              valid ? "certificate reload failed, serving the previous one"
                    : "certificate reload failed, and the previous one has expired (not ready)",
              {{"file", cert_source_->cert_path},
               {"error", error.what()},
               {"previous_cert_valid", valid}});
    return;
  }
  serve_certs(std::move(identity));
  state_.metrics.count_cert_reload(true);
  log_event(spdlog::level::info, "certificate reloaded", {{"file", cert_source_->cert_path}});
}

}  // namespace sigv4::server
