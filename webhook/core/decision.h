#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "codec/json_doc.h"
#include "config.h"

namespace sigv4 {

// The label and annotation a pod (or, for the CLI, a workload) opts in or out with.
inline constexpr std::string_view kInjectKey = "sigv4-injector.io/inject";

// Whether a kInjectKey value opts out: "disabled" or "false".
bool is_opt_out(std::string_view value);

enum class Reason {
  // Reasons to inject.
  kSelected,   // on /mutate: the apiserver's selectors chose the pod
  kAnnotated,  // on /mutate/annotated: the pod carries a compat opt-in annotation
  // Reasons to skip.
  kNotAPod,
  kNotCreate,
  kOptedOut,
  kAlreadyInjected,
  kHostNetwork,
  kExcludedNamespace,
  kNoAnnotation,
  kJobLegacyMode,
  kWindows,
  kNoContainers,
  kInvalidOverride,  // set by the mutator: the pod is denied for a bad override annotation
};

// The one name table used by logs, metrics labels and admission warnings.
std::string_view to_string(Reason reason);

// Whether the reason is a skip the user may not expect, returned as an admission warning.
bool is_warning(Reason reason);

struct Decision {
  bool inject = false;
  std::vector<Reason> reasons;

  bool has(Reason reason) const;
  // "host-network,job-legacy-mode"
  std::string reasons_string() const;
};

// The webhook path a review came in on. The `PodSecurity` twins are called by the chart's entries
// for namespaces enforcing Pod Security baseline or restricted (the apiserver's namespaceSelector
// sees the namespace label, the webhook cannot): they decide as their base path and add a warning.
enum class Route { kMutate, kMutateAnnotated, kMutatePodSecurity, kMutateAnnotatedPodSecurity };
inline constexpr std::array<Route, 4> kRoutes = {Route::kMutate, Route::kMutateAnnotated,
                                                 Route::kMutatePodSecurity,
                                                 Route::kMutateAnnotatedPodSecurity};

// True for /mutate/annotated and its Pod Security twin.
bool is_annotated(Route route);
// True for the twins called for namespaces enforcing Pod Security baseline or restricted.
bool enforces_pod_security(Route route);

// What the decision looks at. `pod` is the object under review (a Pod, or a pod template when
// the CLI injects a workload); `owner_kind` is set by the CLI for templates ("Job" for Job and
// CronJob templates) since templates carry no ownerReferences. The namespace selects the config's
// per-namespace resources.
struct PodRequest {
  std::string_view kind = "Pod";
  std::string_view operation = "CREATE";
  std::string_view namespace_name;
  const JsonNode* pod = nullptr;
  std::string_view owner_kind;
};

// Decides whether to inject `request.pod` under `config` on `route`. Never throws on odd pod
// shapes: fields of the wrong type count as absent. Skip reasons are all collected.
Decision decide(const PodRequest& request, const Config& config, Route route);

// True when the pod has a container or init container named `name`.
bool has_container(const JsonNode& pod, std::string_view name);

}  // namespace sigv4
