#include "server/reload.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "core/errors.h"
#include "server/logging.h"

namespace sigv4::server {

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
    state_.certs.set(cert_source_->load());
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
  try {
    state_.certs.set(cert_source_->load());
    state_.cert_ok.store(true);
    state_.metrics.count_cert_reload(true);
    log_event(spdlog::level::info, "certificate reloaded", {{"file", cert_source_->cert_path}});
  } catch (const std::exception& error) {
    state_.cert_ok.store(false);
    state_.metrics.count_cert_reload(false);
    log_event(spdlog::level::err, "certificate reload failed, serving the previous one (not ready)",
              {{"file", cert_source_->cert_path}, {"error", error.what()}});
  }
}

}  // namespace sigv4::server
