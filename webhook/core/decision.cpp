#include "decision.h"

#include <algorithm>
#include <array>

#include "overrides.h"
#include "pod.h"
#include "spec.h"

namespace sigv4 {
namespace {

constexpr std::string_view kInjectKey = "sigv4-injector.io/inject";
constexpr std::string_view kStatusKey = "sigv4-injector.io/status";
constexpr std::array<std::string_view, 2> kCompatOptIns = {
    "vpc-lattices-svcs.amazonaws.com/agent-inject",  // the workshop's Kyverno opt-in (sic)
    "sidecar.aws.signing-proxy/inject",              // aws-sigv4-proxy-admission-controller
};

bool is_off(std::string_view v) { return v == "disabled" || v == "false"; }
bool is_on(std::string_view v) { return v == "enabled" || v == "true"; }

bool opted_out(const JsonNode& pod) {
  return is_off(label(pod, kInjectKey)) || is_off(annotation(pod, kInjectKey));
}

bool opted_in(const JsonNode& pod) {
  return is_on(label(pod, kInjectKey)) || is_on(annotation(pod, kInjectKey));
}

bool already_injected(const JsonNode& pod) {
  const JsonNode& annotations = field(field(pod, "metadata"), "annotations");
  return (annotations.find(kStatusKey) != nullptr) || has_container(pod, kProxyContainerName) ||
         has_container(pod, kInitContainerName);
}

bool owned_by_job(const PodRequest& request) {
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
    case Reason::kInvalidOverride:
      return "invalid-override";
  }
  return "unknown";
}

bool is_warning(Reason reason) {
  return reason == Reason::kHostNetwork || reason == Reason::kJobLegacyMode;
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

// The decision table. Rows 1-2 end the decision; rows 3-8 are all collected, and any of them
// means "skip". No row matching means inject.
//
// | # | condition                                                        | reason             |
// |---|------------------------------------------------------------------|--------------------|
// | 1 | kind is not Pod (or the object is not a JSON object)             | not-a-pod          |
// | 2 | operation is not CREATE                                          | not-create         |
// | 3 | label or annotation sigv4-injector.io/inject is disabled|false    | opted-out          |
// | 4 | annotation sigv4-injector.io/status, or a container named        | already-injected   |
// |   | sigv4proxy or iptables-init                                      |                    |
// | 5 | spec.hostNetwork is true                                         | host-network       |
// | 6 | namespace is in config.excludeNamespaces                         | excluded-namespace |
// | 7 | route is /mutate/annotated and the pod has no compat opt-in      | no-annotation      |
// |   | annotation (nor sigv4-injector.io/inject: enabled|true)           |                    |
// | 8 | effective sidecar mode is legacy, the pod is owned by a Job      | job-legacy-mode    |
// |   | (or is a Job/CronJob template), and it does not opt in explicitly|                    |
// |   | with sigv4-injector.io/inject: enabled|true                      |                    |
// | - | none of the above                                                | selected/annotated |
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
  if (route == Route::kMutateAnnotated && !has_compat_opt_in(pod)) {
    d.reasons.push_back(Reason::kNoAnnotation);
  }
  const JsonNode& annotations = field(field(pod, "metadata"), "annotations");
  if (requested_sidecar_mode(annotations, config.sidecar_mode) == SidecarMode::kLegacy &&
      owned_by_job(request) && !opted_in(pod)) {
    d.reasons.push_back(Reason::kJobLegacyMode);
  }
  d.inject = d.reasons.empty();
  if (d.inject) {
    d.reasons.push_back(route == Route::kMutate ? Reason::kSelected : Reason::kAnnotated);
  }
  return d;
}

}  // namespace sigv4
