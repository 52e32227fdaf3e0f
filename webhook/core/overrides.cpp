#include "overrides.h"

#include <algorithm>
#include <array>
#include <functional>
#include <optional>
#include <string>

#include "codec/errors.h"
#include "pod_text.h"
#include "validate.h"

namespace sigv4 {
namespace {

using Setter = void (*)(Config&, const std::string& key, const std::string& value);

// The key and value are the pod's: quoted back escaped and cut short (pod_text.h).
[[noreturn]] void bad(const std::string& key, const std::string& value, const std::string& why) {
  throw OverrideError(clip(key), clip(value), why);
}

void require(const std::string& why, const std::string& key, const std::string& value) {
  if (!why.empty()) {
    bad(key, value, why);
  }
}

// A CPU quantity must be whole millicores and a memory one whole bytes, exactly: the value the
// apiserver compares and the kubelet uses, never a rounding of it.
void set_quantity(std::string& field, ResourceKind kind, const std::string& key,
                  const std::string& value) {
  std::string why;
  const std::optional<int64_t> amount = parse_resource(value, kind, &why);
  if (!amount) {
    bad(key, value, why);
  }
  if (*amount <= 0) {
    bad(key, value,
        kind == ResourceKind::kCpu ? "expected a positive CPU quantity such as 100m or 0.5"
                                   : "expected a positive memory quantity such as 64Mi or 1G");
  }
  field = value;
}

// The setter of one of the sidecar's requests or limits.
template <std::string Resources::*kField, ResourceKind kKind>
void set_resource(Config& c, const std::string& key, const std::string& value) {
  set_quantity(c.proxy.resources.*kField, kKind, key, value);
}

void set_cidrs(Config& c, const std::string& key, const std::string& value) {
  std::vector<std::string> v4;
  std::vector<std::string> v6;
  for (auto& cidr : split_list(value)) {
    bool six = looks_like_ipv6(cidr);
    require(six ? check_ipv6_cidr(cidr) : check_ipv4_cidr(cidr), key, value);
    (six ? v6 : v4).push_back(std::move(cidr));
  }
  if (v4.empty() && v6.empty()) {
    bad(key, value, "expected a comma-separated list of CIDRs");
  }
  c.init.cidrs = std::move(v4);
  c.init.ipv6_cidrs = std::move(v6);
}

std::vector<int> port_list(const std::string& key, const std::string& value) {
  std::vector<int> out;
  for (const auto& item : split_list(value)) {
    auto p = parse_port(item);
    if (!p) {
      bad(key, value, "expected a comma-separated list of ports 1-65535");
    }
    out.push_back(*p);
  }
  return out;
}

void set_log_level(Config& c, const std::string& key, const std::string& value) {
  if (value == "off") {
    c.proxy.log_failed_requests = c.proxy.log_signing_process = c.proxy.verbose = false;
  } else if (value == "info") {
    c.proxy.log_failed_requests = true;
    c.proxy.log_signing_process = c.proxy.verbose = false;
  } else if (value == "debug") {
    c.proxy.log_failed_requests = c.proxy.log_signing_process = c.proxy.verbose = true;
  } else {
    bad(key, value, "expected off|info|debug");
  }
}

void set_scheme(Config& c, const std::string& key, const std::string& value) {
  if (value != "http" && value != "https") {
    bad(key, value, "expected http|https");
  }
  c.proxy.upstream_scheme = value;
}

// `configmap/NAME[/KEY]` or `secret/NAME[/KEY]` (KEY defaults to ca.crt).
void set_ca_bundle(Config& c, const std::string& key, const std::string& value) {
  const std::string_view text = value;
  const auto slash = text.find('/');
  const std::string_view kind = text.substr(0, slash);
  CaBundle bundle;
  if (kind == "configmap") {
    bundle.kind = CaBundle::Kind::kConfigMap;
  } else if (kind == "secret") {
    bundle.kind = CaBundle::Kind::kSecret;
  } else {
    bad(key, value, "expected configmap/NAME[/KEY] or secret/NAME[/KEY]");
  }
  const std::string_view rest =
      slash == std::string_view::npos ? std::string_view() : text.substr(slash + 1);
  const auto second = rest.find('/');
  bundle.name = std::string(rest.substr(0, second));
  if (second != std::string_view::npos) {
    bundle.key = std::string(rest.substr(second + 1));
  }
  require(check_object_name(bundle.name), key, value);
  require(check_data_key(bundle.key), key, value);
  c.proxy.ca_bundle = std::move(bundle);
}

struct Override {
  std::string_view name;
  Setter set;
};

// The 20 per-pod overrides, `sigv4-injector.io/<name>`.
const std::array<Override, 20> kOverrides = {{
    {"region",
     [](Config& c, const std::string& k, const std::string& v) {
       require(check_region(v), k, v);
       c.region = v;
     }},
    {"signing-name",
     [](Config& c, const std::string& k, const std::string& v) {
       require(check_token(v), k, v);
       c.signing_name = v;
     }},
    {"host",
     [](Config& c, const std::string& k, const std::string& v) {
       require(check_host(v), k, v);
       c.proxy.host = v;
     }},
    {"sign-host",
     [](Config& c, const std::string& k, const std::string& v) {
       require(check_host(v), k, v);
       c.proxy.sign_host = v;
     }},
    {"role-arn",
     [](Config& c, const std::string& k, const std::string& v) {
       require(check_role_arn(v), k, v);
       c.proxy.role_arn = v;
     }},
    {"upstream-scheme", set_scheme},
    {"proxy-image",
     [](Config& c, const std::string& k, const std::string& v) {
       require(check_image(v), k, v);
       c.proxy.image = v;
     }},
    {"init-image",
     [](Config& c, const std::string& k, const std::string& v) {
       require(check_image(v), k, v);
       c.init.image = v;
     }},
    {"proxy-port",
     [](Config& c, const std::string& k, const std::string& v) {
       auto p = parse_port(v);
       if (!p) {
         bad(k, v, "expected a port 1-65535");
       }
       c.proxy.port = *p;
     }},
    {"proxy-uid",
     [](Config& c, const std::string& k, const std::string& v) {
       auto uid = parse_uid(v);
       if (!uid) {
         bad(k, v, "expected a non-root UID 1-2147483647");
       }
       c.proxy.uid = *uid;
     }},
    {"cidrs", set_cidrs},
    {"exclude-ports", [](Config& c, const std::string& k,
                         const std::string& v) { c.init.exclude_ports = port_list(k, v); }},
    {"include-ports", [](Config& c, const std::string& k,
                         const std::string& v) { c.init.include_ports = port_list(k, v); }},
    {"sidecar-mode",
     [](Config& c, const std::string& k, const std::string& v) {
       auto mode = parse_sidecar_mode(v);
       if (!mode) {
         bad(k, v, "expected legacy|native");
       }
       c.sidecar_mode = *mode;
     }},
    {"log-level", set_log_level},
    {"cpu-request", set_resource<&Resources::cpu_request, ResourceKind::kCpu>},
    {"memory-request", set_resource<&Resources::memory_request, ResourceKind::kMemory>},
    {"cpu-limit", set_resource<&Resources::cpu_limit, ResourceKind::kCpu>},
    {"memory-limit", set_resource<&Resources::memory_limit, ResourceKind::kMemory>},
    {"ca-bundle", set_ca_bundle},
}};

// Keys under our prefix that are not overrides but are ours all the same.
constexpr std::array<std::string_view, 3> kOtherKeys = {"inject", "status", "version"};

// The aws-sigv4-proxy-admission-controller's annotations, mapped onto ours.
const std::array<Override, 6> kCompat = {{
    {"region", kOverrides[0].set},
    {"name", kOverrides[1].set},
    {"host", kOverrides[2].set},
    {"role-arn", kOverrides[4].set},
    {"upstream-url-scheme", set_scheme},
    {"unsigned-payload",
     [](Config& c, const std::string& k, const std::string& v) {
       if (v != "true" && v != "false") {
         bad(k, v, "expected true|false");
       }
       c.proxy.unsigned_payload = v == "true";
     }},
}};

// The annotation `key` when its value is a string.
std::optional<std::string> string_value(const JsonNode& annotations, std::string_view key) {
  const JsonNode* value = annotations.find(key);
  if (value == nullptr || !value->is_string()) {
    return std::nullopt;
  }
  return std::string(value->string());
}

// Sets one override after refusing NUL and control characters in its value, whatever the
// setter checks: values reach the root init container's script and the sidecar's arguments.
void apply_one(const Override& o, Config& c, const std::string& key, const std::string& value) {
  require(check_no_control_characters(value), key, value);
  o.set(c, key, value);
}

// A value as its JSON text, for messages about values that are not strings.
std::string text_of(const JsonNode& value) {
  std::string out;
  append_json_text(out, value);
  return out;
}

void check_resources(const Config& c) {
  const auto& r = c.proxy.resources;
  auto why = check_request_within_limit(r.cpu_request, r.cpu_limit);
  if (!why.empty()) {
    bad(std::string(kAnnotationPrefix) + "cpu-request", r.cpu_request, why);
  }
  why = check_request_within_limit(r.memory_request, r.memory_limit);
  if (!why.empty()) {
    bad(std::string(kAnnotationPrefix) + "memory-request", r.memory_request, why);
  }
}

}  // namespace

Config apply_overrides(Config base, const JsonNode& annotations) {
  if (!annotations.is_object()) {
    return base;
  }
  // Most pods carry neither prefix: one pass over their keys spares building the compat keys.
  const bool any = std::any_of(annotations.begin(), annotations.end(), [](const JsonNode& member) {
    const std::string_view key = member.key();
    return key.substr(0, kAnnotationPrefix.size()) == kAnnotationPrefix ||
           key.substr(0, kCompatPrefix.size()) == kCompatPrefix;
  });
  if (!any) {
    check_resources(base);
    return base;
  }
  for (const auto& o : kCompat) {
    std::string key = std::string(kCompatPrefix) + std::string(o.name);
    if (const auto v = string_value(annotations, key)) {
      apply_one(o, base, key, *v);
    }
  }
  for (const JsonNode& value : annotations) {
    const std::string_view key = value.key();
    if (key.substr(0, kAnnotationPrefix.size()) != kAnnotationPrefix) {
      continue;
    }
    std::string_view name = key.substr(kAnnotationPrefix.size());
    bool known = false;
    for (const auto& o : kOverrides) {
      if (o.name == name) {
        if (!value.is_string()) {
          bad(std::string(key), text_of(value), "annotation values must be strings");
        }
        apply_one(o, base, std::string(key), std::string(value.string()));
        known = true;
        break;
      }
    }
    for (auto other : kOtherKeys) {
      known = known || other == name;
    }
    if (!known) {
      bad(std::string(key), value.is_string() ? std::string(value.string()) : text_of(value),
          "unknown sigv4-injector.io annotation");
    }
  }
  check_resources(base);
  return base;
}

SidecarMode requested_sidecar_mode(const JsonNode& annotations, SidecarMode fallback) {
  if (!annotations.is_object()) {
    return fallback;
  }
  const auto v = string_value(annotations, std::string(kAnnotationPrefix) + "sidecar-mode");
  if (!v) {
    return fallback;
  }
  return parse_sidecar_mode(*v).value_or(fallback);
}

}  // namespace sigv4
