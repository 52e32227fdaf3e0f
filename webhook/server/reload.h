#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/config.h"
#include "server/state.h"
#include "server/tls.h"

namespace sigv4::server {

// A file's identity and version as stat(2) sees it through symlinks (Kubernetes swaps the
// `..data` symlink of ConfigMap and Secret volumes; cert-manager may also rewrite in place).
struct FileStamp {
  bool exists = false;
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  std::int64_t mtime_ns = 0;

  bool operator==(const FileStamp&) const = default;
};

FileStamp stamp_file(const std::string& path);

// Reads a whole file. Throws std::runtime_error naming the path when it cannot.
std::string read_text_file(const std::string& path);

// Where the config comes from: the YAML file (defaults when empty) and the flag overrides.
struct ConfigSource {
  std::string path;
  std::optional<std::string> region;
  std::optional<SidecarMode> sidecar_mode;

  // Reads, parses, applies the overrides and validates. Throws InputError naming the key, or
  // std::runtime_error when the file cannot be read.
  std::shared_ptr<const Config> load() const;
};

// Where the serving certificate comes from.
struct CertSource {
  std::string cert_path;
  std::string key_path;

  // Reads and checks the pair. Throws std::runtime_error naming the problem.
  std::shared_ptr<const TlsIdentity> load() const;
};

// Polls the config and certificate files and swaps in new versions that load; a version that
// does not load is logged and counted, and the old one keeps serving (and readiness is left to
// whether it is still valid: ServerState::ready). A served certificate that expires is logged once.
class Reloader {
 public:
  Reloader(ServerState& state, ConfigSource config, std::optional<CertSource> certs,
           std::chrono::milliseconds interval);
  ~Reloader();
  Reloader(const Reloader&) = delete;
  Reloader& operator=(const Reloader&) = delete;

  // Loads both at start. Throws (InputError, std::runtime_error) when either fails.
  void load_initial();
  // Starts and stops the polling thread.
  void start();
  void stop();
  // Checks the files once and reloads what changed.
  void poll();

 private:
  void reload_config();
  void reload_certs();
  // Serves `identity` from the next handshake on and records it in the metrics.
  void serve_certs(std::shared_ptr<const TlsIdentity> identity);
  // Logs once when the served certificate has expired (readiness follows by itself).
  void check_expiry();

  ServerState& state_;
  ConfigSource config_source_;
  std::optional<CertSource> cert_source_;
  std::chrono::milliseconds interval_;
  FileStamp config_stamp_;
  FileStamp cert_stamp_;
  FileStamp key_stamp_;
  bool expiry_logged_ = false;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace sigv4::server
