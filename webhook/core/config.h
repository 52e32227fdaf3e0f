#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sigv4 {

enum class SidecarMode { kLegacy, kNative };
enum class Ipv6Mode { kAuto, kOn, kOff };
enum class IptablesMode { kAuto, kLegacy, kNft };

// Requests and limits as Kubernetes quantity strings ("50m", "64Mi").
struct Resources {
  std::string cpu_request;
  std::string memory_request;
  std::string cpu_limit;
  std::string memory_limit;
  bool operator==(const Resources&) const = default;
};

struct ProxyConfig {
  std::string image;
  int port = 8080;
  int64_t uid = 101;
  std::string upstream_scheme;  // http | https
  bool unsigned_payload = true;
  bool log_failed_requests = true;
  bool log_signing_process = true;
  bool verbose = true;
  std::vector<std::string> extra_args;
  std::string role_arn;   // --role-arn, optional
  std::string host;       // --host, optional
  std::string sign_host;  // --sign-host, optional
  Resources resources;
  bool operator==(const ProxyConfig&) const = default;
};

struct InitConfig {
  std::string image;
  std::vector<std::string> cidrs;       // IPv4
  std::vector<std::string> ipv6_cidrs;  // IPv6
  std::vector<int> exclude_ports;
  std::vector<int> include_ports;
  Resources resources;
  bool operator==(const InitConfig&) const = default;
};

// The injector's configuration: built-in defaults < config file. Immutable once built; a reload
// builds a new one and swaps it.
struct Config {
  std::string region;
  std::string signing_name;
  SidecarMode sidecar_mode = SidecarMode::kLegacy;
  Ipv6Mode ipv6 = Ipv6Mode::kAuto;
  IptablesMode iptables_mode = IptablesMode::kAuto;
  std::vector<std::string> exclude_namespaces;
  ProxyConfig proxy;
  InitConfig init;
  // Field by field, for the container templates cached per settings (spec.cpp).
  bool operator==(const Config&) const = default;
};

// The defaults: the EKS workshop's injection (images, args, port 8080, UID 101, 169.254.171.0/24),
// hardened with requests and limits.
Config default_config();

// Parses a YAML config document on top of the defaults and validates it. Throws InputError
// naming the key (`proxy.port`) for unknown keys, wrong types and invalid values.
Config load_config(std::string_view yaml_text);

// Validates a whole config (also one built in code, such as after CLI flags). Throws InputError
// naming the offending key.
void validate_config(const Config& config);

std::string_view to_string(SidecarMode mode);

// "legacy" or "native" as a SidecarMode; nullopt for anything else.
std::optional<SidecarMode> parse_sidecar_mode(std::string_view text);
std::string_view to_string(Ipv6Mode mode);
std::string_view to_string(IptablesMode mode);

}  // namespace sigv4
