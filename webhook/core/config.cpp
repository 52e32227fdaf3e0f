#include "config.h"

#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>
#include <set>

#include "codec/errors.h"
#include "validate.h"

namespace sigv4 {
namespace {

// Reads one YAML mapping, dispatching each key to a handler; unknown keys are errors.
using KeyHandlers =
    std::map<std::string, std::function<void(const YAML::Node&, const std::string&)>>;

std::string join_path(const std::string& prefix, const std::string& key) {
  return prefix.empty() ? key : prefix + "." + key;
}

void read_map(const YAML::Node& node, const std::string& prefix, const KeyHandlers& handlers) {
  if (!node || node.IsNull()) {
    return;
  }
  if (!node.IsMap()) {
    throw InputError(prefix.empty() ? "config" : prefix, "expected a mapping");
  }
  for (const auto& item : node) {
    auto key = item.first.as<std::string>();
    auto handler = handlers.find(key);
    if (handler == handlers.end()) {
      std::string known;
      for (const auto& [name, unused] : handlers) {
        known += known.empty() ? name : ", " + name;
      }
      throw InputError(join_path(prefix, key), "unknown key (known keys: " + known + ")");
    }
    handler->second(item.second, join_path(prefix, key));
  }
}

std::string scalar(const YAML::Node& node, const std::string& path) {
  if (!node.IsScalar()) {
    throw InputError(path, "expected a string");
  }
  return node.Scalar();
}

bool boolean(const YAML::Node& node, const std::string& path) {
  std::string text = scalar(node, path);
  if (text == "true" || text == "True" || text == "TRUE") {
    return true;
  }
  if (text == "false" || text == "False" || text == "FALSE") {
    return false;
  }
  throw InputError(path, "expected true or false, got \"" + text + "\"");
}

int port(const YAML::Node& node, const std::string& path) {
  std::string text = scalar(node, path);
  auto value = parse_port(text);
  if (!value) {
    throw InputError(path, "expected a port 1-65535, got \"" + text + "\"");
  }
  return *value;
}

// A YAML list read item by item with `item` (which names its error by the item's path).
template <typename Item>
std::vector<Item> list(const YAML::Node& node, const std::string& path, const char* what,
                       Item (*item)(const YAML::Node&, const std::string&)) {
  std::vector<Item> out;
  if (node.IsNull()) {
    return out;
  }
  if (!node.IsSequence()) {
    throw InputError(path, std::string("expected a list") + what);
  }
  for (std::size_t i = 0; i < node.size(); ++i) {
    out.push_back(item(node[i], path + "[" + std::to_string(i) + "]"));
  }
  return out;
}

std::vector<std::string> strings(const YAML::Node& node, const std::string& path) {
  return list<std::string>(node, path, "", scalar);
}

std::vector<int> ports(const YAML::Node& node, const std::string& path) {
  return list<int>(node, path, " of ports", port);
}

void read_resources(const YAML::Node& node, const std::string& path, Resources& out) {
  auto pair = [](std::string& cpu, std::string& memory) -> KeyHandlers {
    return {{"cpu", [&cpu](const YAML::Node& n, const std::string& p) { cpu = scalar(n, p); }},
            {"memory",
             [&memory](const YAML::Node& n, const std::string& p) { memory = scalar(n, p); }}};
  };
  read_map(node, path,
           {{"requests",
             [&](const YAML::Node& n, const std::string& p) {
               read_map(n, p, pair(out.cpu_request, out.memory_request));
             }},
            {"limits", [&](const YAML::Node& n, const std::string& p) {
               read_map(n, p, pair(out.cpu_limit, out.memory_limit));
             }}});
}

// caBundle: {configMap: NAME} or {secret: NAME}, with an optional key (default ca.crt).
void read_ca_bundle(const YAML::Node& node, const std::string& path, CaBundle& out) {
  out = CaBundle{};
  auto source = [&out](CaBundle::Kind kind) {
    return [&out, kind](const YAML::Node& n, const std::string& p) {
      if (out.kind != CaBundle::Kind::kNone) {
        throw InputError(p, "give either configMap or secret, not both");
      }
      out.kind = kind;
      out.name = scalar(n, p);
    };
  };
  read_map(
      node, path,
      {{"configMap", source(CaBundle::Kind::kConfigMap)},
       {"secret", source(CaBundle::Kind::kSecret)},
       {"key", [&out](const YAML::Node& n, const std::string& p) { out.key = scalar(n, p); }}});
  if (node && !node.IsNull() && out.kind == CaBundle::Kind::kNone) {
    throw InputError(path, "expected configMap: NAME or secret: NAME (and optionally key)");
  }
}

template <typename Enum>
Enum choice(const YAML::Node& node, const std::string& path,
            const std::vector<std::pair<std::string, Enum>>& options) {
  std::string text = scalar(node, path);
  std::string names;
  for (const auto& [name, value] : options) {
    if (text == name) {
      return value;
    }
    names += names.empty() ? name : "|" + name;
  }
  throw InputError(path, "expected " + names + ", got \"" + text + "\"");
}

void read_proxy(const YAML::Node& node, const std::string& path, ProxyConfig& p) {
  read_map(
      node, path,
      {{"image", [&](const YAML::Node& n, const std::string& k) { p.image = scalar(n, k); }},
       {"port", [&](const YAML::Node& n, const std::string& k) { p.port = port(n, k); }},
       {"uid",
        [&](const YAML::Node& n, const std::string& k) {
          auto text = scalar(n, k);
          auto uid = parse_uid(text);
          if (!uid) {
            throw InputError(k, "expected a non-root UID 1-2147483647, got \"" + text + "\"");
          }
          p.uid = *uid;
        }},
       {"upstreamScheme",
        [&](const YAML::Node& n, const std::string& k) { p.upstream_scheme = scalar(n, k); }},
       {"unsignedPayload",
        [&](const YAML::Node& n, const std::string& k) { p.unsigned_payload = boolean(n, k); }},
       {"logFailedRequests",
        [&](const YAML::Node& n, const std::string& k) { p.log_failed_requests = boolean(n, k); }},
       {"logSigningProcess",
        [&](const YAML::Node& n, const std::string& k) { p.log_signing_process = boolean(n, k); }},
       {"verbose", [&](const YAML::Node& n, const std::string& k) { p.verbose = boolean(n, k); }},
       {"extraArgs",
        [&](const YAML::Node& n, const std::string& k) { p.extra_args = strings(n, k); }},
       {"roleArn", [&](const YAML::Node& n, const std::string& k) { p.role_arn = scalar(n, k); }},
       {"host", [&](const YAML::Node& n, const std::string& k) { p.host = scalar(n, k); }},
       {"signHost", [&](const YAML::Node& n, const std::string& k) { p.sign_host = scalar(n, k); }},
       {"allowNodeCredentials",
        [&](const YAML::Node& n, const std::string& k) {
          p.allow_node_credentials = boolean(n, k);
        }},
       {"caBundle",
        [&](const YAML::Node& n, const std::string& k) { read_ca_bundle(n, k, p.ca_bundle); }},
       {"resources",
        [&](const YAML::Node& n, const std::string& k) { read_resources(n, k, p.resources); }}});
}

void read_init(const YAML::Node& node, const std::string& path, InitConfig& i) {
  read_map(node, path,
           {{"image", [&](const YAML::Node& n, const std::string& k) { i.image = scalar(n, k); }},
            {"cidrs", [&](const YAML::Node& n, const std::string& k) { i.cidrs = strings(n, k); }},
            {"ipv6Cidrs",
             [&](const YAML::Node& n, const std::string& k) { i.ipv6_cidrs = strings(n, k); }},
            {"excludePorts",
             [&](const YAML::Node& n, const std::string& k) { i.exclude_ports = ports(n, k); }},
            {"includePorts",
             [&](const YAML::Node& n, const std::string& k) { i.include_ports = ports(n, k); }},
            {"resources", [&](const YAML::Node& n, const std::string& k) {
               read_resources(n, k, i.resources);
             }}});
}

void require(const std::string& why, const std::string& key);

// namespaces: {<name>: {proxy: {resources: ...}, init: {resources: ...}}}
void read_namespaces(const YAML::Node& node, const std::string& path, Config& c) {
  c.namespaces.clear();
  if (!node || node.IsNull()) {
    return;
  }
  if (!node.IsMap()) {
    throw InputError(path, "expected a mapping of namespace names");
  }
  for (const auto& item : node) {
    const std::string name = item.first.as<std::string>();
    const std::string key = path + "." + name;
    require(check_object_name(name), key);
    NamespaceSettings& ns = c.namespaces[name];
    auto resources_of = [](Resources& out) -> KeyHandlers {
      return {{"resources",
               [&out](const YAML::Node& n, const std::string& k) { read_resources(n, k, out); }}};
    };
    read_map(
        item.second, key,
        {{"proxy", [&](const YAML::Node& n,
                       const std::string& k) { read_map(n, k, resources_of(ns.proxy_resources)); }},
         {"init", [&](const YAML::Node& n, const std::string& k) {
            read_map(n, k, resources_of(ns.init_resources));
          }}});
  }
}

void read_config(const YAML::Node& root, Config& c) {
  read_map(
      root, "",
      {{"region", [&](const YAML::Node& n, const std::string& k) { c.region = scalar(n, k); }},
       {"signingName",
        [&](const YAML::Node& n, const std::string& k) { c.signing_name = scalar(n, k); }},
       {"sidecarMode",
        [&](const YAML::Node& n, const std::string& k) {
          c.sidecar_mode = choice<SidecarMode>(
              n, k, {{"legacy", SidecarMode::kLegacy}, {"native", SidecarMode::kNative}});
        }},
       {"ipv6",
        [&](const YAML::Node& n, const std::string& k) {
          c.ipv6 = choice<Ipv6Mode>(
              n, k, {{"auto", Ipv6Mode::kAuto}, {"on", Ipv6Mode::kOn}, {"off", Ipv6Mode::kOff}});
        }},
       {"iptablesMode",
        [&](const YAML::Node& n, const std::string& k) {
          c.iptables_mode = choice<IptablesMode>(n, k,
                                                 {{"auto", IptablesMode::kAuto},
                                                  {"legacy", IptablesMode::kLegacy},
                                                  {"nft", IptablesMode::kNft}});
        }},
       {"excludeNamespaces",
        [&](const YAML::Node& n, const std::string& k) { c.exclude_namespaces = strings(n, k); }},
       {"proxy", [&](const YAML::Node& n, const std::string& k) { read_proxy(n, k, c.proxy); }},
       {"init", [&](const YAML::Node& n, const std::string& k) { read_init(n, k, c.init); }},
       {"namespaces",
        [&](const YAML::Node& n, const std::string& k) { read_namespaces(n, k, c); }}});
}

void require(const std::string& why, const std::string& key) {
  if (!why.empty()) {
    throw InputError(key, why);
  }
}

void validate_resources(const Resources& r, const std::string& key) {
  const std::pair<const std::string*, const char*> fields[] = {
      {&r.cpu_request, "requests.cpu"},
      {&r.memory_request, "requests.memory"},
      {&r.cpu_limit, "limits.cpu"},
      {&r.memory_limit, "limits.memory"}};
  for (const auto& [value, name] : fields) {
    if (!value->empty() && !parse_quantity(*value)) {
      throw InputError(key + "." + name, "not a Kubernetes quantity: \"" + *value + "\"");
    }
  }
  require(check_request_within_limit(r.cpu_request, r.cpu_limit), key + ".requests.cpu");
  require(check_request_within_limit(r.memory_request, r.memory_limit), key + ".requests.memory");
}

// Each quantity `over` gives replaces the one of `base`.
void lay_over(Resources& base, const Resources& over) {
  for (auto member : {&Resources::cpu_request, &Resources::memory_request, &Resources::cpu_limit,
                      &Resources::memory_limit}) {
    if (!(over.*member).empty()) {
      base.*member = over.*member;
    }
  }
}

}  // namespace

Config for_namespace(const Config& config, std::string_view namespace_name) {
  Config c = config;
  c.namespaces.clear();
  const auto entry = config.namespaces.find(namespace_name);
  if (entry != config.namespaces.end()) {
    lay_over(c.proxy.resources, entry->second.proxy_resources);
    lay_over(c.init.resources, entry->second.init_resources);
  }
  return c;
}

Config default_config() {
  Config c;
  c.region = "us-west-2";
  c.signing_name = "vpc-lattice-svcs";
  // Pinned to the release the data-plane tier runs (tests/dataplane), never `latest`.
  c.proxy.image = "public.ecr.aws/aws-observability/aws-sigv4-proxy:1.11.1";
  c.proxy.upstream_scheme = "http";
  c.proxy.resources = {"25m", "32Mi", "500m", "256Mi"};
  // The project's own image at this version: it carries iptables (legacy and nft) and a shell.
  c.init.image = std::string(kImageRepository) + ":" + SIGV4_VERSION;
  c.init.cidrs = {"169.254.171.0/24"};
  c.init.ipv6_cidrs = {"fd00:ec2:80::/64"};
  // TLS to Lattice (passthrough listeners, apps that sign themselves) is never captured: the
  // plain-HTTP proxy would break it. HTTPS listeners are reached through upstreamScheme: https.
  c.init.exclude_ports = {443};
  c.init.resources = {"10m", "16Mi", "100m", "64Mi"};
  return c;
}

Config load_config(std::string_view yaml_text) {
  Config config = default_config();
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    throw InputError("config",
                     "not valid YAML: line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  try {
    read_config(root, config);
  } catch (const YAML::Exception& e) {
    throw InputError("config", e.msg);
  }
  validate_config(config);
  return config;
}

void validate_config(const Config& c) {
  require(check_region(c.region), "region");
  require(check_token(c.signing_name), "signingName");
  for (std::size_t i = 0; i < c.exclude_namespaces.size(); ++i) {
    require(check_token(c.exclude_namespaces[i]), "excludeNamespaces[" + std::to_string(i) + "]");
  }
  require(check_image(c.proxy.image), "proxy.image");
  if (c.proxy.upstream_scheme != "http" && c.proxy.upstream_scheme != "https") {
    throw InputError("proxy.upstreamScheme",
                     "expected http|https, got \"" + c.proxy.upstream_scheme + "\"");
  }
  if (!c.proxy.role_arn.empty()) {
    require(check_role_arn(c.proxy.role_arn), "proxy.roleArn");
  }
  if (!c.proxy.host.empty()) {
    require(check_host(c.proxy.host), "proxy.host");
  }
  if (!c.proxy.sign_host.empty()) {
    require(check_host(c.proxy.sign_host), "proxy.signHost");
  }
  if (c.proxy.ca_bundle.kind != CaBundle::Kind::kNone) {
    require(check_object_name(c.proxy.ca_bundle.name),
            c.proxy.ca_bundle.kind == CaBundle::Kind::kSecret ? "proxy.caBundle.secret"
                                                              : "proxy.caBundle.configMap");
    require(check_data_key(c.proxy.ca_bundle.key), "proxy.caBundle.key");
  }
  validate_resources(c.proxy.resources, "proxy.resources");
  require(check_image(c.init.image), "init.image");
  if (c.init.cidrs.empty() && c.init.ipv6_cidrs.empty()) {
    throw InputError("init.cidrs", "at least one CIDR is needed to capture any traffic");
  }
  for (std::size_t i = 0; i < c.init.cidrs.size(); ++i) {
    require(check_ipv4_cidr(c.init.cidrs[i]), "init.cidrs[" + std::to_string(i) + "]");
  }
  for (std::size_t i = 0; i < c.init.ipv6_cidrs.size(); ++i) {
    require(check_ipv6_cidr(c.init.ipv6_cidrs[i]), "init.ipv6Cidrs[" + std::to_string(i) + "]");
  }
  validate_resources(c.init.resources, "init.resources");
  for (const auto& [name, ns] : c.namespaces) {
    const std::string key = "namespaces." + name;
    require(check_object_name(name), key);
    validate_resources(ns.proxy_resources, key + ".proxy.resources");
    validate_resources(ns.init_resources, key + ".init.resources");
    // What a pod there gets must hold too (a namespace's request above the config's limit).
    const Config merged = for_namespace(c, name);
    validate_resources(merged.proxy.resources, key + ".proxy.resources");
    validate_resources(merged.init.resources, key + ".init.resources");
  }
}

std::string_view to_string(SidecarMode mode) {
  return mode == SidecarMode::kNative ? "native" : "legacy";
}

std::optional<SidecarMode> parse_sidecar_mode(std::string_view text) {
  if (text == "legacy") {
    return SidecarMode::kLegacy;
  }
  if (text == "native") {
    return SidecarMode::kNative;
  }
  return std::nullopt;
}

std::string_view to_string(Ipv6Mode mode) {
  switch (mode) {
    case Ipv6Mode::kOn:
      return "on";
    case Ipv6Mode::kOff:
      return "off";
    case Ipv6Mode::kAuto:
      break;
  }
  return "auto";
}

std::string_view to_string(IptablesMode mode) {
  switch (mode) {
    case IptablesMode::kLegacy:
      return "legacy";
    case IptablesMode::kNft:
      return "nft";
    case IptablesMode::kAuto:
      break;
  }
  return "auto";
}

}  // namespace sigv4
