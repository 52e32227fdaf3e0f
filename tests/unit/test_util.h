#pragma once

#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "codec/json.h"
#include "codec/json_doc.h"
#include "core/mutator.h"
#include "core/overrides.h"
#include "core/patch.h"
#include "core/spec.h"

namespace sigv4::test {

// A minimal valid pod with one app container, in namespace "app1".
inline Json make_pod() {
  return Json::parse(R"({
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "web", "namespace": "app1"},
    "spec": {"containers": [{"name": "app", "image": "nginx"}]}
  })");
}

// The names of spec.<list>'s containers, in order.
inline std::vector<std::string> names(const Json& pod, const char* list) {
  std::vector<std::string> out;
  if (pod.contains("spec") && pod["spec"].contains(list)) {
    for (const auto& c : pod["spec"][list]) {
      out.push_back(c.value("name", ""));
    }
  }
  return out;
}

// The core reads pods through JsonDoc; tests write them as Json. These forms copy the tree into
// a document for the call (pulled in with `using test::review;` and so on next to the core's).
inline ReviewResult review(const Json& admission_review, const Config& config, Route route) {
  return sigv4::review(JsonDoc::from_json(admission_review).root(), config, route);
}
inline Config apply_overrides(const Config& base, const Json& annotations) {
  return sigv4::apply_overrides(base, JsonDoc::from_json(annotations).root());
}
inline SidecarMode requested_sidecar_mode(const Json& annotations, SidecarMode fallback) {
  return sigv4::requested_sidecar_mode(JsonDoc::from_json(annotations).root(), fallback);
}
inline std::string injection_patch(const Json& pod, const Config& settings,
                                   std::string_view version) {
  return sigv4::injection_patch(JsonDoc::from_json(pod).root(), settings, version);
}
inline Json credential_sync_patch(const Json& pod) {
  return sigv4::credential_sync_patch(JsonDoc::from_json(pod).root());
}
inline Json proxy_container(const Config& settings, const Json& pod) {
  return sigv4::proxy_container(settings, JsonDoc::from_json(pod).root());
}
inline Json credential_sources(const Json& pod) {
  return sigv4::credential_sources(JsonDoc::from_json(pod).root());
}

// What admission makes of `pod` (a Pod created in "app1", on /mutate): the mutation, and the pod
// with its patch applied by nlohmann's RFC 6902 code (the pod itself when there is no patch).
struct Admitted {
  Mutation mutation;
  Json pod;
};
inline Admitted admit(const Json& pod, const Config& config) {
  const JsonDoc doc = JsonDoc::from_json(pod);
  PodRequest request{"Pod", "CREATE", "app1", &doc.root(), ""};
  Admitted out{mutate_pod(request, config, Route::kMutate), pod};
  if (!out.mutation.patch.empty()) {
    out.pod = pod.patch(Json::parse(out.mutation.patch));
  }
  return out;
}

// The container `name` of spec.<list>; fails the test when there is none.
inline const Json& container(const Json& pod, const char* list, std::string_view name) {
  static const Json kNone;
  if (pod.contains("spec") && pod["spec"].contains(list)) {
    for (const auto& c : pod["spec"][list]) {
      if (c.value("name", "") == name) {
        return c;
      }
    }
  }
  FAIL("no container " << name << " in spec." << list);
  return kNone;
}

// The injected sidecar, wherever `mode` puts it (containers in legacy mode, initContainers in
// native mode); fails the test when there is none.
inline const Json& sidecar(const Json& pod, SidecarMode mode) {
  return container(pod, mode == SidecarMode::kNative ? "initContainers" : "containers",
                   "sigv4proxy");
}

// The pod with what the injector adds taken out again (the two containers, our annotations, the
// CA bundle's volume; lists and maps left empty are removed): equal for a pod and its injected
// self when nothing of the user's was changed.
inline Json without_injection(Json pod) {
  for (const char* list : {"containers", "initContainers", "volumes"}) {
    if (!pod["spec"].contains(list)) {
      continue;
    }
    Json kept = Json::array();
    for (const auto& c : pod["spec"][list]) {
      if (c["name"] != "sigv4proxy" && c["name"] != "iptables-init" &&
          c["name"] != "sigv4-injector-ca-bundle") {
        kept.push_back(c);
      }
    }
    pod["spec"][list] = kept;
    if (kept.empty()) {
      pod["spec"].erase(list);
    }
  }
  if (!pod["metadata"].contains("annotations")) {
    return pod;
  }
  auto& annotations = pod["metadata"]["annotations"];
  for (const char* key : {"sigv4-injector.io/status", "sigv4-injector.io/version",
                          "kubectl.kubernetes.io/default-container"}) {
    if (annotations.is_object()) {
      annotations.erase(key);
    }
  }
  if (annotations.is_object() && annotations.empty()) {
    pod["metadata"].erase("annotations");
  }
  return pod;
}

}  // namespace sigv4::test
