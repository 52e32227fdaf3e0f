#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "codec/json.h"
#include "config.h"
#include "mutator.h"

namespace sigv4 {

// How `inject` treats an object of this apiVersion and kind.
struct PodKind {
  bool injectable = false;
  std::string pointer;  // the pod (template): "" for a Pod, "/spec/template", ...
  std::string reason;   // why it passes through, when not injectable
};

// The built-in pod kinds at their served group/version (Pod v1; Deployment, StatefulSet,
// DaemonSet, ReplicaSet apps/v1; ReplicationController v1; Job, CronJob batch/v1) are
// injectable; the same kinds of another group or version, and every other kind, are not, with a
// reason that names removed APIs as such.
PodKind pod_kind(std::string_view api_version, std::string_view kind);

// What happened to one object of a manifest.
struct InjectReport {
  std::string where;  // "deploy.yaml: document 1 items[0] (Deployment app1/web)"
  Mutation mutation;  // decision, warnings (patch already applied)
  // Set when the object was passed through without a decision on a pod: why (not a pod kind, a
  // group/version that is not the built-in one).
  std::string passed_through;
  // Set for a workload opted out on its own metadata (the webhook sees only the template).
  bool workload_opted_out = false;
};

// Injects, in place, into every Pod and workload pod template of `documents` (recursing into the
// items of `kind: List` and typed lists such as PodList) with the /mutate rules; other objects are
// left untouched. Returns one report per object. An object's namespace is its
// metadata.namespace, else `default_namespace` (kubectl's -n). Throws InputError naming `source`,
// the document index and the field when a pod carries an invalid override, when a pod (template) we
// would inject is malformed (no containers, fields of the wrong type), or a list's items are not a
// list of objects.
std::vector<InjectReport> inject_documents(std::vector<Json>& documents, const Config& config,
                                           std::string_view source,
                                           std::string_view default_namespace = {});

}  // namespace sigv4
