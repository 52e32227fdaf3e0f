#include "decision.h"

#include <algorithm>
#include <array>

#include "overrides.h"
#include "pod.h"
#include "spec.h"

namespace sigv4 {
namespace {

constexpr std::string_view kStatusKey = "sigv4-injector.io/status";
constexpr std::array<std::string_view, 2> kCompatOptIns = {
    "vpc-lattices-svcs.amazonaws.com/agent-inject",  // the workshop's Kyverno opt-in (sic)
    "sidecar.aws.signing-proxy/inject",              // aws-sigv4-proxy-admission-controller
};

bool is_on(std::string_view v) { return v == "enabled" || v == "true"; }

bool opted_out(const JsonNode& pod) {
  return is_opt_out(label(pod, kInjectKey)) || is_opt_out(annotation(pod, kInjectKey));
}

bool opted_in(const JsonNode& pod) {
  return is_on(label(pod, kInjectKey)) || is_on(annotation(pod, kInjectKey));
}

bool already_injected(const JsonNode& pod) {
  const JsonNode& annotations = field(field(pod, "metadata"), "annotations");
  return (annotations.find(kStatusKey) != nullptr) || has_container(pod, kProxyContainerName) ||
         has_container(pod, kInitContainerName);
}

// Windows nodes cannot run the init container or the Linux securityContexts, and the apiserver
// refuses a pod with spec.os.name: windows that carries them.
bool runs_on_windows(const JsonNode& pod) {
  const JsonNode& spec = field(pod, "spec");
  return string_field(field(spec, "os"), "name") == "windows" ||
         string_field(field(spec, "nodeSelector"), "kubernetes.io/os") == "windows";
}

// A pod without containers is invalid; injecting the legacy sidecar would make it valid, running
// only the proxy (a kustomize patch fragment applied alone, say).
bool lacks_containers(const JsonNode& pod) {
  const JsonNode& list = containers(pod);
  return !list.is_array() || list.empty();
}

// A pod that runs to completion: restartPolicy Never or OnFailure whoever owns it (bare pods of
// `kubectl run --restart=Never`, Argo, Tekton, Spark drivers), or one owned by a Job.
bool runs_to_completion(const PodRequest& request) {
  const std::string_view restart = string_field(field(*request.pod, "spec"), "restartPolicy");
  if (restart == "Never" || restart == "OnFailure") {
    return true;
  }
  if (request.owner_kind == "Job" || request.owner_kind == "CronJob") {
    return true;
  }
  const JsonNode& owners = field(field(*request.pod, "metadata"), "ownerReferences");
  if (!owners.is_array()) {
    return false;
  }
  return std::any_of(owners.begin(), owners.end(), [](const JsonNode& owner) {
    return string_field(owner, "kind") == "Job" &&
           string_field(owner, "apiVersion").substr(0, 6) == "batch/";
  });
}

bool has_compat_opt_in(const JsonNode& pod) {
  return std::any_of(kCompatOptIns.begin(), kCompatOptIns.end(),
                     [&pod](std::string_view key) { return annotation(pod, key) == "true"; }) ||
         is_on(annotation(pod, kInjectKey));
}

bool contains_name(const JsonNode& list, std::string_view name) {
  if (!list.is_array()) {
    return false;
  }
  return std::any_of(list.begin(), list.end(),
                     [name](const JsonNode& c) { return string_field(c, "name") == name; });
}

}  // namespace

bool is_opt_out(std::string_view value) { return value == "disabled" || value == "false"; }

std::string_view to_string(Reason reason) {
  switch (reason) {
    case Reason::kSelected:
      return "selected";
    case Reason::kAnnotated:
      return "annotated";
    case Reason::kNotAPod:
      return "not-a-pod";
    case Reason::kNotCreate:
      return "not-create";
    case Reason::kOptedOut:
      return "opted-out";
    case Reason::kAlreadyInjected:
      return "already-injected";
    case Reason::kHostNetwork:
      return "host-network";
    case Reason::kExcludedNamespace:
      return "excluded-namespace";
    case Reason::kNoAnnotation:
      return "no-annotation";
    case Reason::kJobLegacyMode:
      return "job-legacy-mode";
    case Reason::kWindows:
      return "windows";
    case Reason::kNoContainers:
      return "no-containers";
    case Reason::kInvalidOverride:
      return "invalid-override";
  }
  return "unknown";
}

bool is_warning(Reason reason) {
  return reason == Reason::kHostNetwork || reason == Reason::kJobLegacyMode ||
         reason == Reason::kWindows || reason == Reason::kNoContainers;
}

bool is_annotated(Route route) {
  return route == Route::kMutateAnnotated || route == Route::kMutateAnnotatedPodSecurity;
}

bool enforces_pod_security(Route route) {
  return route == Route::kMutatePodSecurity || route == Route::kMutateAnnotatedPodSecurity;
}

bool Decision::has(Reason reason) const {
  return std::find(reasons.begin(), reasons.end(), reason) != reasons.end();
}

std::string Decision::reasons_string() const {
  std::string out;
  for (Reason r : reasons) {
    if (!out.empty()) {
      out += ',';
    }
    out += to_string(r);
  }
  return out;
}

bool has_container(const JsonNode& pod, std::string_view name) {
  return contains_name(containers(pod), name) || contains_name(init_containers(pod), name);
}

// The decision table. Rows 1-2 end the decision; rows 3-10 are all collected, and any of them
// means "skip". No row matching means inject. The Pod Security twins of a path decide as it.
//
// | #  | condition                                                       | reason             |
// |----|-----------------------------------------------------------------|--------------------|
// | 1  | kind is not Pod (or the object is not a JSON object)            | not-a-pod          |
// | 2  | operation is not CREATE                                         | not-create         |
// | 3  | label or annotation sigv4-injector.io/inject is disabled|false   | opted-out          |
// | 4  | annotation sigv4-injector.io/status, or a container named       | already-injected   |
// |    | sigv4proxy or iptables-init                                     |                    |
// | 5  | spec.hostNetwork is true                                        | host-network       |
// | 6  | namespace is in config.excludeNamespaces                        | excluded-namespace |
// | 7  | route is /mutate/annotated and the pod has no compat opt-in     | no-annotation      |
// |    | annotation (nor sigv4-injector.io/inject: enabled|true)          |                    |
// | 8  | effective sidecar mode is legacy, the pod runs to completion    | job-legacy-mode    |
// |    | (owned by a Job, a Job/CronJob template, or spec.restartPolicy  |                    |
// |    | Never|OnFailure), and it does not opt in explicitly with        |                    |
// |    | sigv4-injector.io/inject: enabled|true                          |                    |
// | 9  | spec.os.name is windows, or spec.nodeSelector kubernetes.io/os  | windows            |
// |    | is windows                                                      |                    |
// | 10 | spec.containers is absent, not an array, or empty               | no-containers      |
// | -  | none of the above                                               | selected/annotated |
Decision decide(const PodRequest& request, const Config& config, Route route) {
  Decision d;
  if (request.kind != "Pod" || request.pod == nullptr || !request.pod->is_object()) {
    d.reasons.push_back(Reason::kNotAPod);
    return d;
  }
  if (request.operation != "CREATE") {
    d.reasons.push_back(Reason::kNotCreate);
    return d;
  }
  const JsonNode& pod = *request.pod;
  if (opted_out(pod)) {
    d.reasons.push_back(Reason::kOptedOut);
  }
  if (already_injected(pod)) {
    d.reasons.push_back(Reason::kAlreadyInjected);
  }
  const JsonNode& host_network = field(field(pod, "spec"), "hostNetwork");
  if (host_network.boolean()) {
    d.reasons.push_back(Reason::kHostNetwork);
  }
  const auto& excluded = config.exclude_namespaces;
  if (std::find(excluded.begin(), excluded.end(), request.namespace_name) != excluded.end()) {
    d.reasons.push_back(Reason::kExcludedNamespace);
  }
  if (is_annotated(route) && !has_compat_opt_in(pod)) {
    d.reasons.push_back(Reason::kNoAnnotation);
  }
  const JsonNode& annotations = field(field(pod, "metadata"), "annotations");
  if (requested_sidecar_mode(annotations, config.sidecar_mode) == SidecarMode::kLegacy &&
      runs_to_completion(request) && !opted_in(pod)) {
    d.reasons.push_back(Reason::kJobLegacyMode);
  }
  if (runs_on_windows(pod)) {
    d.reasons.push_back(Reason::kWindows);
  }
  if (lacks_containers(pod)) {
    d.reasons.push_back(Reason::kNoContainers);
  }
  d.inject = d.reasons.empty();
  if (d.inject) {
    d.reasons.push_back(is_annotated(route) ? Reason::kAnnotated : Reason::kSelected);
  }
  return d;
}

}  // namespace sigv4
