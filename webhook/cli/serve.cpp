#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "codec/errors.h"
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
  --shutdown-delay SECONDS    after SIGTERM, keep serving this long with /readyz 503 before
                              closing the listeners, while endpoints drop the replica (default 0)
  --shutdown-timeout SECONDS  longest wait for reviews in flight after SIGTERM (default 20)
  --max-connections N         most webhook connections open at once (default 1024); past it
                              the one waiting longest for its client gives way (the metrics
                              port has its own cap of 64)
  --keep-alive-timeout SECS   idle keep-alive connections are closed after this (default 5)
  --request-timeout SECS      a connection's handshake and whole request must arrive within
                              this, later requests within keep-alive + this (default 10)
  --log-format json|text      log line format (default text)
  --log-level LEVEL           trace, debug, info, warn, error (default info)
  --help                      print this help
)";

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

SidecarMode sidecar_mode_flag(const std::string& text) {
  auto mode = parse_sidecar_mode(text);
  if (!mode) {
    throw UsageError("--sidecar-mode: expected legacy or native, got \"" + text + "\"");
  }
  return *mode;
}

struct Options {
  server::ServeOptions serve;
  server::LogFormat log_format = server::LogFormat::kText;
  spdlog::level::level_enum log_level = spdlog::level::info;
};

// How each value flag lands in the options; `flag` is "--name" for messages.
using Setter = void (*)(Options&, const std::string& flag, const std::string& value);
const std::map<std::string, Setter> kSetters = {
    {"listen", [](Options& o, const std::string& f,
                  const std::string& v) { o.serve.listen = server::parse_listen_address(v, f); }},
    {"metrics-listen",
     [](Options& o, const std::string& f, const std::string& v) {
       o.serve.metrics_listen = server::parse_listen_address(v, f);
     }},
    {"tls-cert-file",
     [](Options& o, const std::string&, const std::string& v) { o.serve.tls_cert_file = v; }},
    {"tls-key-file",
     [](Options& o, const std::string&, const std::string& v) { o.serve.tls_key_file = v; }},
    {"config",
     [](Options& o, const std::string&, const std::string& v) { o.serve.config.path = v; }},
    {"region",
     [](Options& o, const std::string&, const std::string& v) { o.serve.config.region = v; }},
    {"sidecar-mode",
     [](Options& o, const std::string&, const std::string& v) {
       o.serve.config.sidecar_mode = sidecar_mode_flag(v);
     }},
    {"max-body-bytes", [](Options& o, const std::string& f,
                          const std::string& v) { o.serve.max_body_bytes = parse_count(f, v); }},
    {"max-json-depth",
     [](Options& o, const std::string& f, const std::string& v) {
       o.serve.json_limits.max_depth = parse_count(f, v);
     }},
    {"reload-interval",
     [](Options& o, const std::string& f, const std::string& v) {
       o.serve.reload_interval = parse_seconds(f, v);
     }},
    {"shutdown-delay",
     [](Options& o, const std::string& f, const std::string& v) {
       o.serve.shutdown_delay = v == "0" ? std::chrono::milliseconds{0} : parse_seconds(f, v);
     }},
    {"shutdown-timeout",
     [](Options& o, const std::string& f, const std::string& v) {
       o.serve.shutdown_timeout = parse_seconds(f, v);
     }},
    {"max-connections", [](Options& o, const std::string& f,
                           const std::string& v) { o.serve.max_connections = parse_count(f, v); }},
    {"keep-alive-timeout",
     [](Options& o, const std::string& f, const std::string& v) {
       const auto timeout = std::chrono::ceil<std::chrono::seconds>(parse_seconds(f, v));
       o.serve.keep_alive_timeout_seconds = static_cast<int>(timeout.count());
     }},
    {"request-timeout",
     [](Options& o, const std::string& f, const std::string& v) {
       const auto timeout = std::chrono::ceil<std::chrono::seconds>(parse_seconds(f, v));
       o.serve.request_timeout_seconds = static_cast<int>(timeout.count());
     }},
    {"log-format",
     [](Options& o, const std::string& f, const std::string& v) {
       if (!server::parse_log_format(v, o.log_format)) {
         throw UsageError(f + ": expected json or text, got \"" + v + "\"");
       }
     }},
    {"log-level",
     [](Options& o, const std::string& f, const std::string& v) {
       if (!server::parse_log_level(v, o.log_level)) {
         throw UsageError(f + ": unknown level \"" + v + "\"");
       }
     }},
};

Options parse_options(const std::vector<std::string>& args) {
  std::set<std::string> value_flags;
  for (const auto& [name, setter] : kSetters) {
    value_flags.insert(name);
  }
  const Args parsed(args, value_flags, {"self-signed", "help"}, {{"-h", "--help"}});
  Options options;
  for (const auto& [name, setter] : kSetters) {
    if (auto value = parsed.get(name)) {
      setter(options, "--" + name, *value);
    }
  }
  options.serve.self_signed = parsed.has("self-signed");
  const auto& serve = options.serve;
  const bool files = !serve.tls_cert_file.empty() || !serve.tls_key_file.empty();
  if (serve.self_signed && files) {
    throw UsageError("--self-signed excludes --tls-cert-file and --tls-key-file");
  }
  if (!serve.self_signed && (serve.tls_cert_file.empty() || serve.tls_key_file.empty())) {
    throw UsageError("--tls-cert-file and --tls-key-file are required (or --self-signed)");
  }
  return options;
}

// A review allocates and frees a few hundred small blocks. glibc keeps 7 freed blocks per size
// for each thread; the rest went through the shared bins, and malloc_consolidate alone was 4% of
// the server's CPU. 200 per size: +14% reviews/s saturated, RSS within a megabyte.
constexpr const char* kMallocTunables = "glibc.malloc.tcache_count=200";

}  // namespace

void tune_malloc(char** argv) {
#ifdef __GLIBC__
  // Set by the operator (or by us, before the exec): theirs, or already done.
  if (std::getenv("GLIBC_TUNABLES") != nullptr) {
    return;
  }
  if (setenv("GLIBC_TUNABLES", kMallocTunables, 1) != 0) {
    return;
  }
  execv("/proc/self/exe", argv);
  unsetenv("GLIBC_TUNABLES");  // no /proc: run with glibc's defaults
#else
  (void)argv;
#endif
}

int run_serve(const std::vector<std::string>& args) {
  for (const auto& arg : args) {
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return kExitOk;
    }
  }
  Options options;
  try {
    options = parse_options(args);
  } catch (const std::exception& error) {  // UsageError, and InputError from --listen
    std::cerr << "sigv4-injector serve: " << error.what()
              << "\nRun 'sigv4-injector serve --help' for usage.\n";
    return kExitUsage;
  }
  server::setup_logging(options.log_format, options.log_level);
  return server::serve(options.serve) == 0 ? kExitOk : kExitBadInput;
}

}  // namespace sigv4::cli
