#pragma once

#include <cstdint>
#include <functional>
#include <map>
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

// A CA bundle the proxy trusts besides the system roots when it calls Lattice over HTTPS: one key
// of a ConfigMap or Secret in the pod's namespace, mounted read-only into the sidecar.
struct CaBundle {
  enum class Kind { kNone, kConfigMap, kSecret };
  Kind kind = Kind::kNone;
  std::string name;
  std::string key = "ca.crt";
  bool operator==(const CaBundle&) const = default;
};

// The default proxy port: one apps rarely declare (not the workshop's 8080, which 4% of real pod
// templates use), below the ephemeral range and clear of Istio's 15000-15090 and Linkerd's
// 4140-4191.
inline constexpr int kDefaultProxyPort = 19471;

struct ProxyConfig {
  std::string image;
  int port = kDefaultProxyPort;
  int64_t uid = 101;
  std::string upstream_scheme;  // http | https
  bool unsigned_payload = true;
  bool log_failed_requests = true;
  bool log_signing_process = false;     // logs the session token: debug only
  bool verbose = false;                 // implies both log options above
  bool allow_node_credentials = false;  // else AWS_EC2_METADATA_DISABLED=true on the sidecar
  std::vector<std::string> extra_args;
  std::string role_arn;   // --role-arn, optional
  std::string host;       // --host, optional
  std::string sign_host;  // --sign-host, optional
  CaBundle ca_bundle;
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

// A namespace's own requests and limits for the injected containers (config `namespaces.<name>`):
// each quantity given replaces the config's, the others are kept.
struct NamespaceSettings {
  Resources proxy_resources;
  Resources init_resources;
  bool operator==(const NamespaceSettings&) const = default;
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
  std::map<std::string, NamespaceSettings, std::less<>> namespaces;
  // Field by field, for the container templates cached per settings (spec.cpp).
  bool operator==(const Config&) const = default;
};

// The repository of the project's image (the webhook, and the default iptables-init image).
inline constexpr const char* kImageRepository = "ghcr.io/sigv4-injector/sigv4-injector";

// The defaults: the EKS workshop's injection (proxy args, UID 101, 169.254.171.0/24), with the
// secure data path of SPEC 4a (proxy port 19471, port 443 never captured, no node credentials, no
// secrets in logs, pinned images) and requests and limits.
Config default_config();

// Parses a YAML config document on top of the defaults and validates it. Throws InputError
// naming the key (`proxy.port`) for unknown keys, wrong types and invalid values.
Config load_config(std::string_view yaml_text);

// Validates a whole config (also one built in code, such as after CLI flags). Throws InputError
// naming the offending key.
void validate_config(const Config& config);

// The config a pod in `namespace_name` starts from: `config` with that namespace's resources
// (config `namespaces`) laid over its own, and no namespace table. Never throws.
Config for_namespace(const Config& config, std::string_view namespace_name);

std::string_view to_string(SidecarMode mode);

// "legacy" or "native" as a SidecarMode; nullopt for anything else.
std::optional<SidecarMode> parse_sidecar_mode(std::string_view text);
std::string_view to_string(Ipv6Mode mode);
std::string_view to_string(IptablesMode mode);

}  // namespace sigv4
