#include <charconv>
#include <cmath>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/errors.h"
#include "server/logging.h"
#include "server/server.h"

namespace sigv4::cli {
namespace {

constexpr const char* kUsage = R"(Usage: sigv4-injector serve [flags]

Runs the mutating admission webhook over HTTPS, and Prometheus metrics over plain HTTP.

Flags:
  --listen HOST:PORT          HTTPS address (default :8443; port 0 picks a free port, logged as
                              "webhook listening on HOST:PORT")
  --metrics-listen HOST:PORT  plain-HTTP /metrics and /healthz address (default :9090)
  --tls-cert-file FILE        serving certificate chain (PEM); reloaded when it changes
  --tls-key-file FILE         its private key (PEM); reloaded when it changes
  --self-signed               generate an in-memory certificate instead (local runs only)
  --config FILE               YAML config (SPEC section 5); reloaded when it changes
  --region REGION             override the config's region
  --sidecar-mode MODE         override the config's sidecarMode: legacy or native
  --max-body-bytes N          largest request body (default 4194304); larger gets 413
  --max-json-depth N          deepest JSON nesting accepted (default 100)
  --reload-interval SECONDS   how often the config and certificate files are checked (default 1)
  --shutdown-timeout SECONDS  longest wait for reviews in flight after SIGTERM (default 20)
  --max-connections N         most connections served at once (default 1024)
  --keep-alive-timeout SECS   idle keep-alive connections are closed after this (default 5)
  --log-format json|text      log line format (default text)
  --log-level LEVEL           trace, debug, info, warn, error (default info)
  --help                      print this help
)";

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::size_t parse_count(const std::string& flag, const std::string& text) {
  std::size_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || ptr != end || value == 0) {
    throw UsageError(flag + ": expected a positive integer, got \"" + text + "\"");
  }
  return value;
}

std::chrono::milliseconds parse_seconds(const std::string& flag, const std::string& text) {
  double seconds = -1;
  try {
    std::size_t used = 0;
    seconds = std::stod(text, &used);
    if (used != text.size()) {
      seconds = -1;
    }
  } catch (const std::exception&) {
    seconds = -1;
  }
  if (!std::isfinite(seconds) || seconds <= 0 || seconds > 86400) {
    throw UsageError(flag + ": expected seconds (> 0), got \"" + text + "\"");
  }
  return std::chrono::milliseconds(static_cast<long long>(std::ceil(seconds * 1000)));
}

SidecarMode parse_sidecar_mode(const std::string& text) {
  if (text == "legacy") {
    return SidecarMode::kLegacy;
  }
  if (text == "native") {
    return SidecarMode::kNative;
  }
  throw UsageError("--sidecar-mode: expected legacy or native, got \"" + text + "\"");
}

struct LogOptions {
  server::LogFormat format = server::LogFormat::kText;
  spdlog::level::level_enum level = spdlog::level::info;
};

// Applies one flag that takes a value; returns false when `flag` is not one of them.
bool apply_value(server::ServeOptions& options, LogOptions& log, const std::string& flag,
                 const std::string& value) {
  if (flag == "--listen") {
    options.listen = server::parse_listen_address(value, flag);
  } else if (flag == "--metrics-listen") {
    options.metrics_listen = server::parse_listen_address(value, flag);
  } else if (flag == "--tls-cert-file") {
    options.tls_cert_file = value;
  } else if (flag == "--tls-key-file") {
    options.tls_key_file = value;
  } else if (flag == "--config") {
    options.config.path = value;
  } else if (flag == "--region") {
    options.config.region = value;
  } else if (flag == "--sidecar-mode") {
    options.config.sidecar_mode = parse_sidecar_mode(value);
  } else if (flag == "--max-body-bytes") {
    options.max_body_bytes = parse_count(flag, value);
  } else if (flag == "--max-json-depth") {
    options.json_limits.max_depth = parse_count(flag, value);
  } else if (flag == "--reload-interval") {
    options.reload_interval = parse_seconds(flag, value);
  } else if (flag == "--shutdown-timeout") {
    options.shutdown_timeout = parse_seconds(flag, value);
  } else if (flag == "--max-connections") {
    options.max_connections = parse_count(flag, value);
  } else if (flag == "--keep-alive-timeout") {
    const auto seconds = parse_seconds(flag, value);
    options.keep_alive_timeout_seconds =
        static_cast<int>(std::chrono::ceil<std::chrono::seconds>(seconds).count());
  } else if (flag == "--log-format") {
    if (!server::parse_log_format(value, log.format)) {
      throw UsageError("--log-format: expected json or text, got \"" + value + "\"");
    }
  } else if (flag == "--log-level") {
    if (!server::parse_log_level(value, log.level)) {
      throw UsageError("--log-level: unknown level \"" + value + "\"");
    }
  } else {
    return false;
  }
  return true;
}

void parse_args(const std::vector<std::string>& args, server::ServeOptions& options,
                LogOptions& log) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    std::string value;
    const auto equals = flag.find('=');
    const bool inline_value = flag.rfind("--", 0) == 0 && equals != std::string::npos;
    if (inline_value) {
      value = flag.substr(equals + 1);
      flag = flag.substr(0, equals);
    }
    if (flag == "--self-signed" && !inline_value) {
      options.self_signed = true;
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= args.size() || flag.rfind("--", 0) != 0) {
        throw UsageError(flag.rfind("--", 0) == 0 ? flag + ": missing value"
                                                  : "unexpected argument \"" + flag + "\"");
      }
      value = args[++i];
    }
    if (!apply_value(options, log, flag, value)) {
      throw UsageError("unknown flag " + flag);
    }
  }
}

void check_tls_flags(const server::ServeOptions& options) {
  const bool files = !options.tls_cert_file.empty() || !options.tls_key_file.empty();
  if (options.self_signed && files) {
    throw UsageError("--self-signed excludes --tls-cert-file and --tls-key-file");
  }
  if (!options.self_signed && (options.tls_cert_file.empty() || options.tls_key_file.empty())) {
    throw UsageError("--tls-cert-file and --tls-key-file are required (or --self-signed)");
  }
}

}  // namespace

int run_serve(const std::vector<std::string>& args) {
  for (const auto& arg : args) {
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return kExitOk;
    }
  }
  server::ServeOptions options;
  LogOptions log;
  try {
    parse_args(args, options, log);
    check_tls_flags(options);
  } catch (const std::exception& error) {  // UsageError, and InputError from --listen
    std::cerr << "sigv4-injector serve: " << error.what()
              << "\nRun 'sigv4-injector serve --help' for usage.\n";
    return kExitUsage;
  }
  server::setup_logging(log.format, log.level);
  return server::serve(options) == 0 ? kExitOk : kExitBadInput;
}

}  // namespace sigv4::cli
