#include "mutator.h"

#include <algorithm>
#include <bitset>
#include <optional>
#include <string>
#include <utility>

#include "codec/errors.h"
#include "codec/json_text.h"
#include "overrides.h"
#include "patch.h"
#include "pod.h"
#include "pod_text.h"
#include "spec.h"

namespace sigv4 {
namespace {

std::string warning_for(Reason reason) {
  switch (reason) {
    case Reason::kHostNetwork:
      return "sigv4-injector: not injected (host-network): iptables rules in a hostNetwork pod "
             "would rewrite the node's own network; calls to VPC Lattice from this pod are not "
             "signed";
    case Reason::kJobLegacyMode:
      return "sigv4-injector: not injected (job-legacy-mode): the pod runs to completion (a Job's, "
             "or restartPolicy Never/OnFailure) and a legacy sidecar never exits, so it would "
             "never complete; use sigv4-injector.io/sidecar-mode: native (Kubernetes >= 1.29) or "
             "opt in explicitly with sigv4-injector.io/inject: enabled";
    case Reason::kWindows:
      return "sigv4-injector: not injected (windows): the pod runs on Windows (spec.os.name or "
             "the kubernetes.io/os node selector), where the iptables init container and the "
             "Linux securityContexts cannot run and the apiserver rejects them; calls to VPC "
             "Lattice from this pod are not signed: sign them in the app, or opt the pod out "
             "with sigv4-injector.io/inject: disabled to silence this warning";
    case Reason::kNoContainers:
      return "sigv4-injector: not injected (no-containers): the pod has no spec.containers, so "
             "it is not a valid pod; the injector leaves it for the apiserver to reject rather "
             "than make it valid with only the signing proxy";
    default:
      return "sigv4-injector: not injected (" + std::string(to_string(reason)) + ")";
  }
}

// The ports the pod's containers and init containers declare (any protocol), one bit a port:
// one pass over the pod, whatever it declares.
std::bitset<65536> declared_ports(const JsonNode& pod) {
  std::bitset<65536> out;
  for (const JsonNode* list : {&containers(pod), &init_containers(pod)}) {
    if (!list->is_array()) {
      continue;
    }
    for (const auto& c : *list) {
      const JsonNode& ports = field(c, "ports");
      if (!ports.is_array()) {
        continue;
      }
      for (const auto& p : ports) {
        const JsonNode& port = field(p, "containerPort");
        if (port.is_number_integer() && port.integer() > 0 && port.integer() <= 65535) {
          out.set(static_cast<std::size_t>(port.integer()));
        }
      }
    }
  }
  return out;
}

// Who declares `port`: the first container or init container's name, quoted (pod_text.h), and
// how many others do; named in the warning or denial so the user knows which to look at.
std::string declared_by(const JsonNode& pod, int port) {
  std::string first;
  std::size_t others = 0;
  for (const JsonNode* list : {&containers(pod), &init_containers(pod)}) {
    if (!list->is_array()) {
      continue;
    }
    for (const auto& c : *list) {
      const JsonNode& ports = field(c, "ports");
      const bool declares =
          ports.is_array() && std::any_of(ports.begin(), ports.end(), [port](const JsonNode& p) {
            const JsonNode& number = field(p, "containerPort");
            return number.is_number_integer() && number.integer() == port;
          });
      if (declares && first.empty()) {
        first = "container " + quote(string_field(c, "name"));
      } else if (declares) {
        ++others;
      }
    }
  }
  if (others > 0) {
    first += " (and " + std::to_string(others) + (others == 1 ? " other)" : " others)");
  }
  return first;
}

// Moves the proxy off a port a container of the pod declares: both cannot listen on it. The next
// free port above it (wrapping to 1024) is used for everything (--port, REDIRECT, probe,
// containerPort), with a warning; a port the pod chose by annotation is its author's mistake and
// denies the pod. Returns the denial message, if any.
std::optional<std::string> settle_proxy_port(const JsonNode& pod, Config& settings, Mutation& m) {
  const auto wanted = static_cast<std::size_t>(settings.proxy.port);
  const std::bitset<65536> taken = declared_ports(pod);
  if (!taken.test(wanted)) {
    return std::nullopt;
  }
  const std::string key = std::string(kAnnotationPrefix) + "proxy-port";
  const int port_number = static_cast<int>(wanted);
  if (!annotation(pod, key).empty()) {
    return "sigv4-injector: annotation " + key + ": port " + std::to_string(wanted) +
           " is declared by " + declared_by(pod, port_number) +
           " of this pod; choose a port no container uses";
  }
  std::size_t port = wanted;
  for (std::size_t tries = 0; tries < 65535 && taken.test(port); ++tries) {
    port = port >= 65535 ? 1024 : port + 1;
  }
  if (taken.test(port)) {
    return "sigv4-injector: no free port for the signing proxy: the pod declares every port";
  }
  settings.proxy.port = static_cast<int>(port);
  m.warnings.push_back("sigv4-injector: " + declared_by(pod, port_number) +
                       " of this pod declares port " + std::to_string(wanted) +
                       ", the signing proxy's; the proxy uses " + std::to_string(port) +
                       " instead (set sigv4-injector.io/proxy-port to choose one)");
  return std::nullopt;
}

// True when the settings redirect port 443 to the plain-HTTP proxy, which breaks TLS: the
// default excludes it, but an exclude-ports override replaces that list.
bool captures_tls(const Config& settings) {
  const auto& init = settings.init;
  const auto has_443 = [](const std::vector<int>& ports) {
    return std::find(ports.begin(), ports.end(), 443) != ports.end();
  };
  return !has_443(init.exclude_ports) &&
         (init.include_ports.empty() || has_443(init.include_ports));
}

// Pod-level resources (spec.resources) bound all of a pod's containers together, and the
// apiserver refuses a pod whose containers' requests exceed them: the injected containers then
// carry no requests or limits of their own and share the pod's, with a warning to leave room.
void share_pod_resources(const JsonNode& pod, Config& settings, Mutation& m) {
  const JsonNode& resources = field(field(pod, "spec"), "resources");
  if (!resources.is_object() || resources.empty()) {
    return;
  }
  const Resources& proxy = settings.proxy.resources;
  m.warnings.push_back(
      "sigv4-injector: the pod sets pod-level spec.resources: the injected containers get no "
      "requests or limits of their own and share the pod's; leave room in them for the signing "
      "proxy (its request: " +
      (proxy.cpu_request.empty() ? std::string("none") : proxy.cpu_request) + " CPU, " +
      (proxy.memory_request.empty() ? std::string("none") : proxy.memory_request) + " memory)");
  settings.proxy.resources = {};
  settings.init.resources = {};
}

// What admission_review_shape() keeps, and who reads it. Adding a read of another field of the
// review means adding it here: the fuzz target and the unit tests compare every answer with the
// answer for the review parsed whole, so a missing entry fails them.
constexpr JsonShape kAll{.all = true};
// spec.containers[] and spec.initContainers[]: names (decision, patch), ports (port conflict
// warnings), env and volumeMounts (credential sources copied to the sidecar, credential sync),
// resources (the LimitRange warning on a pod injected before).
constexpr JsonShape::Member kContainerMembers[] = {{"name", &kAll},
                                                   {"ports", &kAll},
                                                   {"env", &kAll},
                                                   {"volumeMounts", &kAll},
                                                   {"resources", &kAll}};
constexpr JsonShape kContainer{.members = kContainerMembers};
constexpr JsonShape kContainers{.items = &kContainer};
// spec: hostNetwork, os, nodeSelector, restartPolicy (decision), the two container lists
// (decision, patch, credentials), volumes (whether the CA bundle's volume is added to a list or
// creates it), resources (pod-level resources: the injected containers then carry none).
constexpr JsonShape::Member kSpecMembers[] = {
    {"hostNetwork", &kAll},       {"os", &kAll},
    {"nodeSelector", &kAll},      {"restartPolicy", &kAll},
    {"containers", &kContainers}, {"initContainers", &kContainers},
    {"volumes", &kAll},           {"resources", &kAll}};
constexpr JsonShape kSpec{.members = kSpecMembers};
// metadata: names (review, log), labels and annotations (decision, overrides, patch),
// ownerReferences (Job detection). Not managedFields, which mirrors the whole pod.
constexpr JsonShape::Member kMetadataMembers[] = {
    {"name", &kAll},   {"generateName", &kAll}, {"namespace", &kAll},
    {"labels", &kAll}, {"annotations", &kAll},  {"ownerReferences", &kAll}};
constexpr JsonShape kMetadata{.members = kMetadataMembers};
constexpr JsonShape::Member kObjectMembers[] = {{"metadata", &kMetadata}, {"spec", &kSpec}};
constexpr JsonShape kObject{.members = kObjectMembers};
// request: what parse_admission_review reads (not userInfo, resource, options, oldObject).
constexpr JsonShape::Member kRequestMembers[] = {
    {"uid", &kAll},  {"kind", &kAll},   {"operation", &kAll}, {"namespace", &kAll},
    {"name", &kAll}, {"dryRun", &kAll}, {"object", &kObject}};
constexpr JsonShape kRequest{.members = kRequestMembers};
constexpr JsonShape::Member kReviewMembers[] = {
    {"apiVersion", &kAll}, {"kind", &kAll}, {"request", &kRequest}};
constexpr JsonShape kReview{.members = kReviewMembers};

// "cpu 25m/500m, memory 32Mi/256Mi" (request/limit; "none" for a quantity not set).
std::string describe_resources(const Resources& r) {
  const auto or_none = [](const std::string& q) { return q.empty() ? std::string("none") : q; };
  return "cpu " + or_none(r.cpu_request) + "/" + or_none(r.cpu_limit) + ", memory " +
         or_none(r.memory_request) + "/" + or_none(r.memory_limit);
}

bool sets_any(const Resources& r) { return !(r == Resources{}); }

// The LimitRanger admission plugin, which runs before the webhooks, marks the pods it defaulted
// with this annotation: a LimitRange acts in the namespace, and its minimums and maximums are
// checked (after the webhooks) against the injected containers' requests and limits too. It also
// runs again after the webhooks and gives its defaults to containers that set none, which the
// injected containers do under pod-level resources.
bool limit_range_acts(const JsonNode& pod) {
  return !annotation(pod, "kubernetes.io/limit-ranger").empty();
}

// One text whether the containers are injected now or were before (the CLI, or this webhook
// before a re-invocation), so that the apiserver, which drops repeated warnings, shows it once.
std::string limit_range_warning(std::string_view namespace_name, const Resources& proxy,
                                const Resources& init) {
  const std::string where = "set them for namespace " + std::string(namespace_name) +
                            " in the injector's config (namespaces.<name>.proxy.resources and "
                            ".init.resources), or the sidecar's per pod with the "
                            "sigv4-injector.io/cpu-request, memory-request, cpu-limit and "
                            "memory-limit annotations";
  if (!sets_any(proxy) && !sets_any(init)) {
    return "sigv4-injector: a LimitRange acts in this namespace and gives its default requests "
           "and limits to the injected containers, which set none of their own under pod-level "
           "spec.resources: they count against the pod's, so leave room for them there";
  }
  return "sigv4-injector: a LimitRange acts in this namespace: if the pod is refused for the "
         "injected containers' requests or limits (request/limit: sigv4proxy " +
         describe_resources(proxy) + "; iptables-init " + describe_resources(init) + "), " + where;
}

// The requests and limits a container of the pod declares.
Resources declared_resources(const JsonNode& pod, std::string_view name) {
  Resources r;
  for (const JsonNode* list : {&containers(pod), &init_containers(pod)}) {
    if (!list->is_array()) {
      continue;
    }
    for (const JsonNode& c : *list) {
      if (string_field(c, "name") != name) {
        continue;
      }
      const JsonNode& requests = field(field(c, "resources"), "requests");
      const JsonNode& limits = field(field(c, "resources"), "limits");
      r.cpu_request = std::string(string_field(requests, "cpu"));
      r.memory_request = std::string(string_field(requests, "memory"));
      r.cpu_limit = std::string(string_field(limits, "cpu"));
      r.memory_limit = std::string(string_field(limits, "memory"));
      return r;
    }
  }
  return r;
}

// The warning on the Pod Security twins of the paths, for a pod that carries iptables-init.
std::string pod_security_warning() {
  return "sigv4-injector: this namespace enforces Pod Security baseline or restricted, which "
         "forbids the capabilities NET_ADMIN and NET_RAW of the injected init container "
         "iptables-init: the apiserver will refuse the pod. Label the namespace "
         "pod-security.kubernetes.io/enforce=privileged (the sigv4proxy sidecar itself passes "
         "restricted), or do not opt the namespace in; see docs/configuration.md, \"Resources, "
         "LimitRange and Pod Security\"";
}

// The warnings for the namespace policies the webhook cannot see but the apiserver applies after
// it, for a pod carrying the injected containers, injected now or before (by the CLI, or by this
// webhook before a re-invocation): Pod Security on the twin paths when the pod carries
// iptables-init, a LimitRange when LimitRanger marked the pod. `proxy` and `init` are the
// injected containers' requests and limits.
void warn_namespace_policies(const JsonNode& pod, const PodRequest& request, Route route,
                             bool carries_init, const Resources& proxy, const Resources& init,
                             Mutation& m) {
  if (limit_range_acts(pod)) {
    m.warnings.push_back(limit_range_warning(request.namespace_name, proxy, init));
  }
  if (enforces_pod_security(route) && carries_init) {
    m.warnings.push_back(pod_security_warning());
  }
}

// The answer for a pod the decision skips: warnings for the reasons the user may not expect, and
// the credential sync of an already injected pod.
void skip(const PodRequest& request, Mutation& m) {
  // A pod that opted out asked for no sidecar: nothing it lacks is a surprise worth a warning.
  for (Reason r : m.decision.reasons) {
    if (is_warning(r) && !m.decision.has(Reason::kOptedOut)) {
      m.warnings.push_back(warning_for(r));
    }
  }
  if (m.decision.reasons.size() == 1 && m.decision.has(Reason::kAlreadyInjected)) {
    const Json ops = credential_sync_patch(*request.pod);
    if (!ops.empty()) {
      m.patch = to_json_text(ops);
    }
  }
}

// The settings of one pod: the config, its namespace's resources, the pod's annotations.
Config settings_for(const PodRequest& request, const Config& config) {
  const JsonNode& annotations = field(field(*request.pod, "metadata"), "annotations");
  if (config.namespaces.empty()) {
    return apply_overrides(config, annotations);
  }
  return apply_overrides(for_namespace(config, request.namespace_name), annotations);
}

// mutate_pod before its texts are bounded.
Mutation mutate_unbounded(const PodRequest& request, const Config& config, Route route) {
  Mutation m;
  m.decision = decide(request, config, route);
  if (!m.decision.inject) {
    skip(request, m);
    // A pod injected before admission (by the CLI) meets Pod Security and a LimitRange as an
    // injected one.
    if (m.decision.has(Reason::kNotAPod) || m.decision.has(Reason::kNotCreate)) {
      return m;
    }
    const JsonNode& pod = *request.pod;
    const bool carries_init = has_container(pod, kInitContainerName);
    if (!carries_init && !has_container(pod, kProxyContainerName)) {
      return m;
    }
    // Under pod-level resources the injected containers' values, if any, are the LimitRange's
    // defaults (LimitRanger re-runs after the webhook, which is then re-invoked).
    Resources proxy;
    Resources init;
    if (limit_range_acts(pod) && field(field(pod, "spec"), "resources").empty()) {
      proxy = declared_resources(pod, kProxyContainerName);
      init = declared_resources(pod, kInitContainerName);
    }
    warn_namespace_policies(pod, request, route, carries_init, proxy, init, m);
    return m;
  }
  const JsonNode& pod = *request.pod;
  Config settings;
  try {
    settings = settings_for(request, config);
  } catch (const OverrideError& e) {
    m.decision.inject = false;
    m.decision.reasons = {Reason::kInvalidOverride};
    m.denial = "sigv4-injector: annotation " + e.annotation() + ": " + e.detail();
    return m;
  }
  if (auto denial = settle_proxy_port(pod, settings, m)) {
    m.decision.inject = false;
    m.decision.reasons = {Reason::kInvalidOverride};
    m.warnings.clear();
    m.denial = std::move(denial);
    return m;
  }
  share_pod_resources(pod, settings, m);
  warn_namespace_policies(pod, request, route, true, settings.proxy.resources,
                          settings.init.resources, m);
  if (captures_tls(settings)) {
    m.warnings.emplace_back(
        "sigv4-injector: port 443 is captured (exclude-ports does not list it): https:// calls "
        "to VPC Lattice from this pod will fail; add 443 to sigv4-injector.io/exclude-ports");
  }
  m.patch = injection_patch(pod, settings, injector_version(), &m.patch_base64);
  return m;
}

}  // namespace

std::string_view injector_version() { return SIGV4_VERSION; }

const JsonShape& admission_review_shape() { return kReview; }

Mutation mutate_pod(const PodRequest& request, const Config& config, Route route) {
  // The one place the texts of a mutation are bounded, whatever the pod: the server's answer
  // and log line and the CLI's messages are all made of these.
  Mutation m = mutate_unbounded(request, config, route);
  bound_warnings(m.warnings);
  if (m.denial) {
    m.denial = bound_message(std::move(*m.denial));
  }
  return m;
}

Json patch_operations(const Mutation& mutation) {
  return mutation.patch.empty() ? Json::array() : Json::parse(mutation.patch);
}

ReviewResult review(const JsonNode& admission_review, const Config& config, Route route) {
  ReviewResult result;
  result.request = parse_admission_review(admission_review);
  const AdmissionRequest& req = result.request;
  PodRequest pod_request{req.kind, req.operation, req.namespace_name, req.object, {}};
  result.mutation = mutate_pod(pod_request, config, route);
  // The patch and warnings are lent to the answer and taken back rather than copied.
  AdmissionAnswer answer;
  answer.allowed = !result.mutation.denial.has_value();
  answer.patch = std::move(result.mutation.patch);
  answer.patch_base64 = std::move(result.mutation.patch_base64);
  answer.warnings = std::move(result.mutation.warnings);
  if (result.mutation.denial) {
    answer.code = 400;
    answer.message = *result.mutation.denial;
  }
  result.response = admission_response(req, answer);
  result.mutation.patch = std::move(answer.patch);
  result.mutation.patch_base64 = std::move(answer.patch_base64);
  result.mutation.warnings = std::move(answer.warnings);
  result.request.object = nullptr;
  return result;
}

ReviewResult review_text(std::string_view body, const Config& config, Route route,
                         const JsonLimits& limits) {
  const JsonDoc parsed = parse_json_doc(body, limits, "request body", &admission_review_shape());
  return review(parsed.root(), config, route);
}

}  // namespace sigv4
